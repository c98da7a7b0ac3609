#pragma once

#include <spdlog/logger.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lb/balancer/backend.hpp"
#include "lb/balancer/strategy.hpp"
#include "lb/config/config.hpp"
#include "lb/metrics/region.hpp"
#include "lb/net/event.hpp"
#include "lb/net/tls_client.hpp"
#include "lb/pool/pool.hpp"
#include "lb/trace/keylog.hpp"

namespace lb::proxy {

class Session;

// Everything one event loop needs to serve requests, passed by reference to each client
// session. Single-threaded: only the loop that owns it touches it.
struct Worker {
  Worker(asio::io_context& io, std::shared_ptr<const config::Config> cfg,
         std::vector<std::vector<asio::ip::tcp::endpoint>> endpoints);

  asio::io_context& io;
  std::shared_ptr<const config::Config> config;
  std::vector<balancer::Backend> backends;
  std::vector<std::vector<asio::ip::tcp::endpoint>> endpoints;  // per backend, resolved
  std::vector<std::string> authorities;                         // per backend, for Host
  std::vector<std::string> names;                               // per backend, host:port
  std::unique_ptr<balancer::Strategy> strategy;
  balancer::HealthPolicy health;
  pool::Pool pool;
  std::shared_ptr<spdlog::logger> log;
  // Wire debugging, each null when off: --trace blocks, --tls-trace reports, the key log.
  std::shared_ptr<spdlog::logger> trace_log;
  std::shared_ptr<spdlog::logger> tls_log;
  std::unique_ptr<trace::KeyLog> keylog;
  std::vector<std::unique_ptr<net::TlsClient>> tls;  // per backend; null for plain ones
  // Per backend: its last TLS handshake chose h2 (ALPN), for proto=auto backends.
  std::vector<bool> alpn_h2;
  pool::H2Settings h2;
  // This worker's slot in the metrics region: its own counters and one set per backend.
  const metrics::Region* region = nullptr;
  metrics::WorkerCounters* counters = nullptr;
  std::vector<metrics::BackendCounters*> backend_counters;
  // Open client sessions; each keeps its index here (Session's constructor and destructor).
  std::vector<Session*> sessions;
  // Graceful stop under way: sessions close after their current response; `drained` is
  // notified when the last one has gone.
  bool draining = false;
  net::Event drained;
  // The timers the background loops (prune, probes) sleep on: a stop cancels them, and the
  // loops, seeing `draining`, end. A LoopTimer registers itself for its lifetime.
  class LoopTimer : public asio::steady_timer {
   public:
    explicit LoopTimer(Worker& w);
    ~LoopTimer();
    LoopTimer(const LoopTimer&) = delete;
    LoopTimer& operator=(const LoopTimer&) = delete;

   private:
    Worker& w_;
  };
  std::vector<LoopTimer*> loop_timers;
  // Starts a graceful stop of this loop's work: `draining`, loop timers cancelled.
  void begin_drain();
  std::uint64_t last_client_id = 0;    // "c<N>" in traces
  std::uint64_t last_upstream_id = 0;  // "u<N>"

  // Writes into slot `slot` of `region` from now on (before serving anything); the region
  // must outlive the worker.
  void attach_metrics(const metrics::Region& region, std::size_t slot);
  metrics::BackendCounters& counters_of(std::size_t i) const { return *backend_counters[i]; }
  // Health (one cell per backend) and the round-robin rotation shared with the other
  // worker processes from now on.
  void share_state(balancer::HealthCell* cells, std::atomic<std::uint64_t>& rotation);
  // Appends the Prometheus text of the whole region (all workers) with this worker's view
  // of health.
  void write_metrics(std::string& out) const;

  // Creates the TLS clients of the TLS backends, once the loggers and key log are set.
  // Throws std::runtime_error with one line when a CA file cannot be loaded.
  void make_tls_clients();

  // Whether requests to backend i go over HTTP/2: h2c:// or proto=h2, or TLS whose ALPN
  // picked h2 last time.
  bool uses_h2(std::size_t i) const {
    return config->backends[i].protocol == config::Protocol::h2 || alpn_h2[i];
  }

  // Feed an outcome of a request or probe to backend i's health; a state change logs one
  // warn line (backend, new state, reason, how many changes so far).
  void report_success(std::size_t i);
  void report_failure(std::size_t i, std::string_view what);
  // Backend i's name for logs and replies: "host:port".
  const std::string& name(std::size_t i) const { return names[i]; }
};

}  // namespace lb::proxy
