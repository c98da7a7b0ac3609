#include "lb/proxy/health_prober.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "lb/http1/parser.hpp"
#include "lb/http2/client_session.hpp"
#include "lb/http2/translate.hpp"
#include "lb/net/connect.hpp"
#include "lb/net/stream.hpp"
#include "lb/net/watchdog.hpp"
#include "lb/util/buffer.hpp"

namespace lb::proxy {

namespace {
using asio::ip::tcp;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kProbeBuffer = 16 * 1024;  // a larger head fails the probe

// GET health.path over HTTP/1.1 on a connected stream; the caller's watchdog bounds it.
asio::awaitable<std::optional<std::string>> probe_h1(Worker& w, std::size_t backend,
                                                     net::Stream& stream, net::Watchdog& watchdog) {
  const auto& health = w.config->health;
  std::string request = "GET " + health.path + " HTTP/1.1\r\nHost: " + w.authorities[backend] +
                        "\r\nUser-Agent: load_balancer-health-check\r\nConnection: close\r\n\r\n";
  auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), kToken);
  if (wec) {
    co_return "health check: " + (watchdog.expired() ? std::string("timed out") : wec.message());
  }

  util::Buffer buf(kProbeBuffer);
  http1::Parser parser(http1::MessageKind::response, {kProbeBuffer, kProbeBuffer});
  parser.start(true);  // only the head matters
  std::size_t pos = 0;
  for (;;) {
    auto space = buf.free_space();
    if (space.empty()) {
      co_return "health check: response head too large";
    }
    auto [rec, n] =
        co_await stream.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    if (rec || n == 0) {
      if (watchdog.expired()) co_return "health check: no response within timeout";
      co_return "health check: connection closed before a response";
    }
    buf.commit(n);
    auto r = parser.parse(buf.base(), pos, buf.size());
    pos += r.consumed;
    if (r.event == http1::Parser::Event::error) {
      co_return std::string("health check: invalid response: ") + parser.error_reason();
    }
    if (r.event == http1::Parser::Event::head) {
      int status = parser.head().status;
      if (status < 200) {  // interim response: keep reading
        parser.start(true);
        pos += parser.parse(buf.base(), pos, buf.size()).consumed;
        continue;
      }
      if (status < 400) co_return std::nullopt;
      co_return "health check: HTTP " + std::to_string(status);
    }
  }
}

// GET health.path as one HTTP/2 stream on a connection of its own.
asio::awaitable<std::optional<std::string>> probe_h2(Worker& w, std::size_t backend,
                                                     net::Stream& stream, net::Watchdog& watchdog) {
  const auto& health = w.config->health;
  http2::ClientSession session(nullptr, "hc");
  http2::ClientStream st(w.io.get_executor());
  http2::FieldList fields;
  fields.add(":method", "GET");
  fields.add(":scheme", stream.tls() != nullptr ? "https" : "http");
  fields.add(":authority", w.authorities[backend]);
  fields.add(":path", health.path);
  fields.add("user-agent", "load_balancer-health-check");
  session.submit(st, fields.fields(), false);
  std::string out;
  std::vector<std::uint8_t> in(kProbeBuffer);
  while (st.state() == http2::ClientStream::State::open) {
    out.clear();
    session.take_output(out, kProbeBuffer);
    if (!out.empty()) {
      auto [wec, written] = co_await asio::async_write(stream, asio::buffer(out), kToken);
      if (wec) {
        co_return "health check: " +
            (watchdog.expired() ? std::string("timed out") : wec.message());
      }
      continue;
    }
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(in), kToken);
    if (rec || n == 0) {
      if (watchdog.expired()) co_return "health check: no response within timeout";
      co_return "health check: connection closed before a response";
    }
    session.receive({in.data(), n});
  }
  switch (st.state()) {
    case http2::ClientStream::State::head:
    case http2::ClientStream::State::closed:
      if (st.status() < 400) co_return std::nullopt;
      co_return "health check: HTTP " + std::to_string(st.status());
    case http2::ClientStream::State::reset:
      co_return std::string("health check: HTTP/2 stream reset (") +
          nghttp2_http2_strerror(st.reset_code()) + ")";
    default:
      co_return "health check: " + session.failure();
  }
}

}  // namespace

asio::awaitable<std::optional<std::string>> probe_once(Worker& w, std::size_t backend) {
  const auto& health = w.config->health;
  auto started = std::chrono::steady_clock::now();
  net::Stream stream(w.io.get_executor());
  net::Watchdog watchdog(w.io.get_executor());
  auto conn =
      co_await net::connect(stream.socket(), w.endpoints[backend], watchdog, health.timeout);
  if (conn.error || conn.timed_out) {
    watchdog.stop();
    if (conn.timed_out) co_return "health check: connect timed out";
    co_return "health check: connect failed: " + conn.error.message();
  }
  // The rest of the probe gets what the connect left of health.timeout.
  watchdog.arm(stream.socket(), health.timeout - (std::chrono::steady_clock::now() - started));
  bool h2 = w.config->backends[backend].protocol == config::Protocol::h2;
  if (auto& tls = w.tls[backend]) {
    auto result = co_await tls->handshake(stream, "hc/u" + std::to_string(++w.last_upstream_id));
    if (watchdog.expired()) co_return "health check: TLS handshake timed out";
    if (result.status != net::TlsResult::Status::ok) {
      watchdog.stop();
      co_return "health check: TLS: " + result.reason;
    }
    h2 = result.protocol == "h2";
  }
  // Not a ?: of two co_awaits: GCC 12 destroys the result of such an expression twice.
  std::optional<std::string> failure;
  if (h2) {
    failure = co_await probe_h2(w, backend, stream, watchdog);
  } else {
    failure = co_await probe_h1(w, backend, stream, watchdog);
  }
  watchdog.stop();
  co_return failure;
}

asio::awaitable<void> probe_loop(Worker& w, std::size_t backend) {
  Worker::LoopTimer timer(w);
  for (;;) {
    auto failure = co_await probe_once(w, backend);
    if (w.draining) co_return;  // cancelled by the stop, not the backend's fault
    if (failure) {
      w.log->debug("backend {}: {}", w.name(backend), *failure);
      w.report_failure(backend, *failure);
    } else {
      w.report_success(backend);
    }
    timer.expires_after(w.config->health.interval);
    auto [ec] = co_await timer.async_wait(kToken);
    if (ec || w.draining) co_return;
  }
}

}  // namespace lb::proxy
