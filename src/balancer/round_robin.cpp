#include "lb/balancer/round_robin.hpp"

namespace lb::balancer {

std::size_t RoundRobin::pick(std::span<const Backend> backends, Clock::time_point now,
                             const HealthPolicy& policy, std::span<const std::size_t> exclude) {
  const std::size_t n = backends.size();
  std::uint64_t start = next_->load(std::memory_order_relaxed);
  for (;;) {
    std::size_t chosen = kNoBackend;
    for (std::size_t step = 0; step < n; ++step) {
      const std::size_t i = (start + step) % n;
      if (eligible(backends[i], now, policy, exclude)) {
        chosen = i;
        break;
      }
    }
    if (chosen == kNoBackend) return kNoBackend;
    // Resume after the chosen one, not after the cursor, so skipped backends get their
    // turn as soon as they are eligible again. Another process that moved the cursor
    // meanwhile wins; scan again from where it left it.
    if (next_->compare_exchange_weak(start, (chosen + 1) % n, std::memory_order_relaxed)) {
      return chosen;
    }
  }
}

}  // namespace lb::balancer
