#include "lb/proxy/worker.hpp"

#include <random>

#include "lb/metrics/prometheus.hpp"

namespace lb::proxy {

Worker::Worker(asio::io_context& io_ctx, std::shared_ptr<const config::Config> cfg,
               std::vector<std::vector<asio::ip::tcp::endpoint>> eps)
    : io(io_ctx),
      config(std::move(cfg)),
      endpoints(std::move(eps)),
      strategy(balancer::make_strategy(config->strategy, config->backends.size(),
                                       std::random_device{}())),
      pool(config->backends.size(), config->limits.max_idle_per_backend, config->timeouts.idle),
      alpn_h2(config->backends.size(), false),
      drained(io_ctx.get_executor()) {
  // PINGs on an idle HTTP/2 connection notice a dead backend before a request does.
  auto idle = config->timeouts.idle;
  h2 = {idle, std::min<std::chrono::steady_clock::duration>(idle / 2, std::chrono::seconds(30)),
        std::max<std::chrono::steady_clock::duration>(config->timeouts.connect,
                                                      std::chrono::seconds(1))};
  health.fall = config->health.fall;
  health.rise = config->health.rise;
  health.active = config->health.active;
  health.retry_after = config->health.interval;
  backends.reserve(config->backends.size());
  for (std::size_t i = 0; i < config->backends.size(); ++i) {
    backends.emplace_back(i, config->backends[i]);
    authorities.push_back(config->backends[i].authority());
    names.push_back(config->backends[i].name());
  }
}

Worker::LoopTimer::LoopTimer(Worker& w) : asio::steady_timer(w.io), w_(w) {
  w_.loop_timers.push_back(this);
}

Worker::LoopTimer::~LoopTimer() { std::erase(w_.loop_timers, this); }

void Worker::begin_drain() {
  draining = true;
  for (LoopTimer* t : loop_timers) t->cancel();
}

void Worker::attach_metrics(const metrics::Region& r, std::size_t slot) {
  region = &r;
  counters = &r.worker(slot);
  backend_counters.clear();
  for (std::size_t i = 0; i < backends.size(); ++i) {
    backend_counters.push_back(&r.backend(slot, i));
  }
  pool.set_metrics(backend_counters);
}

void Worker::share_state(balancer::HealthCell* cells, std::atomic<std::uint64_t>& rotation) {
  for (std::size_t i = 0; i < backends.size(); ++i) backends[i].share(cells[i]);
  strategy->share(rotation);
}

void Worker::write_metrics(std::string& out) const {
  std::vector<metrics::BackendInfo> info;
  info.reserve(backends.size());
  for (std::size_t i = 0; i < backends.size(); ++i) {
    info.push_back({names[i], !backends[i].is_down(), backends[i].transitions()});
  }
  metrics::write_prometheus(*region, info, LB_VERSION, out);
}

void Worker::make_tls_clients() {
  net::TlsTracing tracing{tls_log.get(), keylog.get()};
  tls.clear();
  bool any = false;
  for (const auto& b : config->backends) {
    any = any || b.tls.enabled;
    tls.push_back(b.tls.enabled
                      ? std::make_unique<net::TlsClient>(b, config->tls, tracing, b.alpn())
                      : nullptr);
  }
  if (!any && !config->tls.ca_file.empty()) {
    // Unused now, but a mistake in it should not wait for the first TLS backend to show.
    asio::ssl::context probe(asio::ssl::context::tls_client);
    net::load_ca_file(probe, config->tls.ca_file, "--ca ");
  }
}

void Worker::report_success(std::size_t i) {
  auto& b = backends[i];
  if (b.record_success(health) == balancer::Transition::went_up) {
    log->warn("backend {} is up: {} consecutive successes (state change {})", name(i), health.rise,
              b.transitions());
  }
}

void Worker::report_failure(std::size_t i, std::string_view what) {
  auto& b = backends[i];
  if (b.record_failure(std::chrono::steady_clock::now(), health, what) ==
      balancer::Transition::went_down) {
    log->warn("backend {} is down: {} (state change {})", name(i), b.down_reason(),
              b.transitions());
  }
}

}  // namespace lb::proxy
