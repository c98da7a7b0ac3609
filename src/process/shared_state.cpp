#include "lb/process/shared_state.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <system_error>

namespace lb::process {

namespace {

constexpr std::size_t kAlign = 64;
constexpr std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct alignas(64) Header {
  std::atomic<std::uint64_t> rotation{0};
};

std::size_t health_offset() { return round_up(sizeof(Header)); }
std::size_t metrics_offset(std::size_t backends) {
  return health_offset() + backends * sizeof(balancer::HealthCell);
}

// Shared anonymous memory: a memfd (so that it has a name in /proc/PID/maps for whoever
// debugs it) mapped MAP_SHARED; children of fork() keep the same pages.
void* map_shared(std::size_t bytes) {
  int fd = ::memfd_create("load_balancer-shared", MFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "ftruncate of the shared region");
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);  // the mapping keeps the memory
  if (p == MAP_FAILED) throw std::system_error(e, std::generic_category(), "mmap");
  return p;
}

}  // namespace

SharedState::SharedState(std::size_t workers, std::size_t backends)
    : bytes_(metrics_offset(backends) + metrics::Region::bytes_for(workers, backends)),
      backends_(backends),
      metrics_([&] {
        base_ = map_shared(bytes_);
        return metrics::Region::create(static_cast<std::byte*>(base_) + metrics_offset(backends),
                                       workers, backends);
      }()) {
  new (base_) Header();
  for (std::size_t b = 0; b < backends; ++b) new (&health(b)) balancer::HealthCell();
}

SharedState::~SharedState() { ::munmap(base_, bytes_); }

balancer::HealthCell& SharedState::health(std::size_t backend) const {
  auto* p =
      static_cast<std::byte*>(base_) + health_offset() + backend * sizeof(balancer::HealthCell);
  return *reinterpret_cast<balancer::HealthCell*>(p);
}

std::atomic<std::uint64_t>& SharedState::rotation() const {
  return static_cast<Header*>(base_)->rotation;
}

}  // namespace lb::process
