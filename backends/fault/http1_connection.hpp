#pragma once

// One fault_backend HTTP/1.x connection: reads requests (keep-alive, pipelining), answers
// control calls, and has every other request decided and carried out.

#include <asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "fault_server.hpp"
#include "lb/net/stream.hpp"

namespace lb::fault {

// Serves `stream` (TLS already established, if any) until either side ends the connection,
// and closes it. `initial` holds bytes already read from it (at most 16 KiB), which are
// parsed first; `peer` names the client in logs. The stream must outlive the returned
// awaitable.
asio::awaitable<void> serve_http1(FaultServer& srv, lb::net::Stream& stream, std::string peer,
                                  std::string_view initial);

}  // namespace lb::fault
