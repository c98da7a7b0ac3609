#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "lb/balancer/backend.hpp"
#include "lb/config/config.hpp"

namespace lb::balancer {

inline constexpr std::size_t kNoBackend = std::numeric_limits<std::size_t>::max();

// Chooses the next backend. A backend is eligible when usable(now, policy) and its index
// is not in `exclude` (backends already tried for this request). Returns its index, or
// kNoBackend when none is eligible. Strategies keep their own rotation state; they must
// not allocate per call.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                           const HealthPolicy& policy, std::span<const std::size_t> exclude) = 0;
  // Keep the rotation in `cursor` (shared memory, must outlive this) instead, so that
  // worker processes rotate as one. Strategies without a shared form ignore it.
  virtual void share(std::atomic<std::uint64_t>& /*cursor*/) {}
};

// `seed` feeds the random strategy so runs repeat; the others ignore it.
std::unique_ptr<Strategy> make_strategy(config::Strategy kind, std::size_t backend_count,
                                        std::uint64_t seed);

// True when backends[i] may be picked (shared by all strategies).
bool eligible(const Backend& b, Clock::time_point now, const HealthPolicy& policy,
              std::span<const std::size_t> exclude);

}  // namespace lb::balancer
