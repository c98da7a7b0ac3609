#include "fault/h2_error_code.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

TEST(FaultH2ErrorCode, NamesOfRfc9113InAnyCase) {
  struct Case {
    const char* text;
    std::uint32_t code;
  } cases[] = {
      {"NO_ERROR", 0x0},
      {"PROTOCOL_ERROR", 0x1},
      {"INTERNAL_ERROR", 0x2},
      {"FLOW_CONTROL_ERROR", 0x3},
      {"SETTINGS_TIMEOUT", 0x4},
      {"STREAM_CLOSED", 0x5},
      {"FRAME_SIZE_ERROR", 0x6},
      {"REFUSED_STREAM", 0x7},
      {"CANCEL", 0x8},
      {"COMPRESSION_ERROR", 0x9},
      {"CONNECT_ERROR", 0xa},
      {"ENHANCE_YOUR_CALM", 0xb},
      {"INADEQUATE_SECURITY", 0xc},
      {"HTTP_1_1_REQUIRED", 0xd},
      {"cancel", 0x8},
      {"Refused_Stream", 0x7},
  };
  for (const auto& c : cases) {
    auto p = parse_h2_error_code(c.text);
    ASSERT_TRUE(p) << c.text << ": " << p.error;
    EXPECT_EQ(*p, c.code) << c.text;
  }
}

TEST(FaultH2ErrorCode, NumbersDecimalOrHex) {
  EXPECT_EQ(*parse_h2_error_code("0"), 0u);
  EXPECT_EQ(*parse_h2_error_code("11"), 11u);
  EXPECT_EQ(*parse_h2_error_code("0xb"), 11u);
  EXPECT_EQ(*parse_h2_error_code("0XFF"), 255u);
  EXPECT_EQ(*parse_h2_error_code("4294967295"), 4294967295u);  // no name, still allowed
}

TEST(FaultH2ErrorCode, AnythingElseFailsNamingTheInput) {
  for (const char* bad :
       {"", "4294967296", "-1", "0x", "PROTOCOL", "PROTOCOL_ERROR ", "1e3", "0x1g", "cancel!"}) {
    auto p = parse_h2_error_code(bad);
    EXPECT_FALSE(p) << bad;
    EXPECT_EQ(p.error,
              "code: expected an HTTP/2 error code name (PROTOCOL_ERROR, CANCEL, REFUSED_STREAM, "
              "...) or a number 0-4294967295, got '" +
                  std::string(bad) + "'");
  }
}

TEST(FaultH2ErrorCode, Text) {
  EXPECT_EQ(h2_error_code_text(0), "NO_ERROR");
  EXPECT_EQ(h2_error_code_text(11), "ENHANCE_YOUR_CALM");
  EXPECT_EQ(h2_error_code_text(13), "HTTP_1_1_REQUIRED");
  EXPECT_EQ(h2_error_code_text(14), "0xe");
  for (std::uint32_t c = 0; c <= 13; ++c) EXPECT_EQ(*parse_h2_error_code(h2_error_code_text(c)), c);
}

}  // namespace
}  // namespace lb::fault
