#pragma once

#include <memory>

#include "lb/config/config.hpp"

namespace lb::process {

// --mode mp: opens the listening sockets and the shared state, forks config.workers worker
// processes (0 = one per CPU core) and supervises them until a signal stops the balancer.
// Never serves a client itself. Returns the exit status; start-up failures print one line.
int run_master(std::shared_ptr<const config::Config> config);

}  // namespace lb::process
