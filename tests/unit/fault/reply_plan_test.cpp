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

TEST(FaultReplyPlan, KindNames) {
  EXPECT_EQ(reply_kind_text(ReplyKind::text), "text");
  EXPECT_EQ(reply_kind_text(ReplyKind::reset_mid_body), "reset-mid-body");
  EXPECT_EQ(reply_kind_text(ReplyKind::hang), "hang");
  EXPECT_EQ(kGarbage.size(), 28u);
  EXPECT_EQ(kGarbage[8], '\0');
  EXPECT_TRUE(kGarbage.ends_with("\x7f\r\n\r\n"));
  EXPECT_FALSE(kGarbage.starts_with("HTTP/"));
}

}  // namespace
}  // namespace lb::fault
