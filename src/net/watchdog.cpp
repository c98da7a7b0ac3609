#include "lb/net/watchdog.hpp"

namespace lb::net {

void Watchdog::arm(asio::ip::tcp::socket& target, Clock::duration timeout) {
  target_ = &target;
  expired_ = false;
  deadline_ = Clock::now() + timeout;
  if (!waiting_ || deadline_ < armed_at_) wait(deadline_);
}

void Watchdog::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  timer_.cancel();
  waiting_ = false;
  target_ = nullptr;
}

void Watchdog::wait(Clock::time_point at) {
  armed_at_ = at;
  waiting_ = true;
  timer_.expires_at(at);
  timer_.async_wait([this, alive = alive_, at](const std::error_code& ec) {
    // A cancelled wait was replaced by a sooner one or by stop(); only the latest counts.
    if (!*alive || at != armed_at_) return;
    waiting_ = false;
    if (ec) return;
    if (deadline_ == Clock::time_point::max()) return;
    if (Clock::now() < deadline_) {
      wait(deadline_);
      return;
    }
    expired_ = true;
    deadline_ = Clock::time_point::max();
    if (target_ != nullptr) {
      std::error_code ignored;
      target_->cancel(ignored);
    }
  });
}

}  // namespace lb::net
