#include "reply_plan.hpp"

#include "response_head.hpp"

namespace lb::fault {

namespace {

ReplyPlan text(int status, std::string body) {
  ReplyPlan p;
  p.status = status;
  p.body = std::move(body);
  return p;
}

ReplyPlan broken(ReplyKind kind, ActionKind fault) {
  ReplyPlan p;
  p.kind = kind;
  p.fault = fault;
  return p;
}

ReplyPlan partial_body(ReplyKind kind, ActionKind fault, std::uint64_t length, std::uint64_t sent) {
  ReplyPlan p = broken(kind, fault);
  p.content_type = "application/octet-stream";
  p.length = length;
  p.sent = sent;
  return p;
}

// The reply for a fault chosen by the script, the mode or error_rate.
ReplyPlan plan_action(const Action& a) {
  switch (a.kind) {
    case ActionKind::status:
      return text(static_cast<int>(a.value), status_body(static_cast<int>(a.value)));
    case ActionKind::reset:
      return broken(ReplyKind::reset, ActionKind::reset);
    case ActionKind::close:
      return broken(ReplyKind::close, ActionKind::close);
    case ActionKind::hang:
      return broken(ReplyKind::hang, ActionKind::hang);
    case ActionKind::garbage:
      return broken(ReplyKind::garbage, ActionKind::garbage);
    case ActionKind::bad_chunk:
      return broken(ReplyKind::bad_chunk, ActionKind::bad_chunk);
    case ActionKind::truncate:
      return partial_body(ReplyKind::truncate, ActionKind::truncate, kDefaultTruncateLength,
                          kDefaultTruncateSent);
    case ActionKind::reset_mid_body:
      return partial_body(ReplyKind::reset_mid_body, ActionKind::reset_mid_body,
                          kDefaultTruncateLength, kDefaultTruncateSent);
    case ActionKind::ok:
    case ActionKind::delay:
      break;
  }
  return text(200, "");
}

ReplyPlan plan_path(const Route& r, std::string_view id) {
  if (!r.error.empty()) return text(400, r.error + "\n");
  ReplyPlan p;
  switch (r.endpoint) {
    case Endpoint::status:
      return text(r.status, status_body(r.status));
    case Endpoint::delay:
      p = text(200, hello_body(id));
      p.wait_ms = r.ms;
      return p;
    case Endpoint::health:
      return text(200, "ok\n");
    case Endpoint::echo:
      p.kind = ReplyKind::echo;
      p.content_type = "application/json";
      return p;
    case Endpoint::bytes:
    case Endpoint::stream:
    case Endpoint::drip:
      p.kind = r.endpoint == Endpoint::bytes    ? ReplyKind::bytes
               : r.endpoint == Endpoint::stream ? ReplyKind::stream
                                                : ReplyKind::drip;
      p.content_type = "application/octet-stream";
      p.length = r.bytes;
      p.chunk_size = r.chunk_size;
      p.spread_ms = r.endpoint == Endpoint::drip ? r.ms : 0;
      p.seed = r.seed;
      return p;
    case Endpoint::slow_headers:
      p = text(200, hello_body(id));
      p.kind = ReplyKind::slow_headers;
      p.spread_ms = r.ms;
      return p;
    case Endpoint::truncate:
      return partial_body(ReplyKind::truncate, ActionKind::truncate, r.bytes, r.sent);
    case Endpoint::reset_mid_body:
      return partial_body(ReplyKind::reset_mid_body, ActionKind::reset_mid_body, r.bytes, r.sent);
    case Endpoint::reset:
      return plan_action({ActionKind::reset, 0});
    case Endpoint::close:
      return plan_action({ActionKind::close, 0});
    case Endpoint::hang:
      return plan_action({ActionKind::hang, 0});
    case Endpoint::garbage:
      return plan_action({ActionKind::garbage, 0});
    case Endpoint::bad_chunk:
      return plan_action({ActionKind::bad_chunk, 0});
    case Endpoint::trailers:
      p = text(200, "trailers");
      p.trailers = {{"x-checksum", "abc123"}, {"x-trailer-2", "two"}};
      return p;
    case Endpoint::cookies:
      p = text(200, "cookies");
      p.fields = {
          {"set-cookie", "a=1"}, {"set-cookie", "b=2; Path=/"}, {"set-cookie", "c=3; HttpOnly"}};
      return p;
    case Endpoint::h2_rst_stream:
      p.kind = ReplyKind::rst_stream;
      p.h2_code = r.h2_code;
      p.after_headers = r.after_headers;
      return p;
    case Endpoint::h2_goaway:
      p = text(200, "goaway");
      p.goaway = true;
      return p;
    case Endpoint::h2_slow_window:
      p = text(200, hello_body(id));
      p.slow_window = true;
      return p;
    case Endpoint::hello:
    case Endpoint::control:
      break;
  }
  return text(200, hello_body(id));
}

}  // namespace

std::string_view reply_kind_text(ReplyKind kind) {
  static constexpr std::string_view kNames[] = {
      "text",           "echo",      "bytes",   "stream", "drip",  "slow-headers", "truncate",
      "reset-mid-body", "bad-chunk", "garbage", "reset",  "close", "hang",         "rst-stream"};
  return kNames[static_cast<std::size_t>(kind)];
}

std::string reply_summary(const ReplyPlan& plan) {
  std::string text = plan.kind == ReplyKind::text ? std::to_string(plan.status)
                                                  : std::string(reply_kind_text(plan.kind));
  if (plan.wait_ms > 0) text += " after " + std::to_string(plan.wait_ms) + " ms";
  return text;
}

ReplyPlan http1_equivalent(ReplyPlan plan) {
  if (plan.kind != ReplyKind::rst_stream) return plan;
  if (!plan.after_headers) {
    plan.kind = ReplyKind::reset;
    plan.fault = ActionKind::reset;
    return plan;
  }
  plan.kind = ReplyKind::reset_mid_body;
  plan.fault = ActionKind::reset_mid_body;
  plan.content_type = "application/octet-stream";
  plan.length = kDefaultTruncateLength;
  plan.sent = 0;
  return plan;
}

bool ReplyPlan::ends_connection() const {
  return kind != ReplyKind::text && kind != ReplyKind::echo && kind != ReplyKind::bytes &&
         kind != ReplyKind::stream && kind != ReplyKind::drip && kind != ReplyKind::slow_headers;
}

std::string hello_body(std::string_view server_id) {
  return "Hello from " + std::string(server_id) + "\n";
}

std::string status_body(int status) {
  return std::to_string(status) + " " + std::string(reason_phrase(status)) + "\n";
}

ReplyPlan plan_reply(const Route& route, const Decision& decision, std::string_view server_id) {
  ReplyPlan p = decision.action.kind == ActionKind::ok ? plan_path(route, server_id)
                                                       : plan_action(decision.action);
  p.source = decision.source;
  if (p.kind == ReplyKind::hang) {
    p.wait_ms = 0;
  } else {
    p.wait_ms += decision.wait_ms;
  }
  return p;
}

}  // namespace lb::fault
