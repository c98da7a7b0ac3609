#include "lb/metrics/counters.hpp"

#include <algorithm>

namespace lb::metrics {

void Histogram::observe(std::chrono::nanoseconds d) {
  double seconds = std::chrono::duration<double>(d).count();
  auto it = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  add(buckets[static_cast<std::size_t>(it - kBuckets.begin())]);
  add(sum_ns, static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)));
}

std::size_t error_index(std::string_view code) {
  auto it = std::find(kErrorCodes.begin(), kErrorCodes.end(), code);
  return static_cast<std::size_t>(it - kErrorCodes.begin());
}

}  // namespace lb::metrics
