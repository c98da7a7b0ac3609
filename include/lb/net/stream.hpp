#pragma once

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <memory>
#include <string>

#include "lb/trace/hex_trace.hpp"

namespace lb::net {

// A TCP connection, plain or wrapped in TLS, that Asio's composed operations (async_write)
// can use as a stream. Reads and writes pass through the --trace tap when one is set; with
// TLS the tap sees the plaintext. Timeouts act on socket(): cancelling it ends TLS
// operations too. Not movable: the TLS layer refers to the socket member. Runs on the
// socket's loop only.
class Stream {
 public:
  using executor_type = asio::ip::tcp::socket::executor_type;
  using Tls = asio::ssl::stream<asio::ip::tcp::socket&>;

  explicit Stream(const executor_type& ex) : socket_(ex) {}
  explicit Stream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
  ~Stream() {
    // OpenSSL marks the session of an SSL freed without close_notify as not resumable, and
    // that may be the session kept for the next connection to this backend. A connection
    // ending here (idle timeout, backend gone, error) says nothing against the session's
    // secrets (RFC 8446 dropped that rule), so it is marked as shut down to stay resumable.
    if (tls_) {
      SSL* ssl = tls_->native_handle();
      SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_SENT_SHUTDOWN);
    }
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  asio::ip::tcp::socket& socket() { return socket_; }

  // From now on reads and writes go through TLS made from `ctx`; the caller sets up the
  // SSL object (tls()->native_handle()) and runs the handshake.
  Tls& start_tls(asio::ssl::context& ctx) {
    tls_ = std::make_unique<Tls>(socket_, ctx);
    return *tls_;
  }
  Tls* tls() { return tls_.get(); }

  // `tap` (not owned; nullptr = none) must outlive every operation started afterwards.
  void set_tap(trace::HexTrace* tap) { tap_ = tap; }
  trace::HexTrace* tap() const { return tap_; }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tap_ == nullptr) {
            read_some(b, std::move(handler));
          } else {
            read_some(b, tapped(trace::Direction::received, b, std::move(handler)));
          }
        },
        token, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tap_ == nullptr) {
            write_some(b, std::move(handler));
          } else {
            write_some(b, tapped(trace::Direction::sent, b, std::move(handler)));
          }
        },
        token, buffers);
  }

 private:
  template <typename Buffers, typename Handler>
  void read_some(const Buffers& b, Handler&& h) {
    if (tls_) {
      tls_->async_read_some(b, std::forward<Handler>(h));
    } else {
      socket_.async_read_some(b, std::forward<Handler>(h));
    }
  }

  template <typename Buffers, typename Handler>
  void write_some(const Buffers& b, Handler&& h) {
    if (tls_) {
      tls_->async_write_some(b, std::forward<Handler>(h));
    } else {
      socket_.async_write_some(b, std::forward<Handler>(h));
    }
  }

  // The handler, preceded by recording the bytes moved; keeps the handler's executor.
  template <typename Buffers, typename Handler>
  auto tapped(trace::Direction d, const Buffers& b, Handler handler) {
    auto ex = asio::get_associated_executor(handler, socket_.get_executor());
    return asio::bind_executor(
        ex, [tap = tap_, d, b, h = std::move(handler)](std::error_code ec, std::size_t n) mutable {
          if (n > 0) record(*tap, d, b, n);
          std::move(h)(ec, n);
        });
  }

  // The first n bytes of a buffer sequence, as one block.
  template <typename Buffers>
  static void record(trace::HexTrace& tap, trace::Direction d, const Buffers& b, std::size_t n) {
    auto it = asio::buffer_sequence_begin(b);
    if (it->size() >= n) {
      tap.record(d, {static_cast<const char*>(it->data()), n});
      return;
    }
    std::string joined;  // tracing only: copying is fine here
    joined.reserve(n);
    for (; it != asio::buffer_sequence_end(b) && joined.size() < n; ++it) {
      joined.append(static_cast<const char*>(it->data()), std::min(it->size(), n - joined.size()));
    }
    tap.record(d, joined);
  }

  asio::ip::tcp::socket socket_;
  std::unique_ptr<Tls> tls_;
  trace::HexTrace* tap_ = nullptr;
};

}  // namespace lb::net
