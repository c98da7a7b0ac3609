#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace lb::balancer {

// One backend's health as plain lock-free atomics with no pointers, so that it can live in
// memory shared by worker processes: every worker's outcomes feed it and every worker's
// picks read it. Times are steady_clock nanoseconds (CLOCK_MONOTONIC: the same clock in
// every process of the machine).
struct alignas(64) HealthCell {
  std::atomic<std::uint32_t> failures{0};     // consecutive
  std::atomic<std::uint32_t> successes{0};    // consecutive
  std::atomic<std::uint32_t> transitions{0};  // state changes so far
  std::atomic<bool> down{false};
  std::atomic<std::int64_t> down_since_ns{0};

  // Why it went down, under a sequence lock: only the process that marked it down writes.
  void set_reason(std::string_view text);
  std::string reason() const;

 private:
  static constexpr std::size_t kWords = 24;  // 192 bytes of text, NUL-padded
  std::atomic<std::uint32_t> seq_{0};        // odd while being written
  std::array<std::atomic<std::uint64_t>, kWords> text_{};
};

}  // namespace lb::balancer
