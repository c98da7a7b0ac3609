#include "lb/net/connect.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace lb::net {

asio::awaitable<ConnectResult> connect(asio::ip::tcp::socket& socket,
                                       std::span<const asio::ip::tcp::endpoint> addresses,
                                       Watchdog& watchdog, std::chrono::milliseconds timeout) {
  ConnectResult result;
  result.error = asio::error::host_not_found;
  for (const auto& ep : addresses) {
    std::error_code ignored;
    socket.close(ignored);
    socket.open(ep.protocol(), result.error);
    if (result.error) continue;
    watchdog.arm(socket, timeout);
    auto [ec] =
        co_await socket.async_connect(ep, asio::experimental::as_tuple(asio::use_awaitable));
    result.timed_out = watchdog.expired();
    watchdog.disarm();
    result.error = ec;
    if (!ec && !result.timed_out) {
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      co_return result;
    }
  }
  co_return result;
}

}  // namespace lb::net
