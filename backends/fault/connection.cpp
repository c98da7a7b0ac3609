#include "connection.hpp"

#include <openssl/ssl.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "h2_connection.hpp"
#include "http1_connection.hpp"
#include "lb/net/endpoint.hpp"
#include "lb/net/stream.hpp"
#include "lb/net/watchdog.hpp"
#include "preface.hpp"

namespace lb::fault {

namespace {

using asio::ip::tcp;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
// TCP accepted -> TLS handshake done; a client that sends nothing or stalls is dropped.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// The first read of a plain connection, handed on to whichever protocol it turns out to be
// (HTTP/1.1 takes up to its read buffer's 16 KiB).
constexpr std::size_t kFirstRead = 16 * 1024;

// Counts a connection as open for as long as it lives.
class OpenConnection {
 public:
  explicit OpenConnection(Stats& stats) : stats_(stats) { stats_.connection_opened(); }
  ~OpenConnection() { stats_.connection_closed(); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;

 private:
  Stats& stats_;
};

// The server side of the TLS handshake, bounded by kHandshakeTimeout. False when it failed
// (one log line says why).
asio::awaitable<bool> handshake(FaultServer& srv, lb::net::Stream& stream,
                                const std::string& peer) {
  auto& tls = stream.start_tls(*srv.tls);
  lb::net::Watchdog watchdog(stream.get_executor());
  watchdog.arm(stream.socket(), kHandshakeTimeout);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kToken);
  watchdog.stop();
  if (!ec) co_return true;
  if (watchdog.expired()) {
    srv.log->info("{}: TLS handshake timed out after {} s", peer,
                  std::chrono::seconds(kHandshakeTimeout).count());
  } else if (ec.category() == asio::error::get_ssl_category()) {
    srv.log->info("{}: TLS handshake failed: {}", peer, ec.message());
  } else {
    srv.log->debug("{}: TLS handshake failed: {}", peer, ec.message());
  }
  co_return false;
}

bool alpn_selected_h2(lb::net::Stream& stream) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(stream.tls()->native_handle(), &p, &len);
  return std::string_view(reinterpret_cast<const char*>(p), p == nullptr ? 0 : len) == "h2";
}

}  // namespace

asio::awaitable<void> serve_connection(FaultServer& srv, tcp::socket socket) {
  OpenConnection open(srv.stats);
  std::error_code ec;
  // Also for TLS: the session tickets sent after a TLS 1.3 handshake would otherwise hold
  // the first reply back until the client's delayed ACK.
  socket.set_option(tcp::no_delay(true), ec);
  auto ep = socket.remote_endpoint(ec);
  std::string peer = ec ? "unknown peer" : lb::net::endpoint_text(ep);
  auto stream = std::make_unique<lb::net::Stream>(std::move(socket));

  bool h2 = false;
  std::string initial;
  if (srv.tls) {
    bool ok = co_await handshake(srv, *stream, peer);
    if (!ok) {
      stream->socket().close(ec);
      co_return;
    }
    h2 = alpn_selected_h2(*stream);
  } else if (srv.h2) {
    // RFC 9113 §3.3: prior knowledge; the preface is the first thing the client sends.
    initial.resize(kFirstRead);
    std::size_t have = 0;
    for (;;) {
      auto [rec, n] = co_await stream->async_read_some(
          asio::buffer(initial.data() + have, initial.size() - have), kToken);
      if (rec || n == 0) {
        stream->socket().close(ec);
        co_return;
      }
      have += n;
      auto match = match_preface({initial.data(), have});
      if (match == PrefaceMatch::need_more) continue;
      h2 = match == PrefaceMatch::h2;
      break;
    }
    initial.resize(have);
  }
  if (h2) {
    co_await serve_h2(srv, std::move(stream), std::move(peer), std::move(initial));
  } else {
    co_await serve_http1(srv, *stream, std::move(peer), initial);
  }
}

}  // namespace lb::fault
