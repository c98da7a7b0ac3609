#include "lb/proxy/session.hpp"

#include <spdlog/spdlog.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "lb/http1/head_reader.hpp"
#include "lb/http1/rewrite.hpp"
#include "lb/net/buffer_list.hpp"
#include "lb/net/connect.hpp"
#include "lb/net/endpoint.hpp"
#include "session_common.hpp"

namespace lb::proxy {

namespace detail {

namespace {

std::string_view code_for(http1::errc e) {
  switch (e) {
    case http1::errc::uri_too_long:
      return "uri_too_long";
    case http1::errc::headers_too_large:
      return "headers_too_large";
    case http1::errc::not_implemented:
      return "not_implemented";
    case http1::errc::version_not_supported:
      return "version_not_supported";
    default:
      return "bad_request";
  }
}

}  // namespace

ProxyError client_error(const http1::Parser& p) {
  auto e = static_cast<http1::errc>(p.error().value());
  return {http1::status_for(e), code_for(e), Side::downstream, false, p.error_reason()};
}

}  // namespace detail

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using detail::client_error;
using detail::client_gone;
using detail::kToken;
using detail::millis_text;
constexpr std::size_t kClientBuffer = 16 * 1024;
using detail::k100Continue;
// How long a closing connection keeps reading (and discarding) so the peer sees our
// reply instead of a reset caused by its unread bytes.
constexpr auto kLingerTime = std::chrono::seconds(2);

}  // namespace

Session::Session(Worker& worker, tcp::socket socket, bool admin)
    : w_(worker),
      admin_(admin),
      index_(w_.sessions.size()),
      client_gauge_(w_.counters->client_connections),
      client_(std::move(socket)),
      client_id_(++w_.last_client_id),
      buf_(kClientBuffer),
      parser_(http1::MessageKind::request,
              {w_.config->limits.max_request_line, w_.config->limits.max_header_bytes}),
      watchdog_(client_.get_executor()),
      h2_stream_(client_.get_executor()) {
  std::error_code ec;
  auto ep = client_.socket().remote_endpoint(ec);
  client_addr_ = ec ? "unknown" : net::address_text(ep);
  client_.socket().set_option(tcp::no_delay(true), ec);
  if (w_.trace_log) {
    client_tap_ =
        std::make_unique<trace::HexTrace>(*w_.trace_log, w_.config->trace.max_bytes, "client");
    client_tap_->set_label("c" + std::to_string(client_id_));
    client_.set_tap(client_tap_.get());
  }
  head_out_.reserve(4096);
  iov_.reserve(64);
  w_.sessions.push_back(this);
}

Session::~Session() {
  watchdog_.stop();
  Session* last = w_.sessions.back();
  w_.sessions[index_] = last;
  last->index_ = index_;
  w_.sessions.pop_back();
  if (w_.draining && w_.sessions.empty()) w_.drained.notify();
}

void Session::close_if_idle() {
  if (!idle_) return;
  std::error_code ec;
  client_.socket().cancel(ec);  // the pending read ends; run() closes the connection
}

asio::awaitable<void> Session::run() {
  for (;;) {
    // GCC 12 miscompiles co_await inside a condition: always await into a variable first.
    bool got_head = co_await read_request_head();
    if (!got_head) break;
    Outcome outcome = co_await forward_request();
    if (outcome == Outcome::close || w_.draining) break;
  }
  up_.reset();
  std::error_code ec;
  client_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    // Lingering close: drain what the client still sends for a moment.
    watchdog_.arm(client_.socket(), kLingerTime);
    for (;;) {
      auto [rec, n] =
          co_await client_.async_read_some(asio::buffer(buf_.base(), buf_.capacity()), kToken);
      if (rec || n == 0) break;
    }
  }
  client_.socket().close(ec);
}

