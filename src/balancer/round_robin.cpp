#include "lb/balancer/round_robin.hpp"

namespace lb::balancer {

std::size_t RoundRobin::pick(std::span<const Backend> backends, Clock::time_point now,
                             const HealthPolicy& policy, std::span<const std::size_t> exclude) {
  const std::size_t n = backends.size();
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t i = (next_ + step) % n;
    if (eligible(backends[i], now, policy, exclude)) {
      // Resume after the chosen one, not after the cursor, so skipped backends get their
      // turn as soon as they are eligible again.
      next_ = (i + 1) % n;
      return i;
    }
  }
  return kNoBackend;
}

}  // namespace lb::balancer
