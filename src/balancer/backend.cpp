#include "lb/balancer/backend.hpp"

#include <utility>

namespace lb::balancer {

Backend::Backend(std::size_t index, config::BackendSpec spec)
    : index_(index), spec_(std::move(spec)) {}

bool Backend::usable(Clock::time_point now, const HealthPolicy& policy) const {
  return !down_ || now - down_since_ >= policy.retry_after;
}

bool Backend::record_success() {
  failures_ = 0;
  const bool was_down = down_;
  down_ = false;
  return was_down;
}

bool Backend::record_failure(Clock::time_point now, const HealthPolicy& policy) {
  ++failures_;
  if (down_) {
    // Only a failure once the backend was usable again is a failed trial. Earlier ones are
    // requests sent before it went down finishing late: re-marking would restart the clock
    // and report the same transition twice.
    if (!usable(now, policy)) return false;
    down_since_ = now;
    return true;
  }
  if (failures_ < policy.failures_to_down) return false;
  down_ = true;
  down_since_ = now;
  return true;
}

}  // namespace lb::balancer
