#include "lb/balancer/backend.hpp"

#include <utility>

namespace lb::balancer {

Backend::Backend(std::size_t index, config::BackendSpec spec)
    : index_(index), spec_(std::move(spec)) {}

bool Backend::usable(Clock::time_point now, const HealthPolicy& policy) const {
  if (!down_) return true;
  if (policy.active) return false;  // the prober decides when it is back
  return successes_ > 0 || now - down_since_ >= policy.retry_after;
}

Transition Backend::record_success(const HealthPolicy& policy) {
  failures_ = 0;
  ++successes_;
  if (!down_ || successes_ < policy.rise) return Transition::none;
  down_ = false;
  down_reason_.clear();
  ++transitions_;
  return Transition::went_up;
}

Transition Backend::record_failure(Clock::time_point now, const HealthPolicy& policy,
                                   std::string_view what) {
  ++failures_;
  successes_ = 0;
  if (down_) {
    // A failed trial (passive only) waits a full retry_after again. Failures of requests
    // sent before it went down just finish late and change nothing.
    if (!policy.active && now - down_since_ >= policy.retry_after) down_since_ = now;
    return Transition::none;
  }
  if (failures_ < policy.fall) return Transition::none;
  down_ = true;
  down_since_ = now;
  ++transitions_;
  down_reason_ = std::to_string(failures_) +
                 (failures_ == 1 ? " failure: " : " consecutive failures: ") + std::string(what);
  return Transition::went_down;
}

}  // namespace lb::balancer
