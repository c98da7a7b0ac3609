#include "http1_connection.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/echo_json.hpp"
#include "control_api.hpp"
#include "lb/http1/head_reader.hpp"
#include "lb/http1/parser.hpp"
#include "lb/util/buffer.hpp"
#include "reply_plan.hpp"
#include "reply_writer.hpp"
#include "response_head.hpp"
#include "route.hpp"

namespace lb::fault {

namespace {

constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr std::size_t kMaxHead = 32 * 1024;
constexpr std::size_t kMaxEchoBody = 64ull * 1024 * 1024;
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";

class Connection {
 public:
  Connection(FaultServer& srv, lb::net::Stream& stream, std::string peer, std::string_view initial)
      : srv_(srv),
        stream_(stream),
        buf_(kReadBuffer),
        parser_(lb::http1::MessageKind::request, {8 * 1024, kMaxHead}),
        writer_(stream_, srv.stats),
        peer_(std::move(peer)) {
    auto space = buf_.free_space();
    std::size_t n = std::min(initial.size(), space.size());
    std::copy_n(initial.data(), n, space.data());
    buf_.commit(n);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  asio::awaitable<void> run() {
    bool we_end = false;
    for (;;) {
      bool more = co_await read_head(we_end);
      if (!more) break;
      more = co_await serve_request();
      if (!more) {
        we_end = true;
        break;
      }
    }
    co_await writer_.finish(we_end);
  }

 private:
  // False when the connection is done; `rejected` is set when an error reply went out.
  asio::awaitable<bool> read_head(bool& rejected) {
    parser_.start();
    buf_.compact();  // only pipelined leftovers move; head spans are offsets from base()
    std::size_t pos = 0;
    for (;;) {
      auto step = lb::http1::advance_head(parser_, buf_, pos, kMaxHead);
      if (step == lb::http1::HeadProgress::complete) {
        buf_.consume(pos);
        head_bytes_ = pos;
        co_return true;
      }
      if (step == lb::http1::HeadProgress::error) {
        rejected = true;
        auto e = static_cast<lb::http1::errc>(parser_.error().value());
        co_await reject(lb::http1::status_for(e), parser_.error_reason());
        co_return false;
      }
      if (step == lb::http1::HeadProgress::too_large) {
        rejected = true;
        co_await reject(431, "request head is larger than the limit");
        co_return false;
      }
      bool got = co_await read_more();
      if (!got) co_return false;
    }
  }

  // Malformed input: an error reply, then the connection ends.
  asio::awaitable<void> reject(int status, std::string_view reason) {
    srv_.log->debug("{}: {} ({})", peer_, status, reason);
    srv_.stats.count_bad_request();
    srv_.stats.count_status(status);
    std::string body = std::string(reason) + "\n";
    HeadSpec s{status, srv_.id, 0, "text/plain", body.size(), false, "close", {}};
    co_await writer_.write(head_text(s) + body);
  }

  asio::awaitable<bool> read_more() {
    auto space = buf_.free_space();
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    if (ec || n == 0) co_return false;
    buf_.commit(n);
    co_return true;
  }

  // Reads the rest of the request body; keeps up to `limit` bytes of it in body_ when `keep`
  // (else discards it). `too_large` is set when a kept body passes the limit. False when the
  // connection must end.
  asio::awaitable<bool> read_body(bool keep, std::size_t limit, bool& too_large) {
    const lb::http1::Head& h = parser_.head();
    body_.clear();
    too_large = false;
    if (keep && h.has_content_length && h.content_length > limit) {
      too_large = true;
      co_return false;
    }
    parser_.set_body_output(lb::http1::BodyOutput::raw);
    if (h.expect_continue && h.has_body && !h.is_http10() && buf_.empty()) {
      bool sent = co_await writer_.write(k100Continue, false);
      if (!sent) co_return false;
    }
    for (;;) {
      auto r = parser_.parse(buf_.base(), buf_.begin_offset(), buf_.begin_offset() + buf_.size());
      buf_.consume(r.consumed);
      body_bytes_ += r.consumed;
      if (r.event == lb::http1::Parser::Event::error) {
        auto e = static_cast<lb::http1::errc>(parser_.error().value());
        co_await reject(lb::http1::status_for(e), parser_.error_reason());
        co_return false;
      }
      if (keep) {
        for (auto piece : parser_.output()) {
          if (body_.size() + piece.size() > limit) {
            too_large = true;
            co_return false;
          }
          body_.append(piece.data(), piece.size());
        }
      }
      parser_.clear_output();
      if (r.event == lb::http1::Parser::Event::message_done) co_return true;
      if (r.event == lb::http1::Parser::Event::body) continue;
      buf_.compact();
      bool got = co_await read_more();
      if (!got) co_return false;
    }
  }

  // Handles the request whose head was just read. False when the connection must end.
  asio::awaitable<bool> serve_request() {
    const lb::http1::Head& h = parser_.head();
    // Later reads may overwrite the head's bytes, so what is needed of it is copied now.
    target_.assign(h.target.in(buf_.base()));
    std::string_view method = h.method;  // static storage in llhttp
    bool http10 = h.is_http10();
    Route route = route_request(target_);
    body_bytes_ = 0;
    if (route.endpoint == Endpoint::control) co_return co_await serve_control(method, route.path);

    std::uint64_t number = srv_.stats.count_request(method, route.path);
    Decision decision = srv_.decider.decide();
    ReplyPlan plan = http1_equivalent(plan_reply(route, decision, srv_.id));
    srv_.log->info("{} \"{} {}\" #{} {} ({})", peer_, method, target_, number, reply_summary(plan),
                   source_text(plan.source));
    if (plan.kind == ReplyKind::echo)
      echo_ = lb::backends::echo_head(srv_.id, h, target_, buf_.base());
    bool keep_alive = false;
    if (!plan.ends_connection()) {
      bool too_large = false;
      bool read = co_await read_body(plan.kind == ReplyKind::echo, kMaxEchoBody, too_large);
      srv_.stats.add_received(head_bytes_ + body_bytes_);
      if (too_large) {
        plan.kind = ReplyKind::text;
        plan.status = 413;
        plan.content_type = "text/plain";
        plan.body = "echo body is larger than 64 MiB\n";
      } else if (!read) {
        co_return false;
      }
      // /h2/goaway: the HTTP/1.1 way to say "no more requests on this connection".
      keep_alive = !too_large && parser_.keep_alive() && !plan.goaway;
      if (plan.kind == ReplyKind::echo) {
        lb::backends::finish_echo(echo_, body_, plan.body);
        plan.kind = ReplyKind::text;
      }
    } else {
      srv_.stats.add_received(head_bytes_);
    }
    ReplyContext ctx{srv_.id, number, method == "HEAD", http10, keep_alive};
    co_return co_await writer_.send(plan, ctx);
  }

  asio::awaitable<bool> serve_control(std::string_view method, std::string_view path) {
    bool too_large = false;
    bool read = co_await read_body(true, kMaxControlBody, too_large);
    ControlReply reply;
    if (too_large) {
      reply = control_error(413, "control body is larger than 1 MiB");
    } else if (!read) {
      co_return false;
    } else {
      reply = handle_control(method, path, body_, srv_.decider, srv_.stats);
      srv_.log->info("{} \"{} {}\" control {}", peer_, method, target_, reply.status);
    }
    bool keep_alive = !too_large && parser_.keep_alive();
    std::string allow = reply.allow.empty() ? "" : "Allow: " + reply.allow + "\r\n";
    HeadSpec s{reply.status,
               srv_.id,
               0,
               "application/json",
               reply.body.size(),
               false,
               !keep_alive                  ? "close"
               : parser_.head().is_http10() ? "keep-alive"
                                            : "",
               allow};
    std::string out = head_text(s);
    if (method != "HEAD") out += reply.body;
    bool sent = co_await writer_.write(out, false);
    co_return sent&& keep_alive;
  }

  FaultServer& srv_;
  lb::net::Stream& stream_;
  lb::util::Buffer buf_;
  lb::http1::Parser parser_;
  ReplyWriter writer_;
  std::string peer_;
  std::string target_;
  std::string body_;
  std::size_t head_bytes_ = 0;
  std::uint64_t body_bytes_ = 0;
  nlohmann::ordered_json echo_;
};

}  // namespace

asio::awaitable<void> serve_http1(FaultServer& srv, lb::net::Stream& stream, std::string peer,
                                  std::string_view initial) {
  Connection conn(srv, stream, std::move(peer), initial);
  co_await conn.run();
}

}  // namespace lb::fault