asio::awaitable<bool> Session::read_request_head() {
  parser_.start();
  method_ = "-";  // what the access log shows when no head could be parsed
  target_.assign("-");
  client_http10_ = false;
  backend_chosen_ = false;
  started_ = Clock::now();
  buf_.compact();
  std::size_t pos = 0;
  bool started = !buf_.empty();
  const auto& t = w_.config->timeouts;
  watchdog_.arm(client_.socket(), started ? t.client : t.idle);
  const std::size_t limit = w_.config->limits.max_header_bytes;
  for (;;) {
    auto step = http1::advance_head(parser_, buf_, pos, limit);
    if (step == http1::HeadProgress::complete) {
      buf_.skip(pos);  // the head stays in place: it is rewritten again on a replay
      co_return true;
    }
    if (step == http1::HeadProgress::error) {
      co_await reply_error(client_error(parser_), true);
      co_return false;
    }
    if (step == http1::HeadProgress::too_large) {
      co_await reply_error({431, "headers_too_large", Side::downstream, false,
                            "request head is larger than " + std::to_string(limit) + " bytes"},
                           true);
      co_return false;
    }
    if (!started && w_.draining) co_return false;
    auto space = buf_.free_space();
    idle_ = !started;
    auto [ec, n] =
        co_await client_.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    idle_ = false;
    if (ec || n == 0) {
      if (watchdog_.expired() && started) {
        co_await reply_error({408, "request_timeout", Side::downstream, false,
                              "request head not received within " + millis_text(t.client)},
                             true);
      }
      co_return false;
    }
    buf_.commit(n);
    if (!started) {
      started = true;
      watchdog_.arm(client_.socket(), t.client);
    }
  }
}

asio::awaitable<Session::Outcome> Session::forward_request() {
  const http1::Head& h = parser_.head();
  started_ = Clock::now();
  method_ = h.method;
  target_.assign(h.target.in(buf_.base()));
  client_http10_ = h.is_http10();
  client_keep_alive_ = h.keep_alive && !w_.draining;
  is_head_ = method_ == "HEAD";
  response_bytes_ = 0;
  response_status_ = 0;
  replayable_ = false;
  backend_chosen_ = false;

  if (admin_ || (!w_.config->admin && is_metrics_request(h, buf_.base()))) {
    co_return co_await answer_locally();
  }
  const auto& limits = w_.config->limits;
  if (limits.max_body != 0 && h.has_content_length && h.content_length > limits.max_body) {
    co_await reply_error(
        {413, "body_too_large", Side::downstream, false,
         "request body of " + std::to_string(h.content_length) + " bytes exceeds the limit of " +
             std::to_string(limits.max_body) + " bytes"},
        true);
    co_return Outcome::close;
  }

  std::size_t max_attempts = std::min<std::size_t>(w_.config->retries + 1u, kMaxAttempts);
  tried_count_ = 0;
  attempt_log_.clear();
  sent_once_ = false;
  bool fallback_used = false;
  std::optional<ProxyError> err;
  while (tried_count_ < max_attempts) {
    std::size_t idx = w_.strategy->pick(w_.backends, Clock::now(), w_.health,
                                        std::span<const std::size_t>(tried_, tried_count_));
    if (idx == balancer::kNoBackend && !fallback_used && tried_count_ == 0) {
      // Every backend is down: try the one down longest, so a recovery is found without
      // waiting for the next probe.
      idx = down_longest();
      fallback_used = idx != balancer::kNoBackend;
    }
    if (idx == balancer::kNoBackend) break;
    if (tried_count_ > 0) metrics::add(w_.counters_of(tried_[tried_count_ - 1]).failovers);
    tried_[tried_count_++] = idx;
    std::shared_ptr<pool::H2Connection> opened;
    if (!w_.uses_h2(idx)) {
      err = co_await connect_upstream(idx);
      if (err) {  // nothing reached the backend: any method may go to the next one
        note_attempt(*err);
        continue;
      }
      if (up_->protocol == "h2") opened = adopt_h2(std::move(up_));  // ALPN chose HTTP/2
    }
    if (!up_) {
      H2Result r = co_await exchange_h2(idx, std::move(opened));
      if (r.outcome) co_return *r.outcome;
      err = std::move(r.error);
      note_attempt(*err);
      if (r.retry) continue;
      break;
    }
    bool fresh_retry = false;
    for (;;) {
      stale_ = false;
      err = co_await send_request();
      if (!err) err = co_await read_response_head();
      if (!err) {
        w_.counters_of(idx).first_byte.observe(Clock::now() - started_);
        break;
      }
      if (err->side == Side::downstream) {
        up_.reset();
        if (err->status != 0) co_await reply_error(*err, true);
        co_return Outcome::close;
      }
      if (!stale_ || !replayable_ || fresh_retry) break;
      // RFC 9112 §9.3.1: the backend closed an idle connection as we reused it; the same
      // request goes again on a fresh connection to the same backend.
      w_.log->debug("backend {}: pooled connection was closed, retrying on a new one",
                    w_.name(idx));
      fresh_retry = true;
      metrics::add(w_.counters_of(idx).retries);
      metrics::add(w_.counters_of(idx).pool_stale);
      up_.reset();
      err = co_await connect_fresh(idx);
      if (err) break;
    }
    if (!err) break;
    if (up_) w_.report_failure(idx, err->cause);
    up_.reset();
    note_attempt(*err);
    // The request reached the backend: only an idempotent one still held whole may go again.
    if (!replayable_) break;
  }
  if (!up_) {
    h2_conn_.reset();
    if (!err) {
      err = ProxyError{503, "no_backend", Side::upstream, false, all_down_text()};
    } else if (fallback_used && tried_count_ == 1) {
      err = ProxyError{503, "no_backend", Side::upstream, false,
                       all_down_text() + "; tried 1 backend: " + attempt_log_};
    } else if (tried_count_ > 1) {
      err->detail = "tried " + std::to_string(tried_count_) + " backends: " + attempt_log_;
    }
    bool close = !request_done_ || !client_keep_alive_;
    co_await reply_error(*err, close);
    co_return close ? Outcome::close : Outcome::keep_alive;
  }
  co_return co_await relay_response_body();
}

