#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "lb/pool/upstream_connection.hpp"

namespace lb::pool {

// Idle keep-alive connections per backend, for one worker loop. LIFO, so the warmest
// connection is reused and surplus ones age out.
class Pool {
 public:
  using Clock = std::chrono::steady_clock;

  Pool(std::size_t backend_count, std::size_t max_idle_per_backend, Clock::duration idle_timeout);

  // An idle connection to `backend` that still looks alive, or nullptr. Connections the
  // backend has closed (EOF or stray bytes seen by a non-blocking peek) or that idled past
  // the timeout are closed and skipped.
  std::unique_ptr<UpstreamConnection> acquire(std::size_t backend, Clock::time_point now);

  // Keeps `conn` for reuse; closes it when the backend's idle list is full.
  void release(std::unique_ptr<UpstreamConnection> conn, Clock::time_point now);

  // Closes connections idle past the timeout. Returns how many were closed.
  std::size_t prune(Clock::time_point now);

  std::size_t idle_count(std::size_t backend) const { return idle_[backend].size(); }
  void clear();

 private:
  std::vector<std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::size_t max_idle_;
  Clock::duration idle_timeout_;
};

// True when a connection with no request in flight has nothing to read and is not closed.
bool looks_alive(asio::ip::tcp::socket& socket);

}  // namespace lb::pool
