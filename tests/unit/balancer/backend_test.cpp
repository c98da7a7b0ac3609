#include "lb/balancer/backend.hpp"

#include <gtest/gtest.h>

namespace lb::balancer {
namespace {

using std::chrono::seconds;

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(1);

Backend make() { return Backend(2, config::BackendSpec{"10.0.0.1", 8080, 3}); }

TEST(BackendHealth, ExposesSpecIndexAndWeight) {
  Backend b = make();
  EXPECT_EQ(b.index(), 2u);
  EXPECT_EQ(b.weight(), 3u);
  EXPECT_EQ(b.spec().host, "10.0.0.1");
  EXPECT_FALSE(b.is_down());
  EXPECT_TRUE(b.usable(t0, {}));
}

TEST(BackendHealth, FallConsecutiveFailuresMarkItDownWithReason) {
  HealthPolicy p;  // fall 3, rise 2
  Backend b = make();
  EXPECT_EQ(b.record_failure(t0, p, "connection refused"), Transition::none);
  EXPECT_EQ(b.record_failure(t0, p, "connection refused"), Transition::none);
  EXPECT_FALSE(b.is_down());
  EXPECT_EQ(b.record_failure(t0, p, "connection refused"), Transition::went_down);
  EXPECT_TRUE(b.is_down());
  EXPECT_EQ(b.down_reason(), "3 consecutive failures: connection refused");
  EXPECT_EQ(b.transitions(), 1u);
  EXPECT_EQ(b.down_since(), t0);
  EXPECT_FALSE(b.usable(t0 + seconds(3600), p));  // active: only probes bring it back
  // More failures while down change nothing.
  EXPECT_EQ(b.record_failure(t0 + seconds(1), p, "reset"), Transition::none);
  EXPECT_EQ(b.transitions(), 1u);
}

TEST(BackendHealth, ASuccessBreaksTheFailureRun) {
  HealthPolicy p;
  Backend b = make();
  b.record_failure(t0, p, "x");
  b.record_failure(t0, p, "x");
  EXPECT_EQ(b.record_success(p), Transition::none);
  b.record_failure(t0, p, "x");
  b.record_failure(t0, p, "x");
  EXPECT_FALSE(b.is_down());
  EXPECT_EQ(b.record_failure(t0, p, "x"), Transition::went_down);
}

TEST(BackendHealth, RiseConsecutiveSuccessesBringItBack) {
  HealthPolicy p{.fall = 1, .rise = 2};
  Backend b = make();
  EXPECT_EQ(b.record_failure(t0, p, "timeout"), Transition::went_down);
  EXPECT_EQ(b.down_reason(), "1 failure: timeout");
  EXPECT_EQ(b.record_success(p), Transition::none);
  EXPECT_TRUE(b.is_down());
  b.record_failure(t0, p, "timeout");  // breaks the success run
  EXPECT_EQ(b.record_success(p), Transition::none);
  EXPECT_EQ(b.record_success(p), Transition::went_up);
  EXPECT_FALSE(b.is_down());
  EXPECT_EQ(b.down_reason(), "");
  EXPECT_EQ(b.transitions(), 2u);
}

TEST(BackendHealth, PassiveOnlyAllowsTrialsAfterRetryAfter) {
  HealthPolicy p{.fall = 1, .rise = 2, .active = false, .retry_after = seconds(10)};
  Backend b = make();
  b.record_failure(t0, p, "refused");
  EXPECT_FALSE(b.usable(t0 + seconds(9), p));
  EXPECT_TRUE(b.usable(t0 + seconds(10), p));
  // A failed trial waits a full retry_after again.
  b.record_failure(t0 + seconds(10), p, "refused");
  EXPECT_FALSE(b.usable(t0 + seconds(19), p));
  EXPECT_TRUE(b.usable(t0 + seconds(20), p));
  // A successful trial keeps it usable until rise successes bring it up.
  b.record_success(p);
  EXPECT_TRUE(b.usable(t0 + seconds(20), p));
  EXPECT_EQ(b.record_success(p), Transition::went_up);
}

TEST(BackendHealth, LateFailureWhileDownDoesNotRestartTheTrialClock) {
  HealthPolicy p{.fall = 1, .rise = 1, .active = false, .retry_after = seconds(10)};
  Backend b = make();
  b.record_failure(t0, p, "refused");
  b.record_failure(t0 + seconds(5), p, "refused");  // a request sent before it went down
  EXPECT_TRUE(b.usable(t0 + seconds(10), p));
}

}  // namespace
}  // namespace lb::balancer

namespace lb::balancer {
namespace {

TEST(SharedHealth, TwoWorkersOutcomesFeedOneStateAndOneReportsTheChange) {
  HealthCell cell;
  Backend a(0, config::BackendSpec{"10.0.0.1", 8080, 1});
  Backend b(0, config::BackendSpec{"10.0.0.1", 8080, 1});
  a.share(cell);
  b.share(cell);
  HealthPolicy policy{.fall = 3, .rise = 2, .active = true};
  auto now = Clock::now();
  EXPECT_EQ(a.record_failure(now, policy, "reset"), Transition::none);
  EXPECT_EQ(b.record_failure(now, policy, "reset"), Transition::none);
  EXPECT_EQ(a.record_failure(now, policy, "connect failed: refused"), Transition::went_down);
  EXPECT_TRUE(b.is_down());  // the other worker avoids it too
  EXPECT_FALSE(b.usable(now, policy));
  EXPECT_EQ(b.down_reason(), "3 consecutive failures: connect failed: refused");
  EXPECT_EQ(b.record_failure(now, policy, "late"), Transition::none);
  EXPECT_EQ(b.record_success(policy), Transition::none);
  EXPECT_EQ(a.record_success(policy), Transition::went_up);
  EXPECT_FALSE(b.is_down());
  EXPECT_EQ(b.down_reason(), "");
  EXPECT_EQ(b.transitions(), 2u);
}

TEST(SharedHealth, ReasonIsCutToItsSpaceNotOverrun) {
  HealthCell cell;
  cell.set_reason(std::string(500, 'x'));
  EXPECT_EQ(cell.reason(), std::string(191, 'x'));
  cell.set_reason("short");
  EXPECT_EQ(cell.reason(), "short");
}

}  // namespace
}  // namespace lb::balancer
