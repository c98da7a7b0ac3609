#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

namespace lb::net {

// One timeout per connection, for whichever socket operation is pending. Moving the
// deadline later costs no syscall: the timer is only re-armed when it fires early or the
// new deadline is sooner, so per-request deadline updates stay off the kernel's path.
// On expiry the target socket's pending operations complete with operation_aborted and
// expired() turns true. Runs on the connection's loop only.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Watchdog(const asio::any_io_executor& ex) : timer_(ex) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    *alive_ = false;
    timer_.cancel();
  }

  // Arms the watchdog: `target`'s operations are cancelled `timeout` from now.
  void arm(asio::ip::tcp::socket& target, Clock::duration timeout);
  // No deadline until the next arm().
  void disarm() { deadline_ = Clock::time_point::max(); }
  // Cancels the timer; call before the watchdog's owner goes away.
  void stop();

  bool expired() const { return expired_; }

 private:
  void wait(Clock::time_point at);

  asio::steady_timer timer_;
  asio::ip::tcp::socket* target_ = nullptr;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_at_ = Clock::time_point::max();  // timer expiry while waiting
  bool waiting_ = false;
  bool expired_ = false;
  // The timer's handler outlives stop() in asio's queue; it checks this token.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace lb::net
