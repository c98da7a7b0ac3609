#include "lb/balancer/health_cell.hpp"

#include <algorithm>
#include <cstring>

namespace lb::balancer {

void HealthCell::set_reason(std::string_view text) {
  std::array<char, kWords * 8> buf{};
  std::memcpy(buf.data(), text.data(), std::min(text.size(), buf.size() - 1));
  seq_.fetch_add(1, std::memory_order_acq_rel);
  for (std::size_t i = 0; i < kWords; ++i) {
    std::uint64_t w;
    std::memcpy(&w, buf.data() + i * 8, 8);
    text_[i].store(w, std::memory_order_relaxed);
  }
  seq_.fetch_add(1, std::memory_order_release);
}

std::string HealthCell::reason() const {
  std::array<char, kWords * 8> buf{};
  for (;;) {
    std::uint32_t before = seq_.load(std::memory_order_acquire);
    if (before % 2 != 0) continue;  // a writer is halfway; it is only a few stores
    for (std::size_t i = 0; i < kWords; ++i) {
      std::uint64_t w = text_[i].load(std::memory_order_relaxed);
      std::memcpy(buf.data() + i * 8, &w, 8);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) break;
  }
  return std::string(buf.data(), ::strnlen(buf.data(), buf.size()));
}

}  // namespace lb::balancer
