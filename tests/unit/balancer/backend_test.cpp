#include "lb/balancer/backend.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace lb::balancer {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Time is injected: an arbitrary origin, never the real clock.
constexpr Clock::time_point kT0{seconds(1000)};

Backend make_backend() { return Backend(4, config::BackendSpec{"10.0.0.4", 9004, 3}); }

TEST(BackendHealthTest, ExposesSpecIndexAndWeight) {
  const Backend b = make_backend();
  EXPECT_EQ(b.index(), 4u);
  EXPECT_EQ(b.weight(), 3u);
  EXPECT_EQ(b.spec().host, "10.0.0.4");
  EXPECT_EQ(b.spec().port, 9004);
}

TEST(BackendHealthTest, StartsUpAndUsable) {
  const Backend b = make_backend();
  const HealthPolicy policy;
  EXPECT_FALSE(b.is_down());
  EXPECT_TRUE(b.usable(kT0, policy));
  EXPECT_EQ(b.consecutive_failures(), 0u);
}

TEST(BackendHealthTest, MarkedDownExactlyOnThresholdFailure) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 3, .retry_after = seconds(10)};
  EXPECT_FALSE(b.record_failure(kT0, policy));
  EXPECT_FALSE(b.record_failure(kT0, policy));
  EXPECT_FALSE(b.is_down());
  EXPECT_TRUE(b.usable(kT0, policy));
  EXPECT_TRUE(b.record_failure(kT0, policy));
  EXPECT_TRUE(b.is_down());
  EXPECT_FALSE(b.usable(kT0, policy));
  EXPECT_EQ(b.consecutive_failures(), 3u);
}

TEST(BackendHealthTest, SingleFailurePolicy) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 1, .retry_after = seconds(1)};
  EXPECT_TRUE(b.record_failure(kT0, policy));
  EXPECT_TRUE(b.is_down());
}

TEST(BackendHealthTest, SuccessResetsFailureRun) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 3, .retry_after = seconds(10)};
  b.record_failure(kT0, policy);
  b.record_failure(kT0, policy);
  EXPECT_FALSE(b.record_success());  // was up: no transition
  EXPECT_EQ(b.consecutive_failures(), 0u);
  EXPECT_FALSE(b.record_failure(kT0, policy));
  EXPECT_FALSE(b.record_failure(kT0, policy));
  EXPECT_FALSE(b.is_down());
}

TEST(BackendHealthTest, HalfOpenExactlyAtRetryAfter) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 1, .retry_after = seconds(10)};
  b.record_failure(kT0, policy);
  EXPECT_FALSE(b.usable(kT0 + seconds(10) - nanoseconds(1), policy));
  EXPECT_TRUE(b.usable(kT0 + seconds(10), policy));
  EXPECT_TRUE(b.is_down());  // still down until the trial succeeds
}

TEST(BackendHealthTest, SuccessfulTrialBringsItUp) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 2, .retry_after = seconds(10)};
  b.record_failure(kT0, policy);
  b.record_failure(kT0, policy);
  EXPECT_TRUE(b.record_success());
  EXPECT_FALSE(b.is_down());
  EXPECT_EQ(b.consecutive_failures(), 0u);
  EXPECT_TRUE(b.usable(kT0, policy));
  EXPECT_FALSE(b.record_success());  // already up
  // A fresh run of failures is needed to mark it down again.
  EXPECT_FALSE(b.record_failure(kT0 + seconds(11), policy));
  EXPECT_TRUE(b.record_failure(kT0 + seconds(11), policy));
}

TEST(BackendHealthTest, FailedTrialRestartsTheClock) {
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 3, .retry_after = seconds(10)};
  for (int i = 0; i < 3; ++i) b.record_failure(kT0, policy);
  const auto trial = kT0 + seconds(12);
  ASSERT_TRUE(b.usable(trial, policy));
  EXPECT_TRUE(b.record_failure(trial, policy));  // one failure is enough while down
  EXPECT_TRUE(b.is_down());
  EXPECT_FALSE(b.usable(trial, policy));
  EXPECT_FALSE(b.usable(trial + seconds(10) - milliseconds(1), policy));
  EXPECT_TRUE(b.usable(trial + seconds(10), policy));
}

TEST(BackendHealthTest, LateFailureWhileDownIsNotATrial) {
  // Requests sent before the backend went down may fail afterwards; they must neither
  // report a second transition nor push the trial back.
  Backend b = make_backend();
  const HealthPolicy policy{.failures_to_down = 1, .retry_after = seconds(10)};
  EXPECT_TRUE(b.record_failure(kT0, policy));
  EXPECT_FALSE(b.record_failure(kT0 + seconds(5), policy));
  EXPECT_TRUE(b.is_down());
  EXPECT_TRUE(b.usable(kT0 + seconds(10), policy));
}

}  // namespace
}  // namespace lb::balancer
