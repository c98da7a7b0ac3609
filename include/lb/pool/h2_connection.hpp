#pragma once

#include <spdlog/logger.h>

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lb/http2/client_session.hpp"
#include "lb/http2/frame_trace.hpp"
#include "lb/net/event.hpp"
#include "lb/pool/upstream_connection.hpp"

namespace lb::pool {

// Settings of the HTTP/2 connections of one worker.
struct H2Settings {
  std::chrono::steady_clock::duration idle_timeout;   // no stream for this long: GOAWAY, close
  std::chrono::steady_clock::duration ping_interval;  // silence after which a PING is sent
  std::chrono::steady_clock::duration ping_timeout;   // PING unanswered: the backend is gone
};

// Coroutines waiting for a stream slot on some backend's HTTP/2 connections; each has its
// own Event (Event allows one waiter) and is woken when a slot may have freed up.
class SlotWaiters {
 public:
  void add(net::Event* e) { waiting_.push_back(e); }
  void remove(net::Event* e);
  void notify_all();

 private:
  std::vector<net::Event*> waiting_;
};

// One pooled HTTP/2 connection to a backend: the socket (plain or TLS), the nghttp2 session
// and the two coroutines that move bytes between them; shared by every request with a
// stream on it (shared_ptr) and by the Pool while it is usable. Keeps itself alive with
// PINGs while idle and closes after the idle timeout. Runs on the worker loop only.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  // `trace_log` (nullable) turns on the decoded frame trace; `waiters` (outlives this) are
  // woken when streams close, the connection becomes ready, or it goes away.
  H2Connection(std::unique_ptr<UpstreamConnection> conn, const H2Settings& settings,
               spdlog::logger* trace_log, SlotWaiters& waiters);
  ~H2Connection();

  // Starts reading and writing; the connection holds itself until it closes.
  void start();
  // Stops at once: every open stream fails with `why`.
  void close(std::string_view why);

  http2::ClientSession& session() { return session_; }
  std::size_t backend() const { return conn_->backend; }
  std::uint64_t id() const { return conn_->id; }
  // Open for streams: SETTINGS seen, no GOAWAY, not closed.
  bool usable() const { return !closed_ && session_.ready() && !session_.draining(); }
  // Still becoming usable: connected, waiting for the backend's SETTINGS.
  bool pending() const { return !closed_ && !session_.ready() && !session_.failed(); }
  bool closed() const { return closed_; }
  bool has_capacity() const {
    return usable() && session_.active_streams() < session_.max_concurrent_streams();
  }

 private:
  asio::awaitable<void> read_loop(std::shared_ptr<H2Connection> self);
  asio::awaitable<void> write_loop(std::shared_ptr<H2Connection> self);
  // Idle timeout and PING bookkeeping; returns the next time it wants to run.
  Clock::time_point housekeeping(Clock::time_point now);

  std::unique_ptr<UpstreamConnection> conn_;
  H2Settings settings_;
  std::unique_ptr<http2::FrameTracer> tracer_;
  http2::ClientSession session_;
  SlotWaiters& waiters_;
  net::Event output_;
  std::string out_;  // frames being written
  bool closed_ = false;
  bool writer_done_ = false;
  Clock::time_point last_read_;
  Clock::time_point idle_since_;
  Clock::time_point ping_sent_{};
};

}  // namespace lb::pool
