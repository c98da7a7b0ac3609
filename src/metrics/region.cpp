#include "lb/metrics/region.hpp"

#include <new>

namespace lb::metrics {

namespace {

constexpr std::size_t kHeaderBytes = (sizeof(RegionHeader) + 63) / 64 * 64;

void* allocate(std::size_t bytes) { return ::operator new (bytes, std::align_val_t{64}); }

}  // namespace

std::size_t Region::bytes_for(std::size_t workers, std::size_t backends) {
  return kHeaderBytes + workers * (sizeof(WorkerCounters) + backends * sizeof(BackendCounters));
}

std::size_t Region::slot_bytes() const {
  return sizeof(WorkerCounters) + backends_ * sizeof(BackendCounters);
}

Region Region::create(void* memory, std::size_t workers, std::size_t backends) {
  auto* header = new (memory) RegionHeader();
  header->workers = static_cast<std::uint32_t>(workers);
  header->backends = static_cast<std::uint32_t>(backends);
  Region r(memory, workers, backends);
  for (std::size_t w = 0; w < workers; ++w) {
    new (&r.worker(w)) WorkerCounters();
    for (std::size_t b = 0; b < backends; ++b) new (&r.backend(w, b)) BackendCounters();
  }
  header->magic = kMagic;
  return r;
}

WorkerCounters& Region::worker(std::size_t w) const {
  auto* p = static_cast<std::byte*>(base_) + kHeaderBytes + w * slot_bytes();
  return *reinterpret_cast<WorkerCounters*>(p);
}

BackendCounters& Region::backend(std::size_t w, std::size_t b) const {
  auto* p = reinterpret_cast<std::byte*>(&worker(w)) + sizeof(WorkerCounters) +
            b * sizeof(BackendCounters);
  return *reinterpret_cast<BackendCounters*>(p);
}

void LocalRegion::Free::operator()(void* p) const { ::operator delete (p, std::align_val_t{64}); }

LocalRegion::LocalRegion(std::size_t workers, std::size_t backends)
    : memory_(allocate(Region::bytes_for(workers, backends))),
      region_(Region::create(memory_.get(), workers, backends)) {}

}  // namespace lb::metrics
