#pragma once

// Small pieces shared by the HTTP/1.1 and HTTP/2 halves of Session (session.cpp,
// h2_exchange.cpp); private to the proxy module.

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <string>

#include "lb/http1/parser.hpp"
#include "lb/proxy/proxy_error.hpp"

namespace lb::proxy::detail {

inline constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
inline constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";

// "5s", "250ms".
inline std::string millis_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// The reply for a request the parser refused.
ProxyError client_error(const http1::Parser& p);

// The client went away: nothing to reply, just close.
inline ProxyError client_gone() { return {0, "client_closed", Side::downstream, false, {}, {}}; }

}  // namespace lb::proxy::detail
