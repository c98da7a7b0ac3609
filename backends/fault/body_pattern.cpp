#include "body_pattern.hpp"

#include <algorithm>

#include "prng.hpp"

namespace lb::fault {

static_assert(kPatternLine.size() == 64);

void fill_body(std::optional<std::uint64_t> seed, std::uint64_t offset, std::span<char> out) {
  std::size_t i = 0;
  if (!seed) {
    while (i < out.size()) {
      std::size_t at = (offset + i) % kPatternLine.size();
      std::size_t n = std::min(out.size() - i, kPatternLine.size() - at);
      std::copy_n(kPatternLine.data() + at, n, out.data() + i);
      i += n;
    }
    return;
  }
  while (i < out.size()) {
    std::uint64_t pos = offset + i;
    std::uint64_t word = splitmix64_at(*seed, pos / 8);
    for (unsigned b = pos % 8; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<char>((word >> (8 * b)) & 0xFF);
    }
  }
}

}  // namespace lb::fault
