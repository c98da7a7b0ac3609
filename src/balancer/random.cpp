#include "lb/balancer/random.hpp"

namespace lb::balancer {

std::size_t RandomPick::pick(std::span<const Backend> backends, Clock::time_point now,
                             const HealthPolicy& policy, std::span<const std::size_t> exclude) {
  // Two passes instead of a list of candidates: no allocation per call.
  std::uint64_t total = 0;
  std::size_t first = kNoBackend;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    if (!eligible(backends[i], now, policy, exclude)) continue;
    if (first == kNoBackend) first = i;
    total += backends[i].weight();
  }
  // total == 0 only if every eligible weight is 0, which config validation rejects.
  if (first == kNoBackend || total == 0) return first;

  // Modulo bias is at most total / 2^64: negligible for any realistic sum of weights.
  std::uint64_t ticket = rng_() % total;
  for (std::size_t i = first; i < backends.size(); ++i) {
    if (!eligible(backends[i], now, policy, exclude)) continue;
    if (ticket < backends[i].weight()) return i;
    ticket -= backends[i].weight();
  }
  return first;  // unreachable: the tickets cover exactly the eligible weights
}

}  // namespace lb::balancer
