#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/strategy.hpp"

namespace lb::balancer {

// Picks an eligible backend at random with probability weight / (sum of eligible weights).
// The same seed gives the same sequence on every platform (no std:: distributions, whose
// algorithms differ between standard libraries).
class RandomPick final : public Strategy {
 public:
  explicit RandomPick(std::uint64_t seed) : rng_(seed) {}

  std::size_t pick(std::span<const Backend> backends, Clock::time_point now,
                   const HealthPolicy& policy, std::span<const std::size_t> exclude) override;

 private:
  std::mt19937_64 rng_;
};

}  // namespace lb::balancer
