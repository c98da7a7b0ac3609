#pragma once

#include <cstdint>

namespace lb::fault {

// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
// 2014): output k (0-based) of seed s is mix(s + (k + 1) * 0x9E3779B97F4A7C15). Counter-based,
// so any output can be computed directly; the same seed gives the same sequence on every
// machine and build.
std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index);

// The generator behind error_rate: a seed and a count of draws.
class Prng {
 public:
  explicit Prng(std::uint64_t seed = 0) : seed_(seed) {}

  // Starts the sequence again from `seed`.
  void reseed(std::uint64_t seed) {
    seed_ = seed;
    draws_ = 0;
  }
  std::uint64_t next() { return splitmix64_at(seed_, draws_++); }
  // Uniform in [0, 1): the top 53 bits of next().
  double next_unit();
  std::uint64_t draws() const { return draws_; }

 private:
  std::uint64_t seed_;
  std::uint64_t draws_ = 0;
};

}  // namespace lb::fault
