#include "fault/reply_plan.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

Decision path_decision(std::uint32_t wait = 0) {
  return {{ActionKind::ok, 0}, wait, DecisionSource::path};
}

ReplyPlan plan(std::string_view target, Decision d = path_decision()) {
  return plan_reply(route_request(target), d, "fb");
}

TEST(FaultReplyPlan, NormalPaths) {
  ReplyPlan p = plan("/");
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "Hello from fb\n");
  EXPECT_FALSE(p.ends_connection());

  p = plan("/status/418");
  EXPECT_EQ(p.status, 418);
  EXPECT_EQ(p.body, "418 I'm a teapot\n");
  p = plan("/status/503");
  EXPECT_EQ(p.body, "503 Service Unavailable\n");

  p = plan("/delay/70", path_decision(30));
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.wait_ms, 100u);
  EXPECT_EQ(p.body, "Hello from fb\n");

  p = plan("/health");
  EXPECT_EQ(p.body, "ok\n");

  p = plan("/echo");
  EXPECT_EQ(p.kind, ReplyKind::echo);
  EXPECT_EQ(p.content_type, "application/json");

  p = plan("/bytes/9?seed=4");
  EXPECT_EQ(p.kind, ReplyKind::bytes);
  EXPECT_EQ(p.length, 9u);
  EXPECT_EQ(p.seed, 4u);
  EXPECT_EQ(p.content_type, "application/octet-stream");

  p = plan("/stream/9?chunk_size=2");
  EXPECT_EQ(p.kind, ReplyKind::stream);
  EXPECT_EQ(p.chunk_size, 2u);

  p = plan("/drip?bytes=4&duration_ms=40");
  EXPECT_EQ(p.kind, ReplyKind::drip);
  EXPECT_EQ(p.length, 4u);
  EXPECT_EQ(p.spread_ms, 40u);

  p = plan("/slow-headers?delay_ms=60");
  EXPECT_EQ(p.kind, ReplyKind::slow_headers);
  EXPECT_EQ(p.spread_ms, 60u);
  EXPECT_EQ(p.body, "Hello from fb\n");

  p = plan("/status/x");
  EXPECT_EQ(p.status, 400);
  EXPECT_EQ(p.body, "status: expected an integer 200-599, got 'x'\n");
}

TEST(FaultReplyPlan, BrokenPaths) {
  struct Case {
    const char* target;
    ReplyKind kind;
    ActionKind fault;
  } cases[] = {
      {"/reset", ReplyKind::reset, ActionKind::reset},
      {"/close", ReplyKind::close, ActionKind::close},
      {"/hang", ReplyKind::hang, ActionKind::hang},
      {"/garbage", ReplyKind::garbage, ActionKind::garbage},
      {"/bad-chunk", ReplyKind::bad_chunk, ActionKind::bad_chunk},
      {"/truncate", ReplyKind::truncate, ActionKind::truncate},
      {"/reset-mid-body", ReplyKind::reset_mid_body, ActionKind::reset_mid_body},
  };
  for (const auto& c : cases) {
    ReplyPlan p = plan(c.target, path_decision(25));
    EXPECT_EQ(p.kind, c.kind) << c.target;
    EXPECT_EQ(p.fault, c.fault) << c.target;
    EXPECT_TRUE(p.ends_connection()) << c.target;
    EXPECT_EQ(p.wait_ms, c.kind == ReplyKind::hang ? 0u : 25u) << c.target;
  }
  ReplyPlan p = plan("/truncate?length=50&sent=7");
  EXPECT_EQ(p.length, 50u);
  EXPECT_EQ(p.sent, 7u);
}

TEST(FaultReplyPlan, DecisionsOverrideThePath) {
  Decision d{{ActionKind::status, 503}, 10, DecisionSource::mode};
  ReplyPlan p = plan("/health", d);
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.status, 503);
  EXPECT_EQ(p.body, "503 Service Unavailable\n");
  EXPECT_EQ(p.wait_ms, 10u);
  EXPECT_EQ(p.source, DecisionSource::mode);

  d = {{ActionKind::truncate, 0}, 0, DecisionSource::script};
  p = plan("/bytes/5000", d);
  EXPECT_EQ(p.kind, ReplyKind::truncate);
  EXPECT_EQ(p.length, 100u);
  EXPECT_EQ(p.sent, 10u);

  d = {{ActionKind::reset, 0}, 0, DecisionSource::error_rate};
  p = plan("/status/x", d);  // the fault wins even over a bad path
  EXPECT_EQ(p.kind, ReplyKind::reset);
  EXPECT_EQ(p.source, DecisionSource::error_rate);

  // A script "ok" (or delay) keeps the path's behaviour, bad path included.
  d = {{ActionKind::ok, 0}, 40, DecisionSource::script};
  p = plan("/reset", d);
  EXPECT_EQ(p.kind, ReplyKind::reset);
  EXPECT_EQ(p.wait_ms, 40u);
  EXPECT_EQ(p.source, DecisionSource::script);

  for (auto kind : {ActionKind::close, ActionKind::hang, ActionKind::garbage, ActionKind::bad_chunk,
                    ActionKind::reset_mid_body}) {
    p = plan("/", {{kind, 0}, 0, DecisionSource::script});
    EXPECT_EQ(p.fault, kind);
    EXPECT_TRUE(p.ends_connection());
  }
}

