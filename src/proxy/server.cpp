#include "lb/proxy/server.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>

#include "lb/net/endpoint.hpp"
#include "lb/proxy/health_prober.hpp"
#include "lb/proxy/session.hpp"
#include "lb/proxy/worker.hpp"

namespace lb::proxy {

namespace {

using asio::ip::tcp;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);

spdlog::level::level_enum to_spdlog(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::err:
      return spdlog::level::err;
    case config::LogLevel::warn:
      return spdlog::level::warn;
    case config::LogLevel::info:
      return spdlog::level::info;
    case config::LogLevel::debug:
      return spdlog::level::debug;
  }
  return spdlog::level::info;
}

asio::awaitable<void> accept_loop(Worker& w, tcp::acceptor& acceptor) {
  asio::steady_timer backoff(w.io);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kToken);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning on the same error.
      w.log->warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kToken);
      continue;
    }
    asio::co_spawn(w.io, serve(w, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> prune_loop(Worker& w) {
  asio::steady_timer timer(w.io);
  auto period = std::clamp<std::chrono::steady_clock::duration>(
      w.config->timeouts.idle / 2, std::chrono::milliseconds(100), std::chrono::seconds(5));
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kToken);
    if (ec) co_return;
    w.pool.prune(std::chrono::steady_clock::now());
  }
}

}  // namespace

int run_single_process(std::shared_ptr<const config::Config> cfg) {
  auto log = spdlog::stderr_color_mt("lb");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log->set_level(to_spdlog(cfg->log_level));
  log->flush_on(spdlog::level::info);

  std::vector<std::vector<tcp::endpoint>> endpoints;
  for (const auto& b : cfg->backends) {
    std::error_code ec;
    auto eps = net::resolve(b.host, b.port, ec);
    if (ec || eps.empty()) {
      std::fprintf(stderr, "load_balancer: backend %s: cannot resolve host: %s\n", b.name().c_str(),
                   ec ? ec.message().c_str() : "no addresses");
      return 2;
    }
    endpoints.push_back(std::move(eps));
  }

  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  try {
    acceptor = net::listen(io, cfg->listen, cfg->port);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "load_balancer: cannot listen on %s port %u: %s\n", cfg->listen.c_str(),
                 static_cast<unsigned>(cfg->port), e.code().message().c_str());
    return 1;
  }

  Worker worker(io, cfg, std::move(endpoints));
  worker.log = log;
  if (cfg->default_backends) {
    log->info("no backend given: using the bundled backends 127.0.0.1:9001 and 127.0.0.1:9002");
  }
  for (const auto& b : worker.backends) {
    log->info("backend {} weight {}", b.spec().name(), b.weight());
  }
  log->info("listening on {} (strategy {}, single process)",
            net::endpoint_text(acceptor.local_endpoint()), config::to_string(cfg->strategy));
  if (cfg->health.active) {
    log->info("health checks: GET {} every {}ms, timeout {}ms, fall {}, rise {}", cfg->health.path,
              cfg->health.interval.count(), cfg->health.timeout.count(), cfg->health.fall,
              cfg->health.rise);
  } else {
    log->info("health checks: passive only (fall {}, rise {}, trial after {}ms)", cfg->health.fall,
              cfg->health.rise, cfg->health.interval.count());
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    log->info("signal {}: stopping", sig);
    io.stop();
  });
  asio::co_spawn(io, accept_loop(worker, acceptor), asio::detached);
  asio::co_spawn(io, prune_loop(worker), asio::detached);
  if (cfg->health.active) {
    for (std::size_t i = 0; i < worker.backends.size(); ++i) {
      asio::co_spawn(io, probe_loop(worker, i), asio::detached);
    }
  }
  io.run();
  return 0;
}

}  // namespace lb::proxy
