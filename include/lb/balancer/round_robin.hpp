#pragma once

#include <cstddef>
#include <span>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/strategy.hpp"

namespace lb::balancer {

// Plain rotation b0, b1, b2, b0, ... ignoring weights. An ineligible backend is skipped
// without shifting the others: with b1 down the order is b0, b2, b0, b2.
// Precondition for pick(): backends[i].index() == i. With share(), processes take turns
// from one cursor (compare-and-swap, no lock).
class RoundRobin final : public Strategy {
 public:
  std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                   const HealthPolicy& policy, std::span<const std::size_t> exclude) override;
  void share(std::atomic<std::uint64_t>& cursor) override { next_ = &cursor; }

 private:
  std::atomic<std::uint64_t> own_{0};
  std::atomic<std::uint64_t>* next_ = &own_;  // position where the next scan starts
};

}  // namespace lb::balancer
