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
class SmoothWeighted final : public Strategy {
 public:
  explicit SmoothWeighted(std::size_t backend_count);

  std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                   const HealthPolicy& policy, std::span<const std::size_t> exclude) override;

 private:
  std::vector<std::int64_t> current_;  // nginx's current_weight, one per backend
};

}  // namespace lb::balancer
