#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "lb/balancer/health_cell.hpp"
#include "lb/config/config.hpp"
#include "lb/metrics/region.hpp"

namespace lb::proxy {

// Runs the balancer in this process (--mode sp) until a signal stops it. Returns the
// process exit status; start-up failures print one line and return non-zero.
int run_single_process(std::shared_ptr<const config::Config> config);

// What the master hands one worker process: its inherited listening sockets and its share
// of the shared state (everything lives as long as the process).
using Endpoints = std::vector<std::vector<asio::ip::tcp::endpoint>>;  // per backend

struct WorkerPlan {
  int listen_fd = -1;
  int admin_fd = -1;    // -1 without --admin
  Endpoints endpoints;  // the backends' addresses, resolved once by the master
  const metrics::Region* region = nullptr;
  std::size_t slot = 0;                    // this worker's metrics slot
  balancer::HealthCell* health = nullptr;  // one per backend
  std::atomic<std::uint64_t>* rotation = nullptr;
  bool run_probes = false;  // the one worker that runs the active health probes
};

// The master's checks before it forks: backends resolve, trace and CA files load. The
// resolved addresses for the workers, or nullopt with one line printed (exit status 2).
std::optional<Endpoints> check_startup(std::shared_ptr<const config::Config> config);
// The master's start-up lines (backends, listening address, health) for its sockets.
void log_master_startup(std::shared_ptr<const config::Config> config, int listen_fd, int admin_fd,
                        unsigned workers);
// A worker process's whole life: serves on the inherited sockets until a signal stops it.
int run_worker_process(std::shared_ptr<const config::Config> config, const WorkerPlan& plan);

}  // namespace lb::proxy
