#include "fault/action.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

TEST(FaultAction, ParsesEveryEntryAndPrintsItBack) {
  struct Case {
    const char* text;
    Action action;
  } cases[] = {
      {"ok", {ActionKind::ok, 0}},
      {"200", {ActionKind::status, 200}},
      {"503", {ActionKind::status, 503}},
      {"599", {ActionKind::status, 599}},
      {"reset", {ActionKind::reset, 0}},
      {"close", {ActionKind::close, 0}},
      {"hang", {ActionKind::hang, 0}},
      {"garbage", {ActionKind::garbage, 0}},
      {"truncate", {ActionKind::truncate, 0}},
      {"reset-mid-body", {ActionKind::reset_mid_body, 0}},
      {"bad-chunk", {ActionKind::bad_chunk, 0}},
      {"delay:0", {ActionKind::delay, 0}},
      {"delay:250", {ActionKind::delay, 250}},
      {"delay:3600000", {ActionKind::delay, 3600000}},
  };
  for (const auto& c : cases) {
    auto a = parse_action(c.text);
    ASSERT_TRUE(a) << c.text << ": " << a.error;
    EXPECT_EQ(*a, c.action) << c.text;
    EXPECT_EQ(action_text(*a), c.text);
  }
}

TEST(FaultAction, RejectsWhatIsNotAnEntry) {
  for (const char* bad : {"", "OK", "199", "600", "5033", "50x", "-1", "delay", "delay:", "delay:x",
                          "delay:3600001", "reset_mid_body", " ok", "status:503"}) {
    auto a = parse_action(bad);
    EXPECT_FALSE(a) << bad;
    EXPECT_FALSE(a.error.empty()) << bad;
  }
  EXPECT_EQ(parse_action("600").error, "status: expected an integer 200-599, got '600'");
  EXPECT_EQ(parse_action("delay:x").error, "delay: expected an integer 0-3600000, got 'x'");
  EXPECT_NE(parse_action("boom").error.find("unknown response 'boom'"), std::string::npos);
}

TEST(FaultAction, ParsesLists) {
  auto l = parse_action_list("ok, 503 ,reset,delay:10");
  ASSERT_TRUE(l) << l.error;
  std::vector<Action> want{{ActionKind::ok, 0},
                           {ActionKind::status, 503},
                           {ActionKind::reset, 0},
                           {ActionKind::delay, 10}};
  EXPECT_EQ(*l, want);
  auto empty = parse_action_list("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto bad = parse_action_list("ok,,503");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error.substr(0, 9), "entry 2: ");
  EXPECT_FALSE(parse_action_list("ok,nope"));
}

TEST(FaultAction, ParseUintChecksRangeAndSyntax) {
  EXPECT_EQ(*parse_uint("0", 0, 5, "n"), 0u);
  EXPECT_EQ(*parse_uint("5", 0, 5, "n"), 5u);
  EXPECT_EQ(*parse_uint("18446744073709551615", 0, UINT64_MAX, "n"), UINT64_MAX);
  EXPECT_FALSE(parse_uint("18446744073709551616", 0, UINT64_MAX, "n"));
  EXPECT_FALSE(parse_uint("6", 0, 5, "n"));
  EXPECT_FALSE(parse_uint("1", 2, 5, "n"));
  EXPECT_FALSE(parse_uint("+1", 0, 5, "n"));
  EXPECT_FALSE(parse_uint("1 ", 0, 5, "n"));
  EXPECT_FALSE(parse_uint("", 0, 5, "n"));
}

}  // namespace
}  // namespace lb::fault
