#include "lb/balancer/strategy.hpp"

#include <algorithm>

#include "lb/balancer/random.hpp"
#include "lb/balancer/round_robin.hpp"
#include "lb/balancer/weighted.hpp"

namespace lb::balancer {

bool eligible(const Backend& b, Clock::time_point now, const HealthPolicy& policy,
              std::span<const std::size_t> exclude) {
  return b.usable(now, policy) &&
         std::find(exclude.begin(), exclude.end(), b.index()) == exclude.end();
}

std::unique_ptr<Strategy> make_strategy(config::Strategy kind, std::size_t backend_count,
                                        std::uint64_t seed) {
  switch (kind) {
    case config::Strategy::weighted:
      return std::make_unique<SmoothWeighted>(backend_count);
    case config::Strategy::random:
      return std::make_unique<RandomPick>(seed);
    case config::Strategy::round_robin:
      break;
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace lb::balancer
