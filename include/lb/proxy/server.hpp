#pragma once

#include <memory>

#include "lb/config/config.hpp"

namespace lb::proxy {

// Runs the balancer in this process (--mode sp) until SIGINT or SIGTERM. Returns the
// process exit status; start-up failures print one line and return non-zero.
int run_single_process(std::shared_ptr<const config::Config> config);

}  // namespace lb::proxy
