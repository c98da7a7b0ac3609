#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace lb::fault {

// The 64-byte line that unseeded bodies repeat (/bytes, /stream, /truncate,
// /reset-mid-body): byte i of such a body is kPatternLine[i % 64].
inline constexpr std::string_view kPatternLine =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

// Fills `out` with body bytes [offset, offset + out.size()). Without a seed: the pattern
// line. With one: byte i is byte (i % 8) (little-endian) of splitmix64_at(seed, i / 8), so
// any part of a body can be produced without the rest.
void fill_body(std::optional<std::uint64_t> seed, std::uint64_t offset, std::span<char> out);

}  // namespace lb::fault
