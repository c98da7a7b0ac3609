#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "lb/metrics/region.hpp"

namespace lb::metrics {

// What /metrics says about one backend besides its counters: health as the balancer sees
// it now.
struct BackendInfo {
  std::string_view name;  // "host:port", the `backend` label
  bool up = true;
  std::uint64_t health_changes = 0;  // up <-> down transitions so far
};

// Appends the Prometheus text exposition (format 0.0.4) of every family, summed over the
// region's workers, to `out`. `backends` is in the region's backend order.
void write_prometheus(const Region& region, std::span<const BackendInfo> backends,
                      std::string_view version, std::string& out);

}  // namespace lb::metrics