std::size_t Session::down_longest() const {
  std::size_t best = balancer::kNoBackend;
  for (std::size_t i = 0; i < w_.backends.size(); ++i) {
    if (std::find(tried_, tried_ + tried_count_, i) != tried_ + tried_count_) continue;
    if (best == balancer::kNoBackend ||
        w_.backends[i].down_since() < w_.backends[best].down_since()) {
      best = i;
    }
  }
  return best;
}

std::string Session::all_down_text() const {
  std::string text = "all " + std::to_string(w_.backends.size()) + " backends are down: ";
  for (std::size_t i = 0; i < w_.backends.size(); ++i) {
    if (i > 0) text += "; ";
    const auto& b = w_.backends[i];
    text += w_.name(i) + " (" + (b.is_down() ? b.down_reason() : std::string("up")) + ")";
  }
  return text;
}

void Session::note_attempt(const ProxyError& err) {
  if (!attempt_log_.empty()) attempt_log_ += "; ";
  attempt_log_ += err.detail;
}

asio::awaitable<std::optional<ProxyError>> Session::connect_upstream(std::size_t backend) {
  backend_ = backend;
  backend_chosen_ = true;
  if (auto conn = w_.pool.acquire(backend, Clock::now())) {
    metrics::add(w_.counters_of(backend).pool_reused);
    if (conn->tap) conn->tap->set_label(upstream_label(*conn));
    up_ = std::move(conn);
    co_return std::nullopt;
  }
  co_return co_await connect_fresh(backend);
}

std::string Session::upstream_label(const pool::UpstreamConnection& conn) const {
  return "c" + std::to_string(client_id_) + "/u" + std::to_string(conn.id);
}

asio::awaitable<std::optional<ProxyError>> Session::connect_fresh(std::size_t backend) {
  backend_ = backend;
  const std::string& name = w_.name(backend);
  auto conn = std::make_unique<pool::UpstreamConnection>(client_.get_executor(), backend,
                                                         ++w_.last_upstream_id);
  metrics::BackendCounters& counters = w_.counters_of(backend);
  auto connect_started = Clock::now();
  auto r = co_await net::connect(conn->stream.socket(), w_.endpoints[backend], watchdog_,
                                 w_.config->timeouts.connect);
  if (r.error || r.timed_out) {
    ProxyError err =
        r.timed_out ? ProxyError{504,
                                 "connect_timeout",
                                 Side::upstream,
                                 true,
                                 "connecting to backend " + name + " timed out after " +
                                     millis_text(w_.config->timeouts.connect),
                                 "connect timed out"}
                    : ProxyError{502,
                                 "connect_failed",
                                 Side::upstream,
                                 true,
                                 "cannot connect to backend " + name + ": " + r.error.message(),
                                 "connect failed: " + r.error.message()};
    w_.log->warn("{}", err.detail);
    w_.report_failure(backend, err.cause);
    co_return err;
  }
  counters.connect.observe(Clock::now() - connect_started);
  metrics::add(counters.pool_new);
  conn->open = metrics::GaugeHold(counters.connections_open);
  conn->counters = &counters;
  if (w_.trace_log) {
    std::error_code ec;
    std::string addr = net::endpoint_text(conn->stream.socket().remote_endpoint(ec));
    conn->tap = std::make_unique<trace::HexTrace>(*w_.trace_log, w_.config->trace.max_bytes,
                                                  addr == name ? name : name + "(" + addr + ")");
    conn->tap->set_label(upstream_label(*conn));
    conn->stream.set_tap(conn->tap.get());
  }
  if (w_.tls[backend]) {
    auto err = co_await start_tls(*conn);
    if (err) {
      w_.log->warn("{}", err->detail);
      w_.report_failure(backend, err->cause);
      co_return err;
    }
  }
  up_ = std::move(conn);
  co_return std::nullopt;
}

