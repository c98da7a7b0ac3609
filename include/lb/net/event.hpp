#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

namespace lb::net {

// A wake-up for one coroutine that waits for some state to change: it checks the state,
// then wait()s; whoever changes the state calls notify(). A notify() while nobody waits is
// not remembered, so the waiter always re-checks after waking (the single-threaded loop
// makes check-then-wait race free). One waiter at a time: wait() re-arms the timer, which
// would wake another waiter.
class Event {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Event(const asio::any_io_executor& ex) : timer_(ex) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Returns when notified or at `deadline`, whichever comes first.
  asio::awaitable<void> wait(Clock::time_point deadline);
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace lb::net
