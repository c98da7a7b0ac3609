#include "lb/balancer/strategy.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/random.hpp"
#include "lb/balancer/round_robin.hpp"
#include "lb/balancer/weighted.hpp"

namespace lb::balancer {
namespace {

using std::chrono::seconds;

constexpr Clock::time_point kT0{seconds(1000)};
// Passive only, so a down backend becomes a trial candidate after retry_after.
constexpr HealthPolicy kPolicy{.fall = 1, .rise = 1, .active = false, .retry_after = seconds(10)};

// Backend i is "b<i>" on port 9000 + i with the given weight.
std::vector<Backend> make_backends(std::initializer_list<unsigned> weights) {
  std::vector<Backend> out;
  std::size_t i = 0;
  for (unsigned w : weights) {
    out.emplace_back(
        i, config::BackendSpec{"b" + std::to_string(i), static_cast<std::uint16_t>(9000 + i), w});
    ++i;
  }
  return out;
}

void mark_down(Backend& b, Clock::time_point at) {
  for (unsigned i = 0; i < kPolicy.fall; ++i) b.record_failure(at, kPolicy, "test");
  ASSERT_TRUE(b.is_down());
}

std::vector<std::size_t> picks(Strategy& s, const std::vector<Backend>& backends, int count,
                               Clock::time_point now = kT0,
                               std::span<const std::size_t> exclude = {}) {
  std::vector<std::size_t> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(s.pick(backends, now, kPolicy, exclude));
  return out;
}

using Seq = std::vector<std::size_t>;

// --- eligible ---------------------------------------------------------------------------

TEST(EligibleTest, UsableAndNotExcluded) {
  auto backends = make_backends({1, 1, 1});
  mark_down(backends[1], kT0);
  const std::array<std::size_t, 1> exclude{2};
  EXPECT_TRUE(eligible(backends[0], kT0, kPolicy, exclude));
  EXPECT_FALSE(eligible(backends[1], kT0, kPolicy, exclude));
  EXPECT_FALSE(eligible(backends[2], kT0, kPolicy, exclude));
  EXPECT_TRUE(eligible(backends[1], kT0 + seconds(10), kPolicy, {}));  // half-open
}

// --- round robin ------------------------------------------------------------------------

TEST(RoundRobinTest, RotatesInOrder) {
  const auto backends = make_backends({1, 1, 1});
  RoundRobin rr;
  EXPECT_EQ(picks(rr, backends, 7), (Seq{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RoundRobinTest, IgnoresWeights) {
  const auto backends = make_backends({5, 1});
  RoundRobin rr;
  EXPECT_EQ(picks(rr, backends, 4), (Seq{0, 1, 0, 1}));
}

TEST(RoundRobinTest, SkipsDownBackendKeepingOrder) {
  auto backends = make_backends({1, 1, 1});
  mark_down(backends[1], kT0);
  RoundRobin rr;
  EXPECT_EQ(picks(rr, backends, 4), (Seq{0, 2, 0, 2}));
}

TEST(RoundRobinTest, RecoveredBackendRejoinsInItsPlace) {
  auto backends = make_backends({1, 1, 1});
  mark_down(backends[1], kT0);
  RoundRobin rr;
  EXPECT_EQ(picks(rr, backends, 2), (Seq{0, 2}));
  EXPECT_EQ(picks(rr, backends, 4, kT0 + seconds(10)), (Seq{0, 1, 2, 0}));
}

TEST(RoundRobinTest, ExclusionAppliesToThatPickOnly) {
  const auto backends = make_backends({1, 1, 1});
  RoundRobin rr;
  const std::array<std::size_t, 1> tried{0};
  EXPECT_EQ(rr.pick(backends, kT0, kPolicy, tried), 1u);
  EXPECT_EQ(picks(rr, backends, 3), (Seq{2, 0, 1}));
}

TEST(RoundRobinTest, RetryAfterDownSkipsBothDownAndTried) {
  auto backends = make_backends({1, 1, 1});
  mark_down(backends[1], kT0);
  RoundRobin rr;
  const std::array<std::size_t, 1> tried{0};
  EXPECT_EQ(rr.pick(backends, kT0, kPolicy, tried), 2u);
}

TEST(RoundRobinTest, NoBackendWhenAllDownOrExcluded) {
  auto backends = make_backends({1, 1});
  RoundRobin rr;
  const std::array<std::size_t, 2> tried{0, 1};
  EXPECT_EQ(rr.pick(backends, kT0, kPolicy, tried), kNoBackend);
  mark_down(backends[0], kT0);
  mark_down(backends[1], kT0);
  EXPECT_EQ(rr.pick(backends, kT0, kPolicy, {}), kNoBackend);
  EXPECT_EQ(rr.pick({}, kT0, kPolicy, {}), kNoBackend);
}

// --- smooth weighted --------------------------------------------------------------------

TEST(SmoothWeightedTest, NginxSequenceFor511) {
  const auto backends = make_backends({5, 1, 1});
  SmoothWeighted sw(backends.size());
  // a a b a c a a, twice: the state returns to zero after each cycle.
  EXPECT_EQ(picks(sw, backends, 14), (Seq{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}));
}

TEST(SmoothWeightedTest, TwoToOneExactInEveryCycle) {
  const auto backends = make_backends({2, 1});
  SmoothWeighted sw(backends.size());
  const Seq seq = picks(sw, backends, 30);
  for (std::size_t cycle = 0; cycle < 10; ++cycle) {
    EXPECT_EQ(Seq(seq.begin() + cycle * 3, seq.begin() + cycle * 3 + 3), (Seq{0, 1, 0}))
        << "cycle " << cycle;
  }
}

TEST(SmoothWeightedTest, NoBurstsFor31) {
  const auto backends = make_backends({3, 1});
  SmoothWeighted sw(backends.size());
  EXPECT_EQ(picks(sw, backends, 8), (Seq{0, 0, 1, 0, 0, 0, 1, 0}));
}

TEST(SmoothWeightedTest, DownBackendSitsOut) {
  auto backends = make_backends({5, 1, 1});
  mark_down(backends[0], kT0);
  SmoothWeighted sw(backends.size());
  EXPECT_EQ(picks(sw, backends, 4), (Seq{1, 2, 1, 2}));
}

TEST(SmoothWeightedTest, ExcludedBackendSitsOutThatPick) {
  const auto backends = make_backends({5, 1, 1});
  SmoothWeighted sw(backends.size());
  const std::array<std::size_t, 1> tried{0};
  // b0 keeps its score of 0 while b1 wins the tie with b2 (scores 0, -1, 1); then
  // 5,0,2 -> b0; 3,1,3 -> b0 (first index wins the tie); 1,2,4 -> b2.
  EXPECT_EQ(sw.pick(backends, kT0, kPolicy, tried), 1u);
  EXPECT_EQ(picks(sw, backends, 3), (Seq{0, 0, 2}));
}

TEST(SmoothWeightedTest, NoBackendWhenAllDown) {
  auto backends = make_backends({2, 1});
  mark_down(backends[0], kT0);
  mark_down(backends[1], kT0);
  SmoothWeighted sw(backends.size());
  EXPECT_EQ(sw.pick(backends, kT0, kPolicy, {}), kNoBackend);
}

TEST(SmoothWeightedTest, AdaptsToSetOfOtherSize) {
  const auto backends = make_backends({5, 1, 1});
  SmoothWeighted sw(0);
  EXPECT_EQ(picks(sw, backends, 7), (Seq{0, 0, 1, 0, 2, 0, 0}));
}

// --- random -----------------------------------------------------------------------------

TEST(RandomPickTest, SameSeedSameSequence) {
  const auto backends = make_backends({1, 2, 3});
  RandomPick a(42);
  RandomPick b(42);
  RandomPick other(43);
  const Seq seq = picks(a, backends, 200);
  EXPECT_EQ(picks(b, backends, 200), seq);
  EXPECT_NE(picks(other, backends, 200), seq);
}

TEST(RandomPickTest, ProportionsFollowWeights) {
  const auto backends = make_backends({6, 3, 1});
  RandomPick rp(7);
  std::array<int, 3> counts{};
  for (std::size_t i : picks(rp, backends, 10000)) ++counts.at(i);
  // Expected 6000/3000/1000; the margins are > 6 standard deviations.
  EXPECT_NEAR(counts[0], 6000, 300);
  EXPECT_NEAR(counts[1], 3000, 300);
  EXPECT_NEAR(counts[2], 1000, 200);
}

TEST(RandomPickTest, NeverPicksIneligible) {
  auto backends = make_backends({1, 5, 1});
  mark_down(backends[1], kT0);
  RandomPick rp(1);
  const std::array<std::size_t, 1> tried{0};
  for (std::size_t i : picks(rp, backends, 1000, kT0, tried)) ASSERT_EQ(i, 2u);
  for (std::size_t i : picks(rp, backends, 1000)) ASSERT_NE(i, 1u);
}

TEST(RandomPickTest, NoBackendWhenAllDown) {
  auto backends = make_backends({1, 1});
  mark_down(backends[0], kT0);
  mark_down(backends[1], kT0);
  RandomPick rp(1);
  EXPECT_EQ(rp.pick(backends, kT0, kPolicy, {}), kNoBackend);
}

// --- make_strategy ----------------------------------------------------------------------

TEST(MakeStrategyTest, BuildsEachKind) {
  const auto backends = make_backends({5, 1, 1});

  auto rr = make_strategy(config::Strategy::round_robin, backends.size(), 0);
  ASSERT_NE(rr, nullptr);
  EXPECT_EQ(picks(*rr, backends, 4), (Seq{0, 1, 2, 0}));

  auto sw = make_strategy(config::Strategy::weighted, backends.size(), 0);
  ASSERT_NE(sw, nullptr);
  EXPECT_EQ(picks(*sw, backends, 7), (Seq{0, 0, 1, 0, 2, 0, 0}));

  auto rp = make_strategy(config::Strategy::random, backends.size(), 99);
  ASSERT_NE(rp, nullptr);
  RandomPick same_seed(99);
  EXPECT_EQ(picks(*rp, backends, 50), picks(same_seed, backends, 50));
}

}  // namespace
}  // namespace lb::balancer

namespace lb::balancer {
namespace {

TEST(SharedRotation, TwoRoundRobinsOnOneCursorAlternateAsOne) {
  const auto backends = make_backends({1, 1, 1});
  std::atomic<std::uint64_t> cursor{0};
  RoundRobin a, b;
  a.share(cursor);
  b.share(cursor);
  Seq got;
  for (int i = 0; i < 3; ++i) {
    got.push_back(a.pick(backends, kT0, kPolicy, {}));
    got.push_back(b.pick(backends, kT0, kPolicy, {}));
  }
  EXPECT_EQ(got, (Seq{0, 1, 2, 0, 1, 2}));
}

TEST(SharedRotation, TwoSmoothWeightedOnOneCursorFollowTheNginxCycle) {
  auto backends = make_backends({5, 1, 1});
  std::atomic<std::uint64_t> cursor{0};
  SmoothWeighted a(backends.size()), b(backends.size());
  a.share(cursor);
  b.share(cursor);
  Seq got;
  for (int i = 0; i < 7; ++i) got.push_back((i % 2 == 0 ? a : b).pick(backends, kT0, kPolicy, {}));
  EXPECT_EQ(got, (Seq{0, 0, 1, 0, 2, 0, 0}));
  // A down backend's turns go to the next entries; the others keep their proportions.
  mark_down(backends[0], kT0);
  Seq rest;
  for (int i = 0; i < 4; ++i) rest.push_back(a.pick(backends, kT0, kPolicy, {}));
  EXPECT_EQ(rest, (Seq{1, 2, 1, 2}));
  mark_down(backends[1], kT0);
  mark_down(backends[2], kT0);
  EXPECT_EQ(b.pick(backends, kT0, kPolicy, {}), kNoBackend);
}

}  // namespace
}  // namespace lb::balancer