asio::awaitable<std::optional<ProxyError>> Session::start_tls(pool::UpstreamConnection& conn) {
  const std::string& name = w_.name(conn.backend);
  watchdog_.arm(conn.stream.socket(), w_.config->timeouts.connect);
  auto handshake_started = Clock::now();
  auto result = co_await w_.tls[conn.backend]->handshake(conn.stream, upstream_label(conn));
  bool timed_out = watchdog_.expired();
  watchdog_.disarm();
  if (timed_out) {
    co_return ProxyError{504,
                         "connect_timeout",
                         Side::upstream,
                         true,
                         "TLS handshake with backend " + name + " timed out after " +
                             millis_text(w_.config->timeouts.connect),
                         "TLS handshake timed out"};
  }
  switch (result.status) {
    case net::TlsResult::Status::ok:
      w_.counters_of(conn.backend).tls_handshake.observe(Clock::now() - handshake_started);
      conn.protocol = std::move(result.protocol);
      // What this handshake chose decides how the next requests to the backend start.
      w_.alpn_h2[conn.backend] = conn.protocol == "h2";
      co_return std::nullopt;
    case net::TlsResult::Status::verify_failed:
      co_return ProxyError{
          502,
          "tls_verify_failed",
          Side::upstream,
          true,
          "backend " + name + ": TLS certificate verification failed: " + result.reason,
          "TLS verification failed: " + result.reason};
    case net::TlsResult::Status::failed:
      break;
  }
  co_return ProxyError{502,
                       "tls_handshake_failed",
                       Side::upstream,
                       true,
                       "backend " + name + ": TLS handshake failed: " + result.reason,
                       "TLS handshake failed: " + result.reason};
}

void Session::passed_on(bool hold, std::uint64_t& sent) {
  if (hold) {
    sent = parser_.output_bytes();
  } else {
    parser_.clear_output();
    sent = 0;
  }
}

asio::awaitable<std::optional<ProxyError>> Session::read_request_body(bool& hold,
                                                                      std::uint64_t& sent) {
  if (hold && buf_.free_space().empty()) {
    hold = false;  // too big to hold: everything parsed so far is written, let it go
    parser_.clear_output();
    sent = 0;
  }
  if (!hold) {
    if (buf_.empty()) buf_.clear();
    buf_.compact();
  }
  watchdog_.arm(client_.socket(), w_.config->timeouts.client);
  auto space = buf_.free_space();
  auto [ec, n] = co_await client_.async_read_some(asio::buffer(space.data(), space.size()), kToken);
  if (ec || n == 0) {
    if (watchdog_.expired()) {
      co_return ProxyError{408, "request_timeout", Side::downstream, false,
                           "request body stalled for " + millis_text(w_.config->timeouts.client)};
    }
    co_return client_gone();  // the client went away
  }
  buf_.commit(n);
  co_return std::nullopt;
}

