#include "lb/net/event.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace lb::net {

asio::awaitable<void> Event::wait(Clock::time_point deadline) {
  timer_.expires_at(deadline);
  co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

}  // namespace lb::net
