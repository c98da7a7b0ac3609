#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "lb/http1/parser.hpp"
#include "lb/metrics/counters.hpp"
#include "lb/net/stream.hpp"
#include "lb/trace/hex_trace.hpp"
#include "lb/util/buffer.hpp"

namespace lb::pool {

inline constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
inline constexpr std::size_t kMaxResponseHead = 64 * 1024;

// A connection to one backend (plain or TLS) with its read buffer and response parser;
// owned by the request using it, or by the Pool while idle.
struct UpstreamConnection {
  UpstreamConnection(const net::Stream::executor_type& ex, std::size_t backend_index,
                     std::uint64_t conn_id)
      : stream(ex),
        buffer(kUpstreamBufferSize),
        parser(http1::MessageKind::response, {kMaxResponseHead, kMaxResponseHead}),
        backend(backend_index),
        id(conn_id) {}

  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  net::Stream stream;
  util::Buffer buffer;
  http1::Parser parser;
  std::size_t backend;   // index in the worker's BackendSet
  std::uint64_t id;      // "u<id>" in traces
  std::string protocol;  // ALPN result for TLS ("http/1.1"), empty for plain or none
  std::unique_ptr<trace::HexTrace> tap;  // --trace only
  std::chrono::steady_clock::time_point idle_since{};
  unsigned requests = 0;    // requests sent on it; > 0 means it was reused
  metrics::GaugeHold open;  // counts it in its backend's open connections while it lives
  metrics::BackendCounters* counters = nullptr;  // its backend's, for bytes; null = none
};

}  // namespace lb::pool
