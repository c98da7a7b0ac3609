// How the streams of an H2Connection are answered: each request is routed and decided when
// its headers are complete, and its plan is carried out as HTTP/2 frames once it ended.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/echo_json.hpp"
#include "control_api.hpp"
#include "h2_connection.hpp"
#include "response_head.hpp"
#include "route.hpp"

namespace lb::fault {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxEchoBody = 64ull * 1024 * 1024;
// /drip sends at most this many pieces, whatever its byte count (as over HTTP/1.1).
constexpr std::uint64_t kMaxDripPieces = 1000;

// Offset of piece `i` of `pieces` of `total` spread evenly (no overflow for the sizes routes
// allow: total <= 2^40, pieces <= 1000).
std::uint64_t share(std::uint64_t total, std::uint64_t i, std::uint64_t pieces) {
  return total * i / pieces;
}

}  // namespace

void H2Connection::request_headers(H2Stream& s) {
  ++streams_received_;
  Route route = route_request(s.target);
  if (route.endpoint == Endpoint::control) {
    s.control = true;
    s.control_path = route.path;
    s.body_limit = kMaxControlBody;
  } else {
    s.number = srv_.stats.count_request(s.method, route.path);
    s.plan = plan_reply(route, srv_.decider.decide(), srv_.id);
    if (s.plan.kind == ReplyKind::echo) s.body_limit = kMaxEchoBody;
    srv_.log->info("{} \"{} {}\" #{} {} ({}) h2 stream {}", peer_, s.method, s.target, s.number,
                   reply_summary(s.plan), source_text(s.plan.source), s.id);
    if (s.plan.goaway) send_goaway(s.id);
  }
  std::uint32_t after = srv_.decider.settings().h2_goaway_after;
  if (after > 0 && streams_received_ >= after) send_goaway(s.id);
}

void H2Connection::send_goaway(std::int32_t last) {
  if (goaway_last_id_ >= 0) return;
  goaway_last_id_ = last;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
  srv_.log->info("{}: GOAWAY, last stream {}", peer_, last);
  wake();
}

void H2Connection::start_ready_streams() {
  if (ready_.empty()) return;
  auto ready = std::move(ready_);
  ready_.clear();
  for (auto& s : ready) {
    if (s->closed || closed_) continue;
    asio::co_spawn(stream_->get_executor(), reply(shared_from_this(), std::move(s)),
                   asio::detached);
  }
}

asio::awaitable<void> H2Connection::reply(std::shared_ptr<H2Connection> conn,
                                          std::shared_ptr<H2Stream> s) {
  co_await conn->answer(*s);
}

asio::awaitable<bool> H2Connection::pause(H2Stream& s, std::uint32_t ms) {
  if (ms > 0 && alive(s)) {
    s.timer.expires_after(std::chrono::milliseconds(ms));
    co_await s.timer.async_wait(kToken);
  }
  co_return alive(s);
}

void H2Connection::submit(H2Stream& s, const std::vector<Field>& fields, bool with_body) {
  auto nv = to_nv(fields);
  nghttp2_data_provider body = body_provider(s);
  int rv =
      nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), with_body ? &body : nullptr);
  if (rv != 0) srv_.log->debug("{}: stream {}: {}", peer_, s.id, nghttp2_strerror(rv));
  wake();
}

void H2Connection::submit_headers_only(H2Stream& s, const std::vector<Field>& fields,
                                       AfterHeaders then) {
  s.after_headers = then;
  auto nv = to_nv(fields);
  nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, s.id, nullptr, nv.data(), nv.size(), nullptr);
  wake();
}

std::string H2Connection::echo_json(H2Stream& s) {
  auto echo = lb::backends::echo_request(srv_.id, s.method, s.target, "HTTP/2", s.fields);
  auto& trailers = echo["trailers"] = nlohmann::ordered_json::array();
  for (const auto& [name, value] : s.trailers) trailers.push_back({name, value});
  std::string out;
  lb::backends::finish_echo(echo, s.body, out);
  return out;
}

