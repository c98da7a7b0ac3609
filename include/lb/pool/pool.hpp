#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "lb/metrics/counters.hpp"
#include "lb/pool/h2_connection.hpp"
#include "lb/pool/upstream_connection.hpp"

namespace lb::pool {

// Upstream connections kept for reuse, per backend, for one worker loop: idle HTTP/1.1
// keep-alive connections (LIFO, so the warmest is reused and surplus ones age out) and the
// shared HTTP/2 connections with the coroutines waiting for a stream slot on them.
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
  // Counters per backend (in backend order) where the pool keeps the idle gauge and counts
  // stale connections it catches; none by default.
  void set_metrics(std::vector<metrics::BackendCounters*> counters);
  // Closes everything, HTTP/2 connections included.
  void clear();

  // HTTP/2: the first usable connection to `backend` with a free stream slot, or null.
  // Filling the first connection before using the next keeps the count at what the
  // backend's MAX_CONCURRENT_STREAMS requires.
  std::shared_ptr<H2Connection> h2_with_capacity(std::size_t backend);
  // Connections to `backend` still taking streams or becoming ready, and of those the ones
  // still waiting for the backend's SETTINGS; both count connects under way.
  std::size_t h2_count(std::size_t backend);
  std::size_t h2_pending(std::size_t backend);
  void h2_add(std::shared_ptr<H2Connection> conn);
  // A connect for a new HTTP/2 connection is under way while one of these lives, so that
  // requests arriving meanwhile wait for it instead of opening their own.
  class H2Connecting {
   public:
    H2Connecting(Pool& pool, std::size_t backend) : count_(pool.h2_[backend].connecting) {
      ++count_;
    }
    ~H2Connecting() { --count_; }
    H2Connecting(const H2Connecting&) = delete;
    H2Connecting& operator=(const H2Connecting&) = delete;

   private:
    std::size_t& count_;
  };
  SlotWaiters& h2_waiters(std::size_t backend) { return h2_[backend].waiters; }

 private:
  struct H2Backend {
    std::vector<std::shared_ptr<H2Connection>> conns;
    std::size_t connecting = 0;  // H2Connecting alive
    SlotWaiters waiters;
  };
  // Forgets connections that closed or take no new streams (their users keep them alive).
  void h2_prune(std::size_t backend);
  void publish_idle(std::size_t backend);

  std::vector<std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::vector<H2Backend> h2_;
  std::vector<metrics::BackendCounters*> metrics_;
  std::size_t max_idle_;
  Clock::duration idle_timeout_;
};

// True when a connection with no request in flight has nothing to read and is not closed.
bool looks_alive(asio::ip::tcp::socket& socket);

}  // namespace lb::pool
