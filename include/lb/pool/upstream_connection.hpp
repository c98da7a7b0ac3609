#pragma once

#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>

#include "lb/http1/parser.hpp"
#include "lb/util/buffer.hpp"

namespace lb::pool {

inline constexpr std::size_t kUpstreamBufferSize = 16 * 1024;
inline constexpr std::size_t kMaxResponseHead = 64 * 1024;

// A connection to one backend with its read buffer and response parser; owned by the
// request using it, or by the Pool while idle.
struct UpstreamConnection {
  UpstreamConnection(asio::ip::tcp::socket s, std::size_t backend_index)
      : socket(std::move(s)),
        buffer(kUpstreamBufferSize),
        parser(http1::MessageKind::response, {kMaxResponseHead, kMaxResponseHead}),
        backend(backend_index) {}

  asio::ip::tcp::socket socket;
  util::Buffer buffer;
  http1::Parser parser;
  std::size_t backend;  // index in the worker's BackendSet
  std::chrono::steady_clock::time_point idle_since{};
  unsigned requests = 0;  // requests sent on it; > 0 means it was reused
};

}  // namespace lb::pool
