#pragma once

// One accepted fault_backend connection: the TLS handshake (--tls), then the protocol the
// client speaks: HTTP/2 when ALPN selected h2, or on a plain connection when the first bytes
// are the HTTP/2 connection preface (h2c with prior knowledge, RFC 9113 §3.3); else HTTP/1.x.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "fault_server.hpp"

namespace lb::fault {

// Serves `socket` until either side ends the connection; counts it in srv.stats while open.
asio::awaitable<void> serve_connection(FaultServer& srv, asio::ip::tcp::socket socket);

}  // namespace lb::fault
