#include "fault/prng.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "fault/body_pattern.hpp"

namespace lb::fault {
namespace {

TEST(FaultPrng, MatchesPublishedSplitMix64Outputs) {
  // The reference C implementation's first outputs for seeds 0 and 1234567.
  EXPECT_EQ(splitmix64_at(0, 0), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix64_at(0, 1), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(splitmix64_at(0, 2), 0x06C45D188009454Full);
  EXPECT_EQ(splitmix64_at(1234567, 0), 6457827717110365317ull);
  EXPECT_EQ(splitmix64_at(1234567, 1), 3203168211198807973ull);
  EXPECT_EQ(splitmix64_at(1234567, 2), 9817491932198370423ull);
}

TEST(FaultPrng, SameSeedSameSequenceAndReseedRestarts) {
  Prng a(42), b(42), c(43);
  std::vector<std::uint64_t> first;
  for (int i = 0; i < 100; ++i) {
    first.push_back(a.next());
    EXPECT_EQ(first.back(), b.next());
  }
  EXPECT_NE(first[0], c.next());
  EXPECT_EQ(a.draws(), 100u);
  a.reseed(42);
  EXPECT_EQ(a.draws(), 0u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), first[static_cast<std::size_t>(i)]);
}

TEST(FaultPrng, UnitDrawsStayInHalfOpenRange) {
  Prng p(7);
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < 10000; ++i) {
    double u = p.next_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += u;
  }
  EXPECT_LT(lo, 0.01);
  EXPECT_GT(hi, 0.99);
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(FaultBodyPattern, UnseededRepeatsThePatternLine) {
  std::string out(150, '\0');
  fill_body(std::nullopt, 0, out);
  EXPECT_EQ(out.substr(0, 64), kPatternLine);
  EXPECT_EQ(out.substr(64, 64), kPatternLine);
  EXPECT_EQ(out.substr(128), kPatternLine.substr(0, 22));
  std::string mid(5, '\0');
  fill_body(std::nullopt, 62, mid);
  EXPECT_EQ(mid, "-\n012");
}

TEST(FaultBodyPattern, SeededBytesAreRandomAccess) {
  std::string whole(1000, '\0');
  fill_body(9, 0, whole);
  // Byte i is byte i % 8 of output i / 8, little-endian.
  std::uint64_t w0 = splitmix64_at(9, 0);
  for (int b = 0; b < 8; ++b) {
    EXPECT_EQ(static_cast<unsigned char>(whole[static_cast<std::size_t>(b)]),
              (w0 >> (8 * b)) & 0xFF);
  }
  for (std::uint64_t offset : {1u, 7u, 8u, 13u, 500u, 993u}) {
    std::string part(7, '\0');
    fill_body(9, offset, part);
    EXPECT_EQ(part, whole.substr(offset, 7)) << offset;
  }
  std::string other(1000, '\0');
  fill_body(10, 0, other);
  EXPECT_NE(other, whole);
}

}  // namespace
}  // namespace lb::fault
