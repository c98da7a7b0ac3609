#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "lb/balancer/health_cell.hpp"
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

// One backend the balancer can pick and its health. The health lives in a HealthCell: its
// own, or one shared with other worker processes (share()); the rest is owned by one loop.
class Backend {
 public:
  Backend(std::size_t index, config::BackendSpec spec);
  // From now on the health is `cell`'s (which must outlive this), shared with whoever else
  // uses it; this backend's own state so far is dropped.
  void share(HealthCell& cell) { cell_ = &cell; }

  const config::BackendSpec& spec() const { return spec_; }
  std::size_t index() const { return index_; }  // position in the backend list
  unsigned weight() const { return spec_.weight; }

  // Up; or, without active probes, down but due for a trial request (retry_after passed,
  // or a trial already succeeded and more successes are needed to reach `rise`).
  bool usable(Clock::time_point now, const HealthPolicy& policy) const;
  bool is_down() const { return cell_->down.load(std::memory_order_acquire); }
  Clock::time_point down_since() const;
  unsigned consecutive_failures() const { return cell_->failures.load(kRelaxed); }
  unsigned consecutive_successes() const { return cell_->successes.load(kRelaxed); }
  unsigned transitions() const { return cell_->transitions.load(kRelaxed); }  // so far
  // Why it is down ("3 consecutive failures: connection refused"); empty while up.
  std::string down_reason() const { return is_down() ? cell_->reason() : std::string(); }

  // A response head arrived (not 502/503/504) or a probe passed.
  Transition record_success(const HealthPolicy& policy);
  // A connect failure, reset, timeout, invalid response, 502/503/504, or a failed probe.
  // `what` says which, in a few words ("connection refused"). With a shared cell, only the
  // process whose outcome changed the state gets the Transition.
  Transition record_failure(Clock::time_point now, const HealthPolicy& policy,
                            std::string_view what);

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;

  std::size_t index_;
  config::BackendSpec spec_;
  std::unique_ptr<HealthCell> own_;  // used until share()
  HealthCell* cell_;
};

}  // namespace lb::balancer
