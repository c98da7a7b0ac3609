#include "fault/decider.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace lb::fault {
namespace {

std::vector<Action> script(std::string_view list) { return *parse_action_list(list); }

// What the next n decisions are, as action texts.
std::vector<std::string> next(Decider& d, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(action_text(d.decide().action));
  return out;
}

using Texts = std::vector<std::string>;

TEST(FaultDecider, UpWithoutScriptLetsThePathDecide) {
  Decider d(Settings{}, {});
  Decision x = d.decide();
  EXPECT_EQ(x.action, (Action{ActionKind::ok, 0}));
  EXPECT_EQ(x.source, DecisionSource::path);
  EXPECT_EQ(x.wait_ms, 0u);
}

TEST(FaultDecider, ScriptComesFirstThenTheMode) {
  Settings s;
  s.mode = Mode::down;
  Decider d(s, script("ok,ok,503,reset,ok"));
  EXPECT_EQ(next(d, 7), (Texts{"ok", "ok", "503", "reset", "ok", "503", "503"}));
  d.set_script(script("hang"));
  Decision x = d.decide();
  EXPECT_EQ(x.action.kind, ActionKind::hang);
  EXPECT_EQ(x.source, DecisionSource::script);
  x = d.decide();
  EXPECT_EQ(x.action, (Action{ActionKind::status, 503}));
  EXPECT_EQ(x.source, DecisionSource::mode);
}

TEST(FaultDecider, EveryModeDecidesEveryRequest) {
  Settings s;
  s.mode = Mode::reset;
  Decider d(s, {});
  EXPECT_EQ(next(d, 3), (Texts{"reset", "reset", "reset"}));
  s.mode = Mode::hang;
  d.set_settings(s);
  EXPECT_EQ(next(d, 2), (Texts{"hang", "hang"}));
  s.mode = Mode::down;
  d.set_settings(s);
  EXPECT_EQ(next(d, 2), (Texts{"503", "503"}));
  s.mode = Mode::up;
  d.set_settings(s);
  EXPECT_EQ(next(d, 2), (Texts{"ok", "ok"}));
}

TEST(FaultDecider, LatencyAndDelayEntriesAddUpExceptForHang) {
  Settings s;
  s.latency_ms = 30;
  Decider d(s, script("delay:50,ok,hang,reset"));
  Decision x = d.decide();
  EXPECT_EQ(x.action, (Action{ActionKind::ok, 0}));  // the delay is folded into the wait
  EXPECT_EQ(x.source, DecisionSource::script);
  EXPECT_EQ(x.wait_ms, 80u);
  EXPECT_EQ(d.decide().wait_ms, 30u);
  EXPECT_EQ(d.decide().wait_ms, 0u);  // hang
  EXPECT_EQ(d.decide().wait_ms, 30u);
  EXPECT_EQ(d.decide().wait_ms, 30u);  // script empty, mode up
}

// The error_rate outcomes of n requests as a string of '.' (ok) and 'x' (error).
std::string outcomes(Decider& d, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += d.decide().action.kind == ActionKind::ok ? '.' : 'x';
  return out;
}

TEST(FaultDecider, SeededErrorRateRepeatsExactly) {
  Settings s;
  s.error_rate = 0.5;
  s.seed = 42;
  Decider a(s, {}), b(s, {});
  std::string first = outcomes(a, 200);
  EXPECT_EQ(first, outcomes(b, 200));
  // Each request's fate is draw i < rate, as documented.
  Prng p(42);
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += p.next_unit() < 0.5 ? 'x' : '.';
  EXPECT_EQ(first, expected);
  // Setting the config (even unchanged) restarts the sequence; so does reset().
  a.set_settings(s);
  EXPECT_EQ(outcomes(a, 200), first);
  Decider c(s, {});
  outcomes(c, 17);
  c.reset();
  EXPECT_EQ(outcomes(c, 200), first);
  // Another seed gives another sequence.
  s.seed = 43;
  a.set_settings(s);
  EXPECT_NE(outcomes(a, 200), first);
}

TEST(FaultDecider, ErrorRateExtremesAndShare) {
  Settings s;
  s.error_rate = 1;
  s.error = {ActionKind::status, 500};
  Decider d(s, {});
  for (int i = 0; i < 50; ++i) {
    Decision x = d.decide();
    EXPECT_EQ(x.action, (Action{ActionKind::status, 500}));
    EXPECT_EQ(x.source, DecisionSource::error_rate);
  }
  s.error_rate = 0;
  d.set_settings(s);
  EXPECT_EQ(outcomes(d, 100), std::string(100, '.'));
  s.error_rate = 0.2;
  s.seed = 1;
  d.set_settings(s);
  std::string many = outcomes(d, 10000);
  auto errors = std::count(many.begin(), many.end(), 'x');
  EXPECT_NEAR(static_cast<double>(errors) / 10000, 0.2, 0.02);
}

TEST(FaultDecider, ScriptEntriesDoNotConsumeDraws) {
  Settings s;
  s.error_rate = 0.5;
  s.seed = 5;
  Decider plain(s, {});
  Decider scripted(s, script("ok,ok,ok"));
  outcomes(scripted, 3);  // the script
  EXPECT_EQ(outcomes(scripted, 100), outcomes(plain, 100));
}

TEST(FaultDecider, ResetRestoresStartupSettingsAndScript) {
  Settings s;
  s.latency_ms = 5;
  Decider d(s, script("503,reset"));
  EXPECT_EQ(next(d, 1), (Texts{"503"}));
  Settings changed;
  changed.mode = Mode::hang;
  d.set_settings(changed);
  d.set_script(script("close"));
  EXPECT_EQ(d.script().size(), 1u);
  d.reset();
  EXPECT_EQ(d.settings(), s);
  ASSERT_EQ(d.script().size(), 2u);
  EXPECT_EQ(next(d, 3), (Texts{"503", "reset", "ok"}));
}

TEST(FaultDecider, SourceNames) {
  EXPECT_EQ(source_text(DecisionSource::path), "path");
  EXPECT_EQ(source_text(DecisionSource::script), "script");
  EXPECT_EQ(source_text(DecisionSource::mode), "mode");
  EXPECT_EQ(source_text(DecisionSource::error_rate), "error_rate");
}

}  // namespace
}  // namespace lb::fault
