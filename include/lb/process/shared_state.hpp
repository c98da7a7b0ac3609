#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lb/balancer/health_cell.hpp"
#include "lb/metrics/region.hpp"

namespace lb::process {

// The one region of memory the master creates before forking its workers (memfd + mmap,
// MAP_SHARED, so it is inherited and stays shared): every backend's health, the round-robin
// cursor, and the metrics region with one slot per worker. Plain structs at computed
// offsets; nothing in it points anywhere.
class SharedState {
 public:
  // Throws std::system_error when the memory cannot be had.
  SharedState(std::size_t workers, std::size_t backends);
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  balancer::HealthCell& health(std::size_t backend) const;
  std::atomic<std::uint64_t>& rotation() const;  // the round-robin cursor
  const metrics::Region& metrics() const { return metrics_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t backends_;
  metrics::Region metrics_;
};

}  // namespace lb::process