asio::awaitable<std::optional<ProxyError>> Session::send_request() {
  auto& u = *up_;
  ++u.requests;
  const http1::Head& h = parser_.head();
  // Host names the backend this attempt goes to, so the head is written per attempt.
  head_out_.clear();
  http1::write_request_head(h, buf_.base(),
                            {w_.authorities[backend_], w_.config->preserve_host, client_addr_},
                            head_out_);
  if (sent_once_) {
    // A replay: the whole request is still in hand (replayable_), body spans included.
    watchdog_.arm(u.stream.socket(), w_.config->timeouts.response);
    auto ec = co_await write_upstream(head_out_, parser_);
    if (ec) {
      stale_ = u.requests > 1;
      co_return upstream_error("upstream_closed", 502, "write failed: " + ec.message());
    }
    co_return std::nullopt;
  }
  sent_once_ = true;
  request_done_ = false;
  parser_.set_body_output(h.chunked ? http1::BodyOutput::chunked : http1::BodyOutput::raw);

  if (h.expect_continue && h.has_body && !client_http10_ && buf_.empty()) {
    // The balancer answers the expectation itself and does not forward it (RFC 9110
    // §10.1.1): the client should not wait for a backend that never sees the header.
    bool sent = co_await write_client(k100Continue, nullptr);
    if (!sent) co_return client_gone();
  }

  std::uint64_t max_body = w_.config->limits.max_body;
  bool first = true;
  // An idempotent request is held whole while it fits in buf_ (head, body and the parser's
  // framing stay where they are, nothing is overwritten) so that it can be replayed on
  // another backend; RFC 9110 §9.2.2 forbids a proxy to retry other methods on its own.
  bool hold = h.idempotent();
  std::uint64_t sent = 0;  // bytes of parser output already written upstream
  for (;;) {
    auto r = parser_.parse(buf_.base(), buf_.begin_offset(), buf_.begin_offset() + buf_.size());
    if (hold) {
      buf_.skip(r.consumed);
    } else {
      buf_.consume(r.consumed);
    }
    if (r.event == http1::Parser::Event::error) {
      co_return client_error(parser_);
    }
    if (max_body != 0 && parser_.body_bytes() > max_body) {
      co_return ProxyError{
          413, "body_too_large", Side::downstream, false,
          "request body exceeds the limit of " + std::to_string(max_body) + " bytes"};
    }
    bool done = r.event == http1::Parser::Event::message_done;
    if (r.event == http1::Parser::Event::body) hold = false;  // framing buffer full
    if (first || parser_.output_bytes() > sent) {
      if (done) replayable_ = hold;
      watchdog_.arm(u.stream.socket(), w_.config->timeouts.response);
      auto ec = co_await write_upstream(first ? std::string_view(head_out_) : std::string_view(),
                                        parser_, sent);
      if (ec) {
        stale_ = u.requests > 1;
        co_return upstream_error("upstream_closed", 502,
                                 "sending the request failed: " + ec.message());
      }
      first = false;
      passed_on(hold, sent);
    }
    if (done) {
      request_done_ = true;
      co_return std::nullopt;
    }
    if (r.event == http1::Parser::Event::body) continue;
    auto err = co_await read_request_body(hold, sent);
    if (err) co_return err;
  }
}

asio::awaitable<std::optional<ProxyError>> Session::read_response_head() {
  auto& u = *up_;
  u.parser.start(is_head_);
  u.buffer.clear();
  std::size_t pos = 0;
  bool got_bytes = false;
  watchdog_.arm(u.stream.socket(), w_.config->timeouts.response);
  for (;;) {
    if (pos < u.buffer.size()) {
      auto r = u.parser.parse(u.buffer.base(), pos, u.buffer.size());
      pos += r.consumed;
      if (r.event == http1::Parser::Event::error) {
        co_return upstream_error("bad_response", 502,
                                 std::string("invalid response: ") + u.parser.error_reason());
      }
      if (r.event == http1::Parser::Event::head) {
        int status = u.parser.head().status;
        if (status >= 200) {
          up_pos_ = pos;
          co_return std::nullopt;
        }
        if (status == 101) {
          co_return upstream_error("bad_response", 502, "unexpected 101 Switching Protocols");
        }
        // Interim responses: 100 was answered by us already; others go to HTTP/1.1 clients.
        if (status != 100 && !client_http10_) {
          head_out_.clear();
          http1::write_response_head(u.parser.head(), u.buffer.base(), {}, head_out_);
          bool sent = co_await write_client(head_out_, nullptr);
          if (!sent) {
            co_return client_gone();
          }
        }
        auto r2 = u.parser.parse(u.buffer.base(), pos, u.buffer.size());  // 1xx has no body
        pos += r2.consumed;
        u.buffer.consume(pos);
        u.buffer.compact();
        pos = 0;
        u.parser.start(is_head_);
        watchdog_.arm(u.stream.socket(), w_.config->timeouts.response);
        continue;
      }
    }
    if (u.buffer.free_space().empty()) {
      if (u.buffer.capacity() >= pool::kMaxResponseHead) {
        co_return upstream_error("bad_response", 502, "response head is too large");
      }
      u.buffer.grow(pool::kMaxResponseHead);
    }
    auto space = u.buffer.free_space();
    auto [ec, n] =
        co_await u.stream.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    metrics::add(w_.counters_of(u.backend).bytes_received, n);
    if (ec || n == 0) {
      if (watchdog_.expired()) {
        co_return upstream_error("response_timeout", 504,
                                 "no response within " + millis_text(w_.config->timeouts.response));
      }
      stale_ = !got_bytes && u.requests > 1;
      co_return upstream_error("upstream_closed", 502,
                               got_bytes
                                   ? "connection closed in the middle of the response head"
                                   : "connection closed before a response (" +
                                         (ec ? ec.message() : std::string("end of file")) + ")");
    }
    got_bytes = true;
    u.buffer.commit(n);
  }
}