TEST(FaultReplyPlan, TrailersAndCookies) {
  ReplyPlan p = plan("/trailers");
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, "trailers");
  std::vector<Field> trailers{{"x-checksum", "abc123"}, {"x-trailer-2", "two"}};
  EXPECT_EQ(p.trailers, trailers);
  EXPECT_TRUE(p.fields.empty());
  EXPECT_FALSE(p.ends_connection());
  p = plan("/cookies");
  EXPECT_EQ(p.body, "cookies");
  std::vector<Field> cookies{
      {"set-cookie", "a=1"}, {"set-cookie", "b=2; Path=/"}, {"set-cookie", "c=3; HttpOnly"}};
  EXPECT_EQ(p.fields, cookies);
  EXPECT_TRUE(p.trailers.empty());
}

TEST(FaultReplyPlan, Http2Paths) {
  ReplyPlan p = plan("/h2/rst-stream?code=CANCEL&after_headers=1", path_decision(5));
  EXPECT_EQ(p.kind, ReplyKind::rst_stream);
  EXPECT_EQ(p.h2_code, 8u);
  EXPECT_TRUE(p.after_headers);
  EXPECT_EQ(p.wait_ms, 5u);
  EXPECT_TRUE(p.ends_connection());  // over HTTP/1.1 it is a reset
  p = plan("/h2/rst-stream");
  EXPECT_EQ(p.h2_code, 2u);
  EXPECT_FALSE(p.after_headers);

  p = plan("/h2/goaway");
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.body, "goaway");
  EXPECT_TRUE(p.goaway);
  EXPECT_FALSE(p.slow_window);

  p = plan("/h2/slow-window");
  EXPECT_EQ(p.kind, ReplyKind::text);
  EXPECT_EQ(p.body, "Hello from fb\n");
  EXPECT_TRUE(p.slow_window);
  EXPECT_FALSE(p.goaway);

  // A decision other than ok replaces the path, its HTTP/2 behaviour included.
  p = plan("/h2/goaway", {{ActionKind::status, 503}, 0, DecisionSource::script});
  EXPECT_EQ(p.status, 503);
  EXPECT_FALSE(p.goaway);
  p = plan("/h2/slow-window", {{ActionKind::status, 500}, 0, DecisionSource::mode});
  EXPECT_FALSE(p.slow_window);
}

TEST(FaultReplyPlan, Http1EquivalentOfRstStream) {
  ReplyPlan p = http1_equivalent(plan("/h2/rst-stream?code=CANCEL"));
  EXPECT_EQ(p.kind, ReplyKind::reset);
  EXPECT_EQ(p.fault, ActionKind::reset);
  p = http1_equivalent(plan("/h2/rst-stream?after_headers=1"));
  EXPECT_EQ(p.kind, ReplyKind::reset_mid_body);
  EXPECT_EQ(p.fault, ActionKind::reset_mid_body);
  EXPECT_EQ(p.length, 100u);
  EXPECT_EQ(p.sent, 0u);
  // Everything else is left as it is.
  for (const char* target : {"/", "/bytes/3", "/reset", "/h2/goaway", "/truncate"}) {
    ReplyPlan a = plan(target);
    ReplyPlan b = http1_equivalent(a);
    EXPECT_EQ(b.kind, a.kind) << target;
    EXPECT_EQ(b.length, a.length) << target;
    EXPECT_EQ(b.goaway, a.goaway) << target;
  }
}

TEST(FaultReplyPlan, Summary) {
  EXPECT_EQ(reply_summary(plan("/status/503")), "503");
  EXPECT_EQ(reply_summary(plan("/delay/100")), "200 after 100 ms");
  EXPECT_EQ(reply_summary(plan("/bytes/1")), "bytes");
  EXPECT_EQ(reply_summary(plan("/h2/rst-stream")), "rst-stream");
}

TEST(FaultReplyPlan, KindNames) {
  EXPECT_EQ(reply_kind_text(ReplyKind::text), "text");
  EXPECT_EQ(reply_kind_text(ReplyKind::reset_mid_body), "reset-mid-body");
  EXPECT_EQ(reply_kind_text(ReplyKind::hang), "hang");
  EXPECT_EQ(reply_kind_text(ReplyKind::rst_stream), "rst-stream");
  EXPECT_EQ(kGarbage.size(), 28u);
  EXPECT_EQ(kGarbage[8], '\0');
  EXPECT_TRUE(kGarbage.ends_with("\x7f\r\n\r\n"));
  EXPECT_FALSE(kGarbage.starts_with("HTTP/"));
}

}  // namespace
}  // namespace lb::fault
