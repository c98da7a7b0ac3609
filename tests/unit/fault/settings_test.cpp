#include "fault/settings.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

using nlohmann::json;

TEST(FaultSettings, ModesRoundTrip) {
  for (auto m : {Mode::up, Mode::down, Mode::reset, Mode::hang}) {
    auto p = parse_mode(mode_text(m));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, m);
  }
  EXPECT_EQ(parse_mode("sideways").error, "expected up, down, reset or hang, got 'sideways'");
  EXPECT_FALSE(parse_mode("UP"));
}

TEST(FaultSettings, ErrorRateIsAPlainDecimalFromZeroToOne) {
  EXPECT_EQ(*parse_error_rate("0"), 0.0);
  EXPECT_EQ(*parse_error_rate("1"), 1.0);
  EXPECT_EQ(*parse_error_rate("0.25"), 0.25);
  EXPECT_EQ(*parse_error_rate(".5"), 0.5);
  for (const char* bad : {"", "1.01", "-0.1", "nan", "inf", "0x1p-1", "1e-1", "0.5x", "."}) {
    EXPECT_FALSE(parse_error_rate(bad)) << bad;
  }
}

TEST(FaultSettings, ErrorActionMustBeAFailure) {
  EXPECT_EQ(*parse_error_action("500"), (Action{ActionKind::status, 500}));
  EXPECT_EQ(*parse_error_action("reset"), (Action{ActionKind::reset, 0}));
  EXPECT_EQ(parse_error_action("ok").error, "'ok' is not a failure");
  EXPECT_FALSE(parse_error_action("delay:5"));
  EXPECT_FALSE(parse_error_action("nope"));
}

TEST(FaultSettings, ToJsonHasEveryField) {
  Settings s;
  s.mode = Mode::down;
  s.latency_ms = 20;
  s.error_rate = 0.5;
  s.seed = 18446744073709551615ull;
  s.error = {ActionKind::reset, 0};
  EXPECT_EQ(to_json(s).dump(),
            R"({"mode":"down","latency_ms":20,"error_rate":0.5,"seed":18446744073709551615,)"
            R"("error":"reset","h2_goaway_after":0,"h2_max_streams":100,"h2_window":65535})");
  EXPECT_EQ(to_json(Settings{}).dump(),
            R"({"mode":"up","latency_ms":0,"error_rate":0.0,"seed":0,"error":"503",)"
            R"("h2_goaway_after":0,"h2_max_streams":100,"h2_window":65535})");
}

TEST(FaultSettings, PatchChangesOnlyTheFieldsGiven) {
  Settings base;
  base.latency_ms = 7;
  auto p = apply_patch(base, json::parse(R"({"mode":"hang","seed":9})"));
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p->mode, Mode::hang);
  EXPECT_EQ(p->seed, 9u);
  EXPECT_EQ(p->latency_ms, 7u);
  auto all = apply_patch(
      base, json::parse(R"({"mode":"reset","latency_ms":0,"error_rate":1,"seed":1,"error":502})"));
  ASSERT_TRUE(all) << all.error;
  EXPECT_EQ(all->error, (Action{ActionKind::status, 502}));
  EXPECT_EQ(all->error_rate, 1.0);
  EXPECT_EQ(all->latency_ms, 0u);
  auto same = apply_patch(base, json::object());
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, base);
}

TEST(FaultSettings, PatchSetsTheHttp2Settings) {
  auto p = apply_patch(Settings{},
                       json::parse(R"({"h2_goaway_after":3,"h2_max_streams":0,"h2_window":0})"));
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p->h2_goaway_after, 3u);
  EXPECT_EQ(p->h2_max_streams, 0u);
  EXPECT_EQ(p->h2_window, 0u);
  p = apply_patch(Settings{}, json::parse(R"({"h2_window":2147483647})"));
  ASSERT_TRUE(p) << p.error;
  EXPECT_EQ(p->h2_window, kMaxH2Window);
  EXPECT_EQ(p->h2_goaway_after, 0u);
  EXPECT_EQ(p->h2_max_streams, 100u);
}

TEST(FaultSettings, PatchRejectsBadInputAndAppliesNothing) {
  struct Case {
    const char* body;
    const char* error;
  } cases[] = {
      {R"([1])", "config: expected a JSON object, got [1]"},
      {R"({"mode":"sideways"})", "mode: expected up, down, reset or hang, got 'sideways'"},
      {R"({"mode":1})", "mode: expected a string, got 1"},
      {R"({"latency_ms":-1})", "latency_ms: expected an integer 0-3600000, got -1"},
      {R"({"latency_ms":3600001})", "latency_ms: expected an integer 0-3600000, got 3600001"},
      {R"({"latency_ms":1.5})", "latency_ms: expected an integer 0-3600000, got 1.5"},
      {R"({"error_rate":1.5})", "error_rate: expected a number 0-1, got 1.5"},
      {R"({"error_rate":"0.5"})", "error_rate: expected a number 0-1, got \"0.5\""},
      {R"({"seed":-3})", "seed: expected an unsigned integer, got -3"},
      {R"({"error":"ok"})", "error: 'ok' is not a failure"},
      {R"({"error":true})", "error: expected a string or a status number, got true"},
      {R"({"mode":"down","colour":"red"})",
       "unknown field 'colour' (expected mode, latency_ms, error_rate, seed, error, "
       "h2_goaway_after, h2_max_streams, h2_window)"},
      {R"({"h2_window":2147483648})",
       "h2_window: expected an integer 0-2147483647, got 2147483648"},
      {R"({"h2_max_streams":-1})", "h2_max_streams: expected an integer 0-2147483647, got -1"},
      {R"({"h2_goaway_after":"3"})",
       "h2_goaway_after: expected an integer 0-2147483647, got \"3\""},
  };
  for (const auto& c : cases) {
    auto p = apply_patch(Settings{}, json::parse(c.body));
    EXPECT_FALSE(p) << c.body;
    EXPECT_EQ(p.error, c.error) << c.body;
  }
}

}  // namespace
}  // namespace lb::fault
