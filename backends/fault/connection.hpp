#pragma once

// One fault_backend client connection: reads HTTP/1.1 requests (keep-alive, pipelining),
// answers control calls, and has every other request decided and carried out.

#include <spdlog/logger.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "decider.hpp"
#include "stats.hpp"

namespace lb::fault {

// What all connections of the server share; lives on the server's single loop and must
// outlive its io_context.
struct FaultServer {
  std::string id;
  std::shared_ptr<spdlog::logger> log;
  Decider decider;
  Stats stats;
};

// Serves `socket` until either side ends the connection.
asio::awaitable<void> serve_connection(FaultServer& srv, asio::ip::tcp::socket socket);

}  // namespace lb::fault
