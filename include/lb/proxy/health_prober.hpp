#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "lb/proxy/worker.hpp"

namespace lb::proxy {

// Active health checks: probes backend `backend` now and then every health.interval, and
// reports each outcome to the worker's health state. Runs until the loop stops.
asio::awaitable<void> probe_loop(Worker& worker, std::size_t backend);

// One probe: connect, GET health.path, read the response head, all within health.timeout.
// nullopt when the status is 2xx or 3xx; otherwise a few words saying what failed.
asio::awaitable<std::optional<std::string>> probe_once(Worker& worker, std::size_t backend);

}  // namespace lb::proxy
