#pragma once

#include <chrono>
#include <cstddef>

#include "lb/config/config.hpp"

namespace lb::balancer {

using Clock = std::chrono::steady_clock;

// Passive health: a circuit breaker fed by the outcomes of real requests.
struct HealthPolicy {
  unsigned failures_to_down = 3;                           // consecutive failures that mark it down
  Clock::duration retry_after = std::chrono::seconds(10);  // down -> one trial request allowed
};

// One backend the balancer can pick and its passive health. Not thread-safe: owned by
// one worker loop.
class Backend {
 public:
  Backend(std::size_t index, config::BackendSpec spec);

  const config::BackendSpec& spec() const { return spec_; }
  std::size_t index() const { return index_; }  // position in the BackendSet
  unsigned weight() const { return spec_.weight; }

  // Up, or down for at least policy.retry_after (half-open: a trial request may go).
  bool usable(Clock::time_point now, const HealthPolicy& policy) const;
  bool is_down() const { return down_; }
  unsigned consecutive_failures() const { return failures_; }

  // A request completed with a response from this backend: resets the failure run.
  // Returns true when this brought a down backend back up.
  bool record_success();
  // A connect failure, timeout or broken response. Returns true when this failure marked
  // the backend down (the failure that crossed the threshold, or a failed trial).
  bool record_failure(Clock::time_point now, const HealthPolicy& policy);

 private:
  std::size_t index_;
  config::BackendSpec spec_;
  unsigned failures_ = 0;
  bool down_ = false;
  Clock::time_point down_since_{};
};

}  // namespace lb::balancer
