#include "socket_end.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "lb/net/watchdog.hpp"

namespace lb::fault {

namespace {

constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
// How long a reset waits for written bytes to be acknowledged before it resets anyway.
constexpr int kResetWaitMs = 2000;

}  // namespace

asio::awaitable<void> reset_connection(lb::net::Stream& stream) {
  auto& socket = stream.socket();
  if (!socket.is_open()) co_return;
  // An RST discards what the kernel still holds for the peer.
  asio::steady_timer timer(socket.get_executor());
  for (int i = 0; i < kResetWaitMs; ++i) {
    int queued = 0;
    if (::ioctl(socket.native_handle(), SIOCOUTQ, &queued) != 0 || queued == 0) break;
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(kToken);
  }
  std::error_code ec;
  socket.set_option(asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

asio::awaitable<std::uint64_t> close_gracefully(lb::net::Stream& stream, bool notify) {
  auto& socket = stream.socket();
  std::uint64_t drained = 0;
  if (!socket.is_open()) co_return drained;
  lb::net::Watchdog watchdog(socket.get_executor());
  watchdog.arm(socket, kLinger);
  if (notify && stream.tls() != nullptr) {
    // RFC 8446 §6.1: ours, then the peer's (or its FIN, or the watchdog).
    auto [ec] = co_await stream.tls()->async_shutdown(kToken);
    (void)ec;  // nothing is left to do about a failed close
  }
  std::error_code ec;
  if (!watchdog.expired()) {
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    std::array<char, 16 * 1024> sink;
    for (;;) {
      // Raw bytes, after TLS too: they are only drained, never read as records.
      auto [rec, n] = co_await socket.async_read_some(asio::buffer(sink), kToken);
      if (rec || n == 0) break;
      drained += n;
    }
  }
  watchdog.stop();
  socket.close(ec);
  co_return drained;
}

}  // namespace lb::fault
