#include "prng.hpp"

namespace lb::fault {

std::uint64_t splitmix64_at(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double Prng::next_unit() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;  // 2^53 values, exactly representable
}

}  // namespace lb::fault
