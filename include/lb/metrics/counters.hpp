#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace lb::metrics {

// Plain structs of lock-free atomics with no pointers, so that they work the same in one
// process's memory and in a region shared by the master and its workers. Each worker
// writes only its own slot (relaxed adds); whoever serves /metrics sums the slots.

// Upper bounds (seconds) of the latency histograms' buckets, 0.5 ms to 30 s.
inline constexpr std::array<double, 15> kBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

using Counter = std::atomic<std::uint64_t>;
using Gauge = std::atomic<std::int64_t>;  // this worker's share of a gauge

inline void add(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
inline void add(Gauge& g, std::int64_t n) { g.fetch_add(n, std::memory_order_relaxed); }

// Counts per bucket (not cumulative; the last is +Inf) and the sum in nanoseconds.
struct Histogram {
  std::array<Counter, kBuckets.size() + 1> buckets{};
  Counter sum_ns{0};

  void observe(std::chrono::nanoseconds d);
};

// The X-LB-Error codes of replies the balancer makes itself, as an index for counters.
inline constexpr std::array<std::string_view, 19> kErrorCodes = {
    "bad_request",           "request_timeout",   "body_too_large",
    "uri_too_long",          "headers_too_large", "not_implemented",
    "version_not_supported", "connect_failed",    "connect_timeout",
    "bad_response",          "upstream_closed",   "response_timeout",
    "tls_handshake_failed",  "tls_verify_failed", "no_backend",
    "h2_connection_error",   "h2_stream_reset",   "h2_stream_refused",
    "h2_not_negotiated"};
// Index of `code` in kErrorCodes; kErrorCodes.size() for an unknown one ("other").
std::size_t error_index(std::string_view code);

// One worker's counts for one backend.
struct alignas(64) BackendCounters {
  std::array<Counter, 5> responses{};  // by status class: 1xx .. 5xx
  Histogram duration;                  // request start -> response end
  Histogram connect;                   // TCP connect
  Histogram tls_handshake;
  Histogram first_byte;       // request start -> response head
  Counter retries{0};         // attempts again on this backend (stale, refused)
  Counter failovers{0};       // requests that left this backend for another
  Counter pool_reused{0};     // requests sent on a pooled connection
  Counter pool_new{0};        // connections opened
  Counter pool_stale{0};      // pooled connections found closed by the backend
  Counter bytes_received{0};  // from the backend (plaintext)
  Counter bytes_sent{0};      // to the backend (plaintext)
  Gauge connections_open{0};  // this worker's connections to it, HTTP/2 ones included
  Gauge connections_idle{0};  // of those, idle HTTP/1.1 ones in the pool
};

// Adds 1 to a gauge for as long as it lives (a connection that is open); movable.
class GaugeHold {
 public:
  GaugeHold() = default;
  explicit GaugeHold(Gauge& g) : g_(&g) { add(g, 1); }
  GaugeHold(GaugeHold&& o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
  GaugeHold& operator=(GaugeHold&& o) noexcept {
    if (this != &o) {
      release();
      g_ = std::exchange(o.g_, nullptr);
    }
    return *this;
  }
  ~GaugeHold() { release(); }

 private:
  void release() {
    if (g_ != nullptr) add(*g_, -1);
    g_ = nullptr;
  }
  Gauge* g_ = nullptr;
};

// One worker's counts that belong to no backend.
struct alignas(64) WorkerCounters {
  Gauge client_connections{0};
  std::array<Counter, kErrorCodes.size() + 1> errors{};  // by X-LB-Error; last = other
};

}  // namespace lb::metrics