asio::awaitable<void> H2Connection::answer(H2Stream& s) {
  if (s.control) {
    answer_control(s);
    co_return;
  }
  ReplyPlan& plan = s.plan;
  if (s.body_too_large) {
    ReplyPlan big;
    big.status = 413;
    big.body = "echo body is larger than 64 MiB\n";
    plan = big;
  } else if (plan.kind == ReplyKind::echo) {
    plan.body = echo_json(s);
    plan.kind = ReplyKind::text;
  }
  bool go_on = co_await pause(s, plan.wait_ms);
  if (go_on && plan.kind == ReplyKind::slow_headers) go_on = co_await pause(s, plan.spread_ms);
  if (!go_on) co_return;
  bool head = s.method == "HEAD";
  switch (plan.kind) {
    case ReplyKind::text:
    case ReplyKind::echo:
    case ReplyKind::slow_headers:
      send_text(s, head);
      break;
    case ReplyKind::bytes:
    case ReplyKind::stream:
    case ReplyKind::truncate:
    case ReplyKind::reset_mid_body:
      send_generated(s, head);
      break;
    case ReplyKind::drip:
      co_await send_drip(s, head);
      break;
    case ReplyKind::bad_chunk:
      srv_.stats.count_fault(plan.fault);
      srv_.stats.count_status(plan.status);
      submit_headers_only(s,
                          response_fields(plan.status, srv_.id, s.number, plan.content_type,
                                          std::nullopt, plan.fields),
                          AfterHeaders::malformed);
      break;
    case ReplyKind::rst_stream:
      if (plan.after_headers) {
        srv_.stats.count_status(plan.status);
        submit_headers_only(s,
                            response_fields(plan.status, srv_.id, s.number, plan.content_type,
                                            std::nullopt, plan.fields),
                            AfterHeaders::rst_stream);
      } else {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, plan.h2_code);
        wake();
      }
      break;
    case ReplyKind::reset:
      srv_.stats.count_fault(plan.fault);
      end(End::rst);
      break;
    case ReplyKind::close:
      srv_.stats.count_fault(plan.fault);
      end(End::fin);
      break;
    case ReplyKind::garbage:
      srv_.stats.count_fault(plan.fault);
      end(End::raw, std::string(kGarbage));
      break;
    case ReplyKind::hang:
      srv_.stats.count_fault(plan.fault);
      break;
  }
}

void H2Connection::send_text(H2Stream& s, bool head) {
  const ReplyPlan& p = s.plan;
  bool has_body = status_has_body(p.status);
  auto fields = response_fields(
      p.status, srv_.id, s.number, has_body ? p.content_type : "",
      has_body ? std::optional<std::uint64_t>(p.body.size()) : std::nullopt, p.fields);
  srv_.stats.count_status(p.status);
  if (!has_body || head || (p.body.empty() && p.trailers.empty())) {
    submit(s, fields, false);
    return;
  }
  BodySource& b = s.out;
  b.fill = BodySource::Fill::text;
  b.text = p.body;
  b.total = b.released = p.body.size();
  b.end = p.trailers.empty() ? BodySource::End::eof : BodySource::End::trailers;
  b.trailers = p.trailers;
  b.stats = &srv_.stats;
  submit(s, fields, true);
}

void H2Connection::send_generated(H2Stream& s, bool head) {
  const ReplyPlan& p = s.plan;
  bool partial = p.kind == ReplyKind::truncate || p.kind == ReplyKind::reset_mid_body;
  std::optional<std::uint64_t> length;
  if (p.kind != ReplyKind::stream) length = p.length;
  auto fields = response_fields(p.status, srv_.id, s.number, p.content_type, length, p.fields);
  srv_.stats.count_status(p.status);
  if (partial) srv_.stats.count_fault(p.fault);
  std::uint64_t total = head ? 0 : partial ? p.sent : p.length;
  if (total == 0 && p.kind != ReplyKind::reset_mid_body) {
    submit(s, fields, false);
    return;
  }
  BodySource& b = s.out;
  b.fill = BodySource::Fill::pattern;
  b.seed = partial ? std::nullopt : p.seed;
  b.total = b.released = total;
  b.chunk = p.kind == ReplyKind::stream ? p.chunk_size : 0;
  b.end = p.kind == ReplyKind::reset_mid_body ? BodySource::End::reset : BodySource::End::eof;
  b.stats = &srv_.stats;
  submit(s, fields, true);
}

asio::awaitable<void> H2Connection::send_drip(H2Stream& s, bool head) {
  const ReplyPlan& p = s.plan;
  auto fields = response_fields(p.status, srv_.id, s.number, p.content_type, p.length, p.fields);
  srv_.stats.count_status(p.status);
  if (head || p.length == 0) {
    submit(s, fields, false);
    co_return;
  }
  BodySource& b = s.out;
  b.fill = BodySource::Fill::stars;
  b.total = p.length;
  b.released = 0;
  b.stats = &srv_.stats;
  submit(s, fields, true);
  std::uint64_t pieces = std::min(p.length, kMaxDripPieces);
  auto start = Clock::now();
  for (std::uint64_t i = 1; i <= pieces; ++i) {
    s.timer.expires_at(start + std::chrono::milliseconds(share(p.spread_ms, i, pieces)));
    co_await s.timer.async_wait(kToken);
    if (!alive(s)) co_return;
    b.released = share(p.length, i, pieces);
    nghttp2_session_resume_data(session_, s.id);
    wake();
  }
}

void H2Connection::answer_control(H2Stream& s) {
  ControlReply r = s.body_too_large
                       ? control_error(413, "control body is larger than 1 MiB")
                       : handle_control(s.method, s.control_path, s.body, srv_.decider, srv_.stats);
  srv_.log->info("{} \"{} {}\" control {} h2 stream {}", peer_, s.method, s.target, r.status, s.id);
  std::vector<Field> extra;
  if (!r.allow.empty()) extra.emplace_back("allow", r.allow);
  auto fields = response_fields(r.status, srv_.id, 0, "application/json", r.body.size(), extra);
  BodySource& b = s.out;
  b.fill = BodySource::Fill::text;
  b.text = std::move(r.body);
  b.total = b.released = b.text.size();
  submit(s, fields, s.method != "HEAD");
}

}  // namespace lb::fault
