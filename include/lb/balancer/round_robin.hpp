#pragma once

#include <cstddef>
#include <span>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/strategy.hpp"

namespace lb::balancer {

// Plain rotation b0, b1, b2, b0, ... ignoring weights. An ineligible backend is skipped
// without shifting the others: with b1 down the order is b0, b2, b0, b2.
// Precondition for pick(): backends[i].index() == i.
class RoundRobin final : public Strategy {
 public:
  std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                   const HealthPolicy& policy, std::span<const std::size_t> exclude) override;

 private:
  std::size_t next_ = 0;  // position where the next scan starts
};

}  // namespace lb::balancer
