#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/strategy.hpp"

namespace lb::balancer {

// nginx's smooth weighted round robin (ngx_http_upstream_get_peer): over one cycle each
// backend is picked `weight` times, interleaved rather than in bursts ({5,1,1} gives
// a a b a c a a). Ineligible backends sit out a pick and keep their running score.
// Precondition for pick(): backends[i].index() == i.
//
// Shared by worker processes (share()), the running scores cannot be updated without a
// lock, so the cycle with every backend eligible is computed once and the processes walk it
// with one atomic cursor; an ineligible backend's turns go to the entries after it.
class SmoothWeighted final : public Strategy {
 public:
  explicit SmoothWeighted(std::size_t backend_count);

  std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                   const HealthPolicy& policy, std::span<const std::size_t> exclude) override;
  void share(std::atomic<std::uint64_t>& cursor) override { cursor_ = &cursor; }

 private:
  std::size_t pick_shared(std::span<const Backend> backends, Clock::time_point now,
                          const HealthPolicy& policy, std::span<const std::size_t> exclude);

  std::vector<std::int64_t> current_;  // nginx's current_weight, one per backend
  std::atomic<std::uint64_t>* cursor_ = nullptr;
  std::vector<std::uint32_t> cycle_;  // shared: one full cycle of picks, built on first use
};

}  // namespace lb::balancer
