#include "fault/preface.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lb::fault {
namespace {

TEST(FaultPreface, TheWholePrefaceIsHttp2) {
  EXPECT_EQ(kH2Preface.size(), 24u);
  EXPECT_EQ(match_preface(kH2Preface), PrefaceMatch::h2);
  // What follows it (the client's SETTINGS frame) does not matter.
  EXPECT_EQ(match_preface(std::string(kH2Preface) + std::string("\0\0\0\4\0\0\0\0\0", 9)),
            PrefaceMatch::h2);
}

TEST(FaultPreface, EveryProperPrefixNeedsMore) {
  for (std::size_t n = 0; n < kH2Preface.size(); ++n) {
    EXPECT_EQ(match_preface(kH2Preface.substr(0, n)), PrefaceMatch::need_more) << n;
  }
}

TEST(FaultPreface, AnythingElseIsNotHttp2) {
  EXPECT_EQ(match_preface("GET / HTTP/1.1\r\n"), PrefaceMatch::other);
  EXPECT_EQ(match_preface("P"), PrefaceMatch::need_more);
  EXPECT_EQ(match_preface("POST / HTTP/1.1\r\n"), PrefaceMatch::other);  // differs at byte 2
  EXPECT_EQ(match_preface("PRI * HTTP/1.1\r\n\r\n"), PrefaceMatch::other);
  EXPECT_EQ(match_preface("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), PrefaceMatch::other);
  EXPECT_EQ(match_preface("\x16\x03\x01\x02\x00"), PrefaceMatch::other);  // a TLS ClientHello
}

}  // namespace
}  // namespace lb::fault
