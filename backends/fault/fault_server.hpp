#pragma once

// What all connections of one fault_backend share.

#include <spdlog/logger.h>

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "decider.hpp"
#include "stats.hpp"

namespace lb::fault {

// Lives on the server's single loop and must outlive its io_context.
struct FaultServer {
  std::string id;
  std::shared_ptr<spdlog::logger> log;
  Decider decider;  // also holds the HTTP/2 settings (h2_goaway_after, ...)
  Stats stats;
  std::unique_ptr<asio::ssl::context> tls;  // --tls only
  bool h2 = true;                           // false with --no-h2
};

}  // namespace lb::fault
