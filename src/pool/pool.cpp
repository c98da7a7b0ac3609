#include "lb/pool/pool.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace lb::pool {

Pool::Pool(std::size_t backend_count, std::size_t max_idle_per_backend,
           Clock::duration idle_timeout)
    : idle_(backend_count), max_idle_(max_idle_per_backend), idle_timeout_(idle_timeout) {
  for (auto& list : idle_) list.reserve(max_idle_);
}

bool looks_alive(asio::ip::tcp::socket& socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // EOF (0) or stray bytes (>0) both make the connection unusable for a new request.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::unique_ptr<UpstreamConnection> Pool::acquire(std::size_t backend, Clock::time_point now) {
  auto& list = idle_[backend];
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (now - conn->idle_since < idle_timeout_ && looks_alive(conn->stream.socket())) return conn;
  }
  return nullptr;
}

void Pool::release(std::unique_ptr<UpstreamConnection> conn, Clock::time_point now) {
  auto& list = idle_[conn->backend];
  if (list.size() >= max_idle_) return;
  conn->idle_since = now;
  list.push_back(std::move(conn));
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
  return closed;
}

void Pool::clear() {
  for (auto& list : idle_) list.clear();
}

}  // namespace lb::pool
