// Session's HTTP/2 upstream half: one client request as a stream on a shared connection.

#include <spdlog/spdlog.h>

#include <asio/write.hpp>
#include <utility>

#include "lb/http1/rewrite.hpp"
#include "lb/net/buffer_list.hpp"
#include "lb/proxy/session.hpp"
#include "lb/util/strings.hpp"
#include "session_common.hpp"

namespace lb::proxy {

namespace {

using Clock = std::chrono::steady_clock;
using State = http2::ClientStream::State;
using detail::client_error;
using detail::client_gone;
using detail::kToken;
using detail::millis_text;

// Connections one worker opens to one backend; beyond it requests wait for a slot.
constexpr std::size_t kMaxH2Connections = 8;
// Refused streams (GOAWAY, REFUSED_STREAM) are retried this often before giving up. Many:
// a backend that closes connections after N streams (fault_backend --h2-goaway-after)
// refuses the same waiting request once per connection while the queue ahead drains, and
// every retry costs the backend nothing (it never processed the stream).
constexpr int kMaxRefusedRetries = 64;
// Request body queued in the stream beyond this waits for the backend's window.
constexpr std::size_t kSendHighWater = 64 * 1024;

bool live(State s) { return s == State::open || s == State::head; }

}  // namespace

std::shared_ptr<pool::H2Connection> Session::adopt_h2(
    std::unique_ptr<pool::UpstreamConnection> conn) {
  auto h2 = std::make_shared<pool::H2Connection>(std::move(conn), w_.h2, w_.trace_log.get(),
                                                 w_.pool.h2_waiters(backend_));
  h2->start();
  w_.pool.h2_add(h2);
  return h2;
}

asio::awaitable<std::optional<ProxyError>> Session::acquire_h2(
    std::size_t backend, std::shared_ptr<pool::H2Connection> opened) {
  backend_ = backend;
  backend_chosen_ = true;
  auto& waiters = w_.pool.h2_waiters(backend);
  auto deadline = Clock::now() + w_.config->timeouts.response;
  for (;;) {
    if (auto conn = w_.pool.h2_with_capacity(backend)) {
      if (conn != opened) metrics::add(w_.counters_of(backend).pool_reused);
      h2_conn_ = std::move(conn);
      co_return std::nullopt;
    }
    if (opened && !opened->usable() && !opened->pending()) {
      // It failed before becoming ready (not HTTP/2, reset, bad SETTINGS).
      std::string why = opened->session().failure();
      w_.report_failure(backend, "HTTP/2 connection failed");
      co_return upstream_error("h2_connection_error", 502, "HTTP/2 connection failed: " + why);
    }
    if (!opened && w_.pool.h2_pending(backend) == 0 &&
        w_.pool.h2_count(backend) < kMaxH2Connections) {
      std::optional<ProxyError> err;
      {
        pool::Pool::H2Connecting connecting(w_.pool, backend);
        err = co_await connect_fresh(backend);
      }
      if (!err && up_->stream.tls() != nullptr && up_->protocol != "h2") {
        // proto=h2 over TLS, and the backend's ALPN answer was not h2.
        std::string chose = up_->protocol.empty() ? "nothing" : up_->protocol;
        up_.reset();
        err = upstream_error("h2_not_negotiated", 502,
                             "backend does not speak HTTP/2 (ALPN chose " + chose + ")");
      }
      if (err) {
        waiters.notify_all();  // whoever waited for this connect may try one of its own
        co_return err;
      }
      opened = adopt_h2(std::move(up_));  // taken from the pool once its SETTINGS arrive
      continue;
    }
    if (Clock::now() >= deadline) {
      co_return upstream_error(
          "response_timeout", 504,
          "no free HTTP/2 stream within " + millis_text(w_.config->timeouts.response));
    }
    waiters.add(&h2_stream_.event);
    co_await h2_stream_.event.wait(deadline);
    waiters.remove(&h2_stream_.event);
  }
}

asio::awaitable<Session::H2Result> Session::exchange_h2(
    std::size_t backend, std::shared_ptr<pool::H2Connection> opened) {
  const http1::Head& h = parser_.head();
  bool idempotent = h.idempotent();
  client_te_trailers_ = http1::accepts_trailers(h, buf_.base());
  for (int round = 0;; ++round) {
    auto err = co_await acquire_h2(backend, std::exchange(opened, nullptr));
    if (err) {
      h2_conn_.reset();
      bool retry = err->retryable;
      co_return H2Result{std::nullopt, std::move(err), retry};
    }
    h2_fields_.clear();
    http2::build_request(h, buf_.base(),
                         {w_.authorities[backend], w_.config->preserve_host, client_addr_},
                         w_.tls[backend] ? "https" : "http", h2_fields_);
    h2_stream_.reset_for_reuse();
    if (w_.trace_log) {  // only --trace shows it: no string work per request otherwise
      h2_stream_.trace_label =
          "c" + std::to_string(client_id_) + "/u" + std::to_string(h2_conn_->id());
    }
    if (!h2_conn_->session().submit(h2_stream_, h2_fields_.fields(), h.has_body)) {
      h2_conn_.reset();
      continue;  // it stopped taking streams meanwhile: another one
    }
    err = co_await send_h2_body();
    if (err && err->side == Side::downstream) {
      h2_stream_.cancel();
      h2_conn_.reset();
      if (err->status != 0) co_await reply_error(*err, true);
      co_return H2Result{Outcome::close, std::nullopt, false};
    }
    if (!err) err = co_await wait_h2_head();
    if (!err) co_return H2Result{co_await relay_h2_body(), std::nullopt, false};
    bool refused = h2_stream_.refused();
    h2_stream_.cancel();
    h2_conn_.reset();
    if (refused && replayable_ && round < kMaxRefusedRetries) {
      metrics::add(w_.counters_of(backend).retries);
      // RFC 9113 §8.7: the backend did not process it, so any method may go again.
      w_.log->debug("backend {}: stream refused ({}), retrying on another connection",
                    w_.name(backend), err->detail);
      continue;
    }
    if (!refused) w_.report_failure(backend, err->cause);
    co_return H2Result{std::nullopt, std::move(err), replayable_ && (refused || idempotent)};
  }
}

asio::awaitable<std::optional<ProxyError>> Session::send_h2_body() {
  auto& st = h2_stream_;
  const http1::Head& h = parser_.head();
  auto resend_held = [&] {
    for (auto piece : parser_.output()) st.send_body({piece.data(), piece.size()});
    if (h.has_body) st.end_body(parser_.trailers());
  };
  if (sent_once_) {
    // A replay: the whole request is still in hand (replayable_).
    resend_held();
    co_return std::nullopt;
  }
  sent_once_ = true;
  request_done_ = false;
  parser_.set_body_output(http1::BodyOutput::data);
  if (h.expect_continue && h.has_body && !client_http10_ && buf_.empty()) {
    bool sent = co_await write_client(detail::k100Continue, nullptr);
    if (!sent) co_return client_gone();
  }
  std::uint64_t max_body = w_.config->limits.max_body;
  // Held whole while it fits, whatever the method: a refused stream may be replayed.
  bool hold = true;
  std::uint64_t sent = 0;  // body bytes of parser_.output() already queued
  for (;;) {
    auto r = parser_.parse(buf_.base(), buf_.begin_offset(), buf_.begin_offset() + buf_.size());
    if (hold) {
      buf_.skip(r.consumed);
    } else {
      buf_.consume(r.consumed);
    }
    if (r.event == http1::Parser::Event::error) co_return client_error(parser_);
    if (max_body != 0 && parser_.body_bytes() > max_body) {
      co_return ProxyError{
          413, "body_too_large", Side::downstream, false,
          "request body exceeds the limit of " + std::to_string(max_body) + " bytes"};
    }
    bool done = r.event == http1::Parser::Event::message_done;
    if (r.event == http1::Parser::Event::body) hold = false;
    std::uint64_t skip = sent;
    for (auto piece : parser_.output()) {
      if (skip >= piece.size()) {
        skip -= piece.size();
        continue;
      }
      st.send_body({piece.data() + skip, piece.size() - skip});
      skip = 0;
    }
    passed_on(hold, sent);
    if (done) {
      replayable_ = hold;
      request_done_ = true;
      if (h.has_body) st.end_body(parser_.trailers());
      co_return std::nullopt;
    }
    // Backpressure: wait for the backend's window before reading more from the client.
    auto deadline = Clock::now() + w_.config->timeouts.response;
    while (st.unsent() > kSendHighWater && st.state() == State::open && Clock::now() < deadline) {
      co_await st.event.wait(deadline);
    }
    if (st.state() != State::open) {
      // The backend answered (or reset) before the whole body: the rest stays unread.
      client_keep_alive_ = false;
      co_return std::nullopt;
    }
    if (st.unsent() > kSendHighWater) {
      co_return upstream_error(
          "response_timeout", 504,
          "backend took no request body for " + millis_text(w_.config->timeouts.response));
    }
    if (r.event == http1::Parser::Event::body) continue;
    auto err = co_await read_request_body(hold, sent);
    if (err) co_return err;
  }
}

ProxyError Session::h2_stream_error() const {
  const auto& st = h2_stream_;
  if (st.state() == State::failed) {
    return upstream_error("h2_connection_error", 502, st.failure());
  }
  std::string code = nghttp2_http2_strerror(st.reset_code());
  if (st.refused()) {
    return upstream_error("h2_stream_refused", 502, "stream refused (" + code + ")");
  }
  return upstream_error("h2_stream_reset", 502, "stream reset by the backend (" + code + ")");
}

asio::awaitable<std::optional<ProxyError>> Session::wait_h2_head() {
  auto& st = h2_stream_;
  watchdog_.disarm();
  auto deadline = Clock::now() + w_.config->timeouts.response;
  while (st.state() == State::open) {
    if (Clock::now() >= deadline) {
      co_return upstream_error("response_timeout", 504,
                               "no response within " + millis_text(w_.config->timeouts.response));
    }
    co_await st.event.wait(deadline);
  }
  if (st.state() == State::head || st.state() == State::closed) {
    w_.counters_of(backend_).first_byte.observe(Clock::now() - started_);
    co_return std::nullopt;
  }
  co_return h2_stream_error();
}

asio::awaitable<bool> Session::write_client_iov() {
  if (iov_.empty()) co_return true;
  watchdog_.arm(client_.socket(), w_.config->timeouts.client);
  auto [ec, n] = co_await asio::async_write(client_, net::BufferView(iov_), kToken);
  co_return !ec;
}

asio::awaitable<Session::Outcome> Session::relay_h2_body() {
  auto& st = h2_stream_;
  int status = st.status();
  response_status_ = status;
  if (status == 502 || status == 503 || status == 504) {
    w_.report_failure(backend_, "HTTP " + std::to_string(status));
  } else {
    w_.report_success(backend_);
  }
  bool has_body = !is_head_ && status != 204 && status != 304;
  // Trailers need chunked framing; a client that asked for them (TE: trailers) gets it
  // even when the backend sent a content-length.
  bool chunked = has_body && !client_http10_ && (!st.has_content_length() || client_te_trailers_);
  bool close = !client_keep_alive_ || w_.draining ||
               (client_http10_ && has_body && !st.has_content_length());
  head_out_.clear();
  http2::write_response_head(st, {chunked, close, client_http10_ && !close}, head_out_);

  bool first = true;
  bool ok = true;
  for (;;) {
    iov_.clear();
    if (first) iov_.emplace_back(head_out_.data(), head_out_.size());
    bool done = st.state() == State::closed;  // before take_body: all DATA is in then
    st.take_body(h2_body_);
    std::string_view body = h2_body_;
    if (!body.empty() && has_body) {
      if (chunked) {
        chunk_line_.clear();
        char hex[16];
        chunk_line_.append(hex, util::format_hex(body.size(), hex)).append("\r\n");
        iov_.emplace_back(chunk_line_.data(), chunk_line_.size());
      }
      iov_.emplace_back(body.data(), body.size());
      if (chunked) iov_.emplace_back("\r\n", 2);
    }
    if (done && chunked) {
      trailer_out_.clear();
      http2::write_last_chunk(st, trailer_out_);
      iov_.emplace_back(trailer_out_.data(), trailer_out_.size());
    }
    bool sent = co_await write_client_iov();
    first = false;
    st.consume();
    if (!sent) {
      ok = false;
      break;
    }
    if (done) break;
    if (st.state() == State::closed) continue;  // ended while we wrote: the rest is in
    if (!live(st.state())) {
      ok = false;
      w_.log->warn("backend {}: response body cut short ({})", w_.name(backend_),
                   h2_stream_error().cause);
      w_.report_failure(backend_, "response body cut short");
      break;
    }
    if (st.body().empty() && st.state() == State::head) {
      auto deadline = Clock::now() + w_.config->timeouts.response;
      co_await st.event.wait(deadline);
      if (st.body().empty() && st.state() == State::head && Clock::now() >= deadline) {
        ok = false;
        w_.log->warn("backend {}: response body stalled for {}", w_.name(backend_),
                     millis_text(w_.config->timeouts.response));
        break;
      }
    }
  }
  response_bytes_ = st.body_bytes();
  st.cancel();
  h2_conn_.reset();
  access_log(response_status_, response_bytes_);
  co_return ok && !close ? Outcome::keep_alive : Outcome::close;
}

}  // namespace lb::proxy
