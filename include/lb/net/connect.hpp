#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <span>
#include <system_error>

#include "lb/net/watchdog.hpp"

namespace lb::net {

// How a connect attempt over a backend's addresses ended.
struct ConnectResult {
  std::error_code error;  // the last address's error; clear when connected
  bool timed_out = false;
};

// Connects `socket` (closed) to the first of `addresses` that answers, each attempt bounded
// by `timeout` through `watchdog`; sets TCP_NODELAY, since requests are written whole and
// Nagle would hold a small one back for up to 40 ms. The proxy and the health prober share it.
asio::awaitable<ConnectResult> connect(asio::ip::tcp::socket& socket,
                                       std::span<const asio::ip::tcp::endpoint> addresses,
                                       Watchdog& watchdog, std::chrono::milliseconds timeout);

}  // namespace lb::net
