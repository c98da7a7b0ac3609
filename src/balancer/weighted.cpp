#include "lb/balancer/weighted.hpp"

namespace lb::balancer {

SmoothWeighted::SmoothWeighted(std::size_t backend_count) : current_(backend_count, 0) {}

std::size_t SmoothWeighted::pick(std::span<const Backend> backends, Clock::time_point now,
                                 const HealthPolicy& policy, std::span<const std::size_t> exclude) {
  // Only reached when handed a set of another size than declared; the scores of a
  // different set mean nothing, so start over. The steady state never allocates.
  if (current_.size() != backends.size()) current_.assign(backends.size(), 0);

  std::size_t best = kNoBackend;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    if (!eligible(backends[i], now, policy, exclude)) continue;
    current_[i] += backends[i].weight();
    total += backends[i].weight();
    // Strict '>' so the first index wins ties, as in nginx.
    if (best == kNoBackend || current_[i] > current_[best]) best = i;
  }
  if (best != kNoBackend) current_[best] -= total;
  return best;
}

}  // namespace lb::balancer
