#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "lb/config/config.hpp"

namespace lb::balancer {

using Clock = std::chrono::steady_clock;

// When outcomes (of real requests and of health probes) change a backend's state.
struct HealthPolicy {
  unsigned fall = 3;   // consecutive failures that mark an up backend down
  unsigned rise = 2;   // consecutive successes that bring a down backend back up
  bool active = true;  // probes run; without them a down backend gets trial requests
  Clock::duration retry_after = std::chrono::seconds(5);  // passive only: down -> trial
};

enum class Transition { none, went_down, went_up };

// One backend the balancer can pick and its health. Not thread-safe: owned by one loop.
class Backend {
 public:
  Backend(std::size_t index, config::BackendSpec spec);

  const config::BackendSpec& spec() const { return spec_; }
  std::size_t index() const { return index_; }  // position in the backend list
  unsigned weight() const { return spec_.weight; }

  // Up; or, without active probes, down but due for a trial request (retry_after passed,
  // or a trial already succeeded and more successes are needed to reach `rise`).
  bool usable(Clock::time_point now, const HealthPolicy& policy) const;
  bool is_down() const { return down_; }
  Clock::time_point down_since() const { return down_since_; }
  unsigned consecutive_failures() const { return failures_; }
  unsigned consecutive_successes() const { return successes_; }
  unsigned transitions() const { return transitions_; }  // state changes so far
  // Why it is down ("3 consecutive failures: connection refused"); empty while up.
  const std::string& down_reason() const { return down_reason_; }

  // A response head arrived (not 502/503/504) or a probe passed.
  Transition record_success(const HealthPolicy& policy);
  // A connect failure, reset, timeout, invalid response, 502/503/504, or a failed probe.
  // `what` says which, in a few words ("connection refused").
  Transition record_failure(Clock::time_point now, const HealthPolicy& policy,
                            std::string_view what);

 private:
  std::size_t index_;
  config::BackendSpec spec_;
  unsigned failures_ = 0;
  unsigned successes_ = 0;
  unsigned transitions_ = 0;
  bool down_ = false;
  Clock::time_point down_since_{};
  std::string down_reason_;
};

}  // namespace lb::balancer
