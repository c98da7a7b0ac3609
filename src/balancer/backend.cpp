#include "lb/balancer/backend.hpp"

#include <utility>

namespace lb::balancer {

namespace {

std::int64_t ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Backend::Backend(std::size_t index, config::BackendSpec spec)
    : index_(index),
      spec_(std::move(spec)),
      own_(std::make_unique<HealthCell>()),
      cell_(own_.get()) {}

Clock::time_point Backend::down_since() const {
  return Clock::time_point(std::chrono::nanoseconds(cell_->down_since_ns.load(kRelaxed)));
}

bool Backend::usable(Clock::time_point now, const HealthPolicy& policy) const {
  if (!is_down()) return true;
  if (policy.active) return false;  // the prober decides when it is back
  return consecutive_successes() > 0 || now - down_since() >= policy.retry_after;
}

Transition Backend::record_success(const HealthPolicy& policy) {
  HealthCell& c = *cell_;
  // The steady state (up, no failures) writes nothing: in --mode mp this memory is shared
  // by every worker, and a write per request would bounce it between CPUs.
  if (c.failures.load(kRelaxed) != 0) c.failures.store(0, kRelaxed);
  if (!is_down()) return Transition::none;
  std::uint32_t successes = c.successes.fetch_add(1, kRelaxed) + 1;
  if (successes < policy.rise) return Transition::none;
  bool was_down = true;
  // Whoever flips the state reports it; the others saw it happen.
  if (!c.down.compare_exchange_strong(was_down, false, std::memory_order_acq_rel)) {
    return Transition::none;
  }
  c.transitions.fetch_add(1, kRelaxed);
  return Transition::went_up;
}

Transition Backend::record_failure(Clock::time_point now, const HealthPolicy& policy,
                                   std::string_view what) {
  HealthCell& c = *cell_;
  std::uint32_t failures = c.failures.fetch_add(1, kRelaxed) + 1;
  c.successes.store(0, kRelaxed);
  if (is_down()) {
    // A failed trial (passive only) waits a full retry_after again. Failures of requests
    // sent before it went down just finish late and change nothing.
    if (!policy.active && now - down_since() >= policy.retry_after) {
      c.down_since_ns.store(ns(now), kRelaxed);
    }
    return Transition::none;
  }
  if (failures < policy.fall) return Transition::none;
  c.down_since_ns.store(ns(now), kRelaxed);  // before `down`: readers of down use it
  bool was_up = false;
  if (!c.down.compare_exchange_strong(was_up, true, std::memory_order_acq_rel)) {
    return Transition::none;
  }
  c.set_reason(std::to_string(failures) +
               (failures == 1 ? " failure: " : " consecutive failures: ") + std::string(what));
  c.transitions.fetch_add(1, kRelaxed);
  return Transition::went_down;
}

}  // namespace lb::balancer
