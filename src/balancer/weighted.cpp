#include "lb/balancer/weighted.hpp"

namespace lb::balancer {

SmoothWeighted::SmoothWeighted(std::size_t backend_count) : current_(backend_count, 0) {}

std::size_t SmoothWeighted::pick_shared(std::span<const Backend> backends, Clock::time_point now,
                                        const HealthPolicy& policy,
                                        std::span<const std::size_t> exclude) {
  bool any = false;
  for (const auto& b : backends) any = any || eligible(b, now, policy, exclude);
  if (!any) return kNoBackend;
  if (cycle_.empty()) {  // once: every process computes the same cycle
    std::vector<std::int64_t> score(backends.size(), 0);
    std::int64_t total = 0;
    for (const auto& b : backends) total += b.weight();
    cycle_.reserve(static_cast<std::size_t>(total));
    for (std::int64_t n = 0; n < total; ++n) {
      std::size_t best = 0;
      for (std::size_t i = 0; i < backends.size(); ++i) {
        score[i] += backends[i].weight();
        if (score[i] > score[best]) best = i;
      }
      score[best] -= total;
      cycle_.push_back(static_cast<std::uint32_t>(best));
    }
  }
  for (;;) {
    std::uint64_t c = cursor_->fetch_add(1, std::memory_order_relaxed);
    std::size_t i = cycle_[c % cycle_.size()];
    if (eligible(backends[i], now, policy, exclude)) return i;
  }
}

std::size_t SmoothWeighted::pick(std::span<const Backend> backends, Clock::time_point now,
                                 const HealthPolicy& policy, std::span<const std::size_t> exclude) {
  if (cursor_ != nullptr && !backends.empty()) return pick_shared(backends, now, policy, exclude);
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