asio::awaitable<Session::Outcome> Session::relay_response_body() {
  auto& u = *up_;
  const http1::Head& h = u.parser.head();
  response_status_ = h.status;
  // A backend that says it cannot serve (502/503/504) is failing; an API answering 500 is
  // up and merely has a bug.
  if (h.status == 502 || h.status == 503 || h.status == 504) {
    w_.report_failure(backend_, "HTTP " + std::to_string(h.status));
  } else {
    w_.report_success(backend_);
  }
  bool eof_body = h.has_body && !h.chunked && !h.has_content_length;
  bool out_chunked = h.has_body && !client_http10_ && (h.chunked || eof_body);
  // A graceful stop that began while the request was under way still says so in this head.
  bool close = !client_keep_alive_ || w_.draining ||
               (client_http10_ && (h.chunked || eof_body) && h.has_body);
  head_out_.clear();
  http1::write_response_head(h, u.buffer.base(), {out_chunked, close, client_http10_ && !close},
                             head_out_);
  u.parser.set_body_output(out_chunked ? http1::BodyOutput::chunked : http1::BodyOutput::raw);
  u.buffer.consume(up_pos_);

  bool first = true;
  bool done = false;
  bool upstream_ok = true;
  for (;;) {
    auto r = u.parser.parse(u.buffer.base(), u.buffer.begin_offset(),
                            u.buffer.begin_offset() + u.buffer.size());
    u.buffer.consume(r.consumed);
    if (r.event == http1::Parser::Event::error) {
      w_.log->warn("backend {} sent a broken response body: {}", w_.name(backend_),
                   u.parser.error_reason());
      if (first) {
        // Nothing reached the client yet: it can still get a proper error reply.
        ProxyError err = upstream_error(
            "bad_response", 502, std::string("invalid response body: ") + u.parser.error_reason());
        w_.report_failure(backend_, err.cause);
        up_.reset();  // `u` is gone from here on
        co_await reply_error(err, !client_keep_alive_);
        co_return client_keep_alive_ ? Outcome::keep_alive : Outcome::close;
      }
      upstream_ok = false;
      break;
    }
    done = r.event == http1::Parser::Event::message_done;
    if (first || u.parser.output_bytes() > 0) {
      bool sent = co_await write_client(first ? std::string_view(head_out_) : std::string_view(),
                                        &u.parser);
      if (!sent) {
        std::uint64_t bytes = u.parser.body_bytes();
        up_.reset();
        access_log(response_status_, bytes);
        co_return Outcome::close;
      }
      first = false;
      u.parser.clear_output();
    }
    if (done) break;
    if (r.event == http1::Parser::Event::body) continue;
    u.buffer.clear();
    watchdog_.arm(u.stream.socket(), w_.config->timeouts.response);
    auto space = u.buffer.free_space();
    auto [ec, n] =
        co_await u.stream.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    metrics::add(w_.counters_of(u.backend).bytes_received, n);
    if (ec || n == 0) {
      if (!watchdog_.expired() && u.parser.body_until_eof() &&
          u.parser.finish() == http1::Parser::Event::message_done) {
        bool sent = co_await write_client({}, &u.parser);
        if (!sent) break;
        done = true;
        break;
      }
      w_.log->warn("backend {}: response body cut short ({})", w_.name(backend_),
                   watchdog_.expired() ? "timed out"
                   : ec                ? ec.message()
                                       : "end of file");
      upstream_ok = false;
      break;
    }
    u.buffer.commit(n);
  }
  response_bytes_ = u.parser.body_bytes();
  if (!done) {
    // The head is out: the only honest signal left is to close without finishing the body.
    if (!upstream_ok) w_.report_failure(backend_, "response body cut short");
    up_.reset();
    access_log(response_status_, response_bytes_);
    co_return Outcome::close;
  }
  finish_upstream(u.parser.keep_alive() && !eof_body && u.buffer.empty());
  access_log(response_status_, response_bytes_);
  co_return close ? Outcome::close : Outcome::keep_alive;
}

