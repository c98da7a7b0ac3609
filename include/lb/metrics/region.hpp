#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "lb/metrics/counters.hpp"

namespace lb::metrics {

// Counts that belong to the whole balancer, kept by the master (or the single process).
struct alignas(64) RegionHeader {
  std::uint64_t magic = 0;  // kMagic once laid out
  std::uint32_t workers = 0;
  std::uint32_t backends = 0;
  Counter worker_restarts{0};
  Counter reloads_ok{0};
  Counter reloads_failed{0};
};

// The counters of every worker in one block of memory, at offsets computed from the worker
// and backend counts (no pointers inside, so the block may be shared between processes):
// the header, then per worker its WorkerCounters followed by one BackendCounters per backend.
class Region {
 public:
  static constexpr std::uint64_t kMagic = 0x6c622d6d65747231;  // "lb-metr1"

  // Bytes a region for `workers` and `backends` needs (a multiple of 64).
  static std::size_t bytes_for(std::size_t workers, std::size_t backends);
  // Lays out zeroed counters in `memory`: bytes_for() bytes, 64-byte aligned.
  static Region create(void* memory, std::size_t workers, std::size_t backends);

  RegionHeader& header() const { return *static_cast<RegionHeader*>(base_); }
  std::size_t workers() const { return workers_; }
  std::size_t backends() const { return backends_; }
  WorkerCounters& worker(std::size_t w) const;
  BackendCounters& backend(std::size_t w, std::size_t b) const;

 private:
  Region(void* base, std::size_t workers, std::size_t backends)
      : base_(base), workers_(workers), backends_(backends) {}
  std::size_t slot_bytes() const;

  void* base_;
  std::size_t workers_;
  std::size_t backends_;
};

// A region in this process's own memory (single-process mode, tests).
class LocalRegion {
 public:
  LocalRegion(std::size_t workers, std::size_t backends);
  const Region& region() const { return region_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> memory_;
  Region region_;
};

}  // namespace lb::metrics
