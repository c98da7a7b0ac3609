#include "lb/pool/pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace lb::pool {

Pool::Pool(std::size_t backend_count, std::size_t max_idle_per_backend,
           Clock::duration idle_timeout)
    : idle_(backend_count),
      h2_(backend_count),
      max_idle_(max_idle_per_backend),
      idle_timeout_(idle_timeout) {
  for (auto& list : idle_) list.reserve(max_idle_);
}

bool looks_alive(asio::ip::tcp::socket& socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // EOF (0) or stray bytes (>0) both make the connection unusable for a new request.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void Pool::set_metrics(std::vector<metrics::BackendCounters*> counters) {
  metrics_ = std::move(counters);
}

void Pool::publish_idle(std::size_t backend) {
  if (!metrics_.empty()) {
    metrics_[backend]->connections_idle.store(static_cast<std::int64_t>(idle_[backend].size()),
                                              std::memory_order_relaxed);
  }
}

std::unique_ptr<UpstreamConnection> Pool::acquire(std::size_t backend, Clock::time_point now) {
  auto& list = idle_[backend];
  std::unique_ptr<UpstreamConnection> found;
  while (!list.empty() && !found) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (now - conn->idle_since >= idle_timeout_) continue;
    if (looks_alive(conn->stream.socket())) {
      found = std::move(conn);
    } else if (!metrics_.empty()) {
      metrics::add(metrics_[backend]->pool_stale);
    }
  }
  publish_idle(backend);
  return found;
}

void Pool::release(std::unique_ptr<UpstreamConnection> conn, Clock::time_point now) {
  std::size_t backend = conn->backend;
  auto& list = idle_[backend];
  if (list.size() >= max_idle_) return;
  conn->idle_since = now;
  list.push_back(std::move(conn));
  publish_idle(backend);
}

std::size_t Pool::prune(Clock::time_point now) {
  std::size_t closed = 0;
  for (auto& list : idle_) {
    auto keep = list.begin();
    for (auto& conn : list) {
      if (now - conn->idle_since >= idle_timeout_) {
        ++closed;
      } else {
        *keep++ = std::move(conn);
      }
    }
    list.erase(keep, list.end());
  }
  for (std::size_t b = 0; b < idle_.size(); ++b) publish_idle(b);
  return closed;
}

void Pool::clear() {
  for (auto& list : idle_) list.clear();
  for (std::size_t b = 0; b < idle_.size(); ++b) publish_idle(b);
  for (auto& b : h2_) {
    for (auto& conn : b.conns) conn->close("the balancer is shutting down");
    b.conns.clear();
  }
}

void Pool::h2_prune(std::size_t backend) {
  auto& conns = h2_[backend].conns;
  std::erase_if(conns, [](const auto& c) { return !c->usable() && !c->pending(); });
}

std::shared_ptr<H2Connection> Pool::h2_with_capacity(std::size_t backend) {
  h2_prune(backend);
  for (auto& conn : h2_[backend].conns) {
    if (conn->has_capacity()) return conn;
  }
  return nullptr;
}

std::size_t Pool::h2_count(std::size_t backend) {
  h2_prune(backend);
  return h2_[backend].conns.size() + h2_[backend].connecting;
}

std::size_t Pool::h2_pending(std::size_t backend) {
  h2_prune(backend);
  auto& b = h2_[backend];
  return b.connecting +
         static_cast<std::size_t>(std::count_if(b.conns.begin(), b.conns.end(),
                                                [](const auto& c) { return c->pending(); }));
}

void Pool::h2_add(std::shared_ptr<H2Connection> conn) {
  h2_[conn->backend()].conns.push_back(std::move(conn));
}

}  // namespace lb::pool