void Session::finish_upstream(bool reusable) {
  if (reusable) {
    w_.pool.release(std::move(up_), Clock::now());
  }
  up_.reset();
}

asio::awaitable<void> Session::reply_error(const ProxyError& err, bool close) {
  if (err.side == Side::upstream) w_.log->warn("{} -> {} {}", target_, err.status, err.detail);
  metrics::add(w_.counters->errors[metrics::error_index(err.code)]);
  response_status_ = err.status;
  head_out_.clear();
  write_error_response(err, close, head_out_);
  co_await write_client(head_out_, nullptr);
  access_log(err.status, 0);
}

asio::awaitable<bool> Session::write_client(std::string_view prefix, const http1::Parser* body) {
  iov_.clear();
  if (!prefix.empty()) iov_.emplace_back(prefix.data(), prefix.size());
  if (body != nullptr) {
    for (auto s : body->output()) iov_.emplace_back(s.data(), s.size());
  }
  if (iov_.empty()) co_return true;
  watchdog_.arm(client_.socket(), w_.config->timeouts.client);
  auto [ec, n] = co_await asio::async_write(client_, net::BufferView(iov_), kToken);
  co_return !ec;
}

asio::awaitable<std::error_code> Session::write_upstream(std::string_view prefix,
                                                         const http1::Parser& body,
                                                         std::uint64_t skip) {
  iov_.clear();
  if (!prefix.empty()) iov_.emplace_back(prefix.data(), prefix.size());
  // Pieces grow in place (adjacent input merges), so "already sent" is a byte count.
  for (auto piece : body.output()) {
    if (skip >= piece.size()) {
      skip -= piece.size();
      continue;
    }
    iov_.emplace_back(piece.data() + skip, piece.size() - skip);
    skip = 0;
  }
  if (iov_.empty()) co_return std::error_code{};
  auto [ec, n] = co_await asio::async_write(up_->stream, net::BufferView(iov_), kToken);
  metrics::add(w_.counters_of(up_->backend).bytes_sent, n);
  co_return ec;
}

ProxyError Session::upstream_error(std::string_view code, int status,
                                   const std::string& what) const {
  return {status, code, Side::upstream, false, "backend " + w_.name(backend_) + ": " + what, what};
}

void Session::access_log(int status, std::uint64_t bytes) const {
  auto elapsed = Clock::now() - started_;
  if (backend_chosen_ && status >= 100 && status < 600) {
    metrics::BackendCounters& c = w_.counters_of(backend_);
    metrics::add(c.responses[static_cast<std::size_t>(status / 100 - 1)]);
    c.duration.observe(elapsed);
  }
  if (!w_.log->should_log(spdlog::level::info)) return;
  auto ms = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
  w_.log->info("{} \"{} {} HTTP/1.{}\" {} {} {} {:.3f}ms", client_addr_, method_, target_,
               client_http10_ ? 0 : 1, status, backend_chosen_ ? w_.name(backend_) : "-", bytes,
               static_cast<double>(ms.count()) / 1000.0);
}

asio::awaitable<void> serve(Worker& worker, tcp::socket socket, bool admin) {
  Session session(worker, std::move(socket), admin);
  co_await session.run();
}

}  // namespace lb::proxy
