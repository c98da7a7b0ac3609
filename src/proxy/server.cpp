#include "lb/proxy/server.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>

#include "lb/metrics/region.hpp"
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

asio::awaitable<void> accept_loop(Worker& w, tcp::acceptor& acceptor, bool admin) {
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
    asio::co_spawn(w.io, serve(w, std::move(socket), admin), asio::detached);
  }
}

asio::awaitable<void> prune_loop(Worker& w) {
  Worker::LoopTimer timer(w);
  auto period = std::clamp<std::chrono::steady_clock::duration>(
      w.config->timeouts.idle / 2, std::chrono::milliseconds(100), std::chrono::seconds(5));
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(kToken);
    if (ec || w.draining) co_return;
    w.pool.prune(std::chrono::steady_clock::now());
  }
}

// The --trace and --tls-trace loggers (one sink: stderr or --trace-file) and the key log.
void set_up_tracing(Worker& w) {
  const auto& t = w.config->trace;
  if (t.hex || t.tls) {
    spdlog::sink_ptr sink;
    if (t.file.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      // Opened here first: spdlog would create missing directories instead of failing.
      std::FILE* f = std::fopen(t.file.c_str(), "a");
      if (f == nullptr) {
        throw std::runtime_error("--trace-file " + t.file + ": " + std::strerror(errno));
      }
      std::fclose(f);
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(t.file);
    }
    auto make = [&](const char* name) {
      auto logger = std::make_shared<spdlog::logger>(name, sink);
      logger->set_pattern("%H:%M:%S.%f %v");
      logger->set_level(w.config->log_level == config::LogLevel::debug ? spdlog::level::debug
                                                                       : spdlog::level::info);
      logger->flush_on(spdlog::level::debug);
      return logger;
    };
    if (t.hex) w.trace_log = make("trace");
    if (t.tls) w.tls_log = make("tls_trace");
  }
  std::string keylog = w.config->tls.keylog_file;
  if (keylog.empty()) {
    const char* env = std::getenv("SSLKEYLOGFILE");
    if (env != nullptr) keylog = env;
  }
  if (!keylog.empty()) {
    try {
      w.keylog = std::make_unique<trace::KeyLog>(keylog);
    } catch (const std::system_error& e) {
      throw std::runtime_error(
          std::string(w.config->tls.keylog_file.empty() ? "SSLKEYLOGFILE " : "--keylog ") +
          e.what());
    }
    w.log->warn("writing TLS session secrets of backend connections to {}", keylog);
  }
}

// Graceful stop (SIGTERM, SIGINT): no new connections, idle ones closed, the others closed
// after their current response. Returns true when everything finished within
// --drain-timeout, so that the loop runs out of work; false when connections remain.
asio::awaitable<bool> drain(Worker& w, tcp::acceptor& acceptor, tcp::acceptor& admin) {
  w.begin_drain();
  std::error_code ec;
  acceptor.close(ec);
  admin.close(ec);
  for (Session* s : w.sessions) s->close_if_idle();
  auto timeout = w.config->timeouts.drain;
  w.log->info("stopping: no new connections, {} open, waiting up to {}ms for them",
              w.sessions.size(), timeout.count());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!w.sessions.empty() && std::chrono::steady_clock::now() < deadline) {
    co_await w.drained.wait(deadline);
  }
  if (!w.sessions.empty()) {
    w.log->warn("stopping: {} connections still open after {}ms, closing them", w.sessions.size(),
                timeout.count());
    co_return false;
  }
  w.pool.clear();  // idle backend connections, HTTP/2 ones included
  w.log->info("stopped: every connection finished");
  co_return true;
}

// A listening socket handed over as a descriptor (inherited from the master, or a copy).
void adopt_listener(tcp::acceptor& acceptor, int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  acceptor.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
}

std::shared_ptr<spdlog::logger> make_logger(const config::Config& cfg) {
  auto log = spdlog::get("lb");
  if (!log) log = spdlog::stderr_color_mt("lb");
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log->set_level(to_spdlog(cfg.log_level));
  log->flush_on(spdlog::level::info);
  return log;
}

// One line on stderr and nullopt when a backend's name does not resolve.
std::optional<Endpoints> resolve_backends(const config::Config& cfg) {
  Endpoints endpoints;
  for (const auto& b : cfg.backends) {
    std::error_code ec;
    auto eps = net::resolve(b.host, b.port, ec);
    if (ec || eps.empty()) {
      std::fprintf(stderr, "load_balancer: backend %s: cannot resolve host: %s\n", b.name().c_str(),
                   ec ? ec.message().c_str() : "no addresses");
      return std::nullopt;
    }
    endpoints.push_back(std::move(eps));
  }
  return endpoints;
}

// The main listening socket and, with --admin, the admin one (closed otherwise); one line
// on stderr and false when one cannot be opened.
bool open_listeners(asio::io_context& io, const config::Config& cfg, tcp::acceptor& main,
                    tcp::acceptor& admin) {
  try {
    main = net::listen(io, cfg.listen, cfg.port);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "load_balancer: cannot listen on %s port %u: %s\n", cfg.listen.c_str(),
                 static_cast<unsigned>(cfg.port), e.code().message().c_str());
    return false;
  }
  if (!cfg.admin) return true;
  try {
    admin = net::listen(io, cfg.admin_listen, cfg.admin_port);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "load_balancer: cannot listen on %s port %u (--admin): %s\n",
                 cfg.admin_listen.c_str(), static_cast<unsigned>(cfg.admin_port),
                 e.code().message().c_str());
    return false;
  }
  return true;
}

// Tracing and TLS clients; one line on stderr and false when a file cannot be used.
bool prepare(Worker& w) {
  try {
    set_up_tracing(w);
    w.make_tls_clients();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_balancer: %s\n", e.what());
    return false;
  }
  return true;
}

void log_startup(const Worker& w, const tcp::acceptor& main, const tcp::acceptor& admin,
                 const std::string& mode) {
  const auto& cfg = *w.config;
  auto& log = *w.log;
  if (cfg.tls.insecure) {
    log.warn(
        "--insecure: TLS certificates of backends are NOT verified; anyone on the path "
        "can impersonate them");
  }
  for (std::size_t i = 0; i < w.backends.size(); ++i) {
    if (!w.tls[i]) continue;
    const auto& tls = *w.tls[i];
    log.info("backend {}: TLS, {}", w.name(i),
             tls.verifies() ? "verifying the certificate for " + tls.name()
                            : "certificate NOT verified (" + std::string(tls.disabled_by()) + ")");
  }
  if (cfg.default_backends) {
    log.info("no backend given: using the bundled backends 127.0.0.1:9001 and 127.0.0.1:9002");
  }
  for (const auto& b : w.backends) log.info("backend {} weight {}", b.spec().name(), b.weight());
  log.info("listening on {} (strategy {}, {})", net::endpoint_text(main.local_endpoint()),
           config::to_string(cfg.strategy), mode);
  if (cfg.admin) {
    log.info("metrics on http://{}/metrics (--admin)", net::endpoint_text(admin.local_endpoint()));
  }
  if (cfg.health.active) {
    log.info("health checks: GET {} every {}ms, timeout {}ms, fall {}, rise {}", cfg.health.path,
             cfg.health.interval.count(), cfg.health.timeout.count(), cfg.health.fall,
             cfg.health.rise);
  } else {
    log.info("health checks: passive only (fall {}, rise {}, trial after {}ms)", cfg.health.fall,
             cfg.health.rise, cfg.health.interval.count());
  }
}

// Serves until a signal stops it (see README "Stopping"); the process exit status.
// `startup_mode`: log the start-up lines, once the signals are handled (so that whoever
// waits for "listening on" may signal at once).
int serve_until_stopped(asio::io_context& io, Worker& worker, tcp::acceptor& acceptor,
                        tcp::acceptor& admin, bool run_probes, const char* startup_mode) {
  auto& log = worker.log;
  const auto& cfg = worker.config;
  asio::co_spawn(io, accept_loop(worker, acceptor, false), asio::detached);
  if (cfg->admin) asio::co_spawn(io, accept_loop(worker, admin, true), asio::detached);
  asio::co_spawn(io, prune_loop(worker), asio::detached);
  if (cfg->health.active && run_probes) {
    for (std::size_t i = 0; i < worker.backends.size(); ++i) {
      asio::co_spawn(io, probe_loop(worker, i), asio::detached);
    }
  }
  // SIGTERM and SIGINT drain; SIGQUIT (or a drain that timed out) stops at once; SIGHUP is
  // reserved for reloading the config.
  bool immediate = false;
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGQUIT);
  signals.add(SIGHUP);
  std::function<void(const std::error_code&, int)> on_signal = [&](const std::error_code& ec,
                                                                   int sig) {
    if (ec) return;
    if (sig == SIGQUIT) {
      log->info("signal {} (SIGQUIT): stopping now", sig);
      immediate = true;
      io.stop();
      return;
    }
    // Listening again first: the drain may finish (and cancel this) before co_spawn returns.
    signals.async_wait(on_signal);
    if (sig == SIGHUP) {
      log->warn("signal {} (SIGHUP): config reload is not available yet; ignored", sig);
    } else if (!worker.draining) {
      log->info("signal {}: stopping gracefully", sig);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            bool clean = co_await drain(worker, acceptor, admin);
            if (!clean) {
              immediate = true;
              io.stop();
            }
            signals.cancel();
          },
          asio::detached);
    }
  };
  signals.async_wait(on_signal);
  if (startup_mode != nullptr) log_startup(worker, acceptor, admin, startup_mode);
  io.run();
  if (immediate) {
    // Sessions still hold the loop and the worker; ending here skips tearing them down.
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  return 0;
}

}  // namespace

int run_single_process(std::shared_ptr<const config::Config> cfg) {
  auto log = make_logger(*cfg);
  auto endpoints = resolve_backends(*cfg);
  if (!endpoints) return 2;
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  tcp::acceptor admin(io);
  if (!open_listeners(io, *cfg, acceptor, admin)) return 1;
  metrics::LocalRegion region(1, cfg->backends.size());
  Worker worker(io, cfg, std::move(*endpoints));
  worker.log = log;
  worker.attach_metrics(region.region(), 0);
  if (!prepare(worker)) return 2;
  return serve_until_stopped(io, worker, acceptor, admin, true, "single process");
}

std::optional<Endpoints> check_startup(std::shared_ptr<const config::Config> cfg) {
  make_logger(*cfg);
  auto endpoints = resolve_backends(*cfg);
  if (!endpoints) return std::nullopt;
  asio::io_context io(1);
  metrics::LocalRegion region(1, cfg->backends.size());
  Worker worker(io, cfg, *endpoints);
  worker.log = spdlog::get("lb");
  worker.attach_metrics(region.region(), 0);
  if (!prepare(worker)) return std::nullopt;
  return endpoints;
}

int run_worker_process(std::shared_ptr<const config::Config> cfg, const WorkerPlan& plan) {
  auto log = make_logger(*cfg);
  // Which worker said it; the master's own lines have no such mark.
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ w" + std::to_string(plan.slot) + " %v");
  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  tcp::acceptor admin(io);
  adopt_listener(acceptor, plan.listen_fd);
  if (plan.admin_fd >= 0) adopt_listener(admin, plan.admin_fd);
  Worker worker(io, cfg, plan.endpoints);
  worker.log = log;
  worker.attach_metrics(*plan.region, plan.slot);
  worker.share_state(plan.health, *plan.rotation);
  if (!prepare(worker)) return 2;
  return serve_until_stopped(io, worker, acceptor, admin, plan.run_probes, nullptr);
}

void log_master_startup(std::shared_ptr<const config::Config> cfg, int listen_fd, int admin_fd,
                        unsigned workers) {
  asio::io_context io(1);
  // Copies of the master's sockets, for their addresses only.
  tcp::acceptor main(io), admin(io);
  adopt_listener(main, ::dup(listen_fd));
  if (admin_fd >= 0) adopt_listener(admin, ::dup(admin_fd));
  Worker worker(io, cfg, {});
  worker.log = spdlog::get("lb");
  worker.make_tls_clients();
  log_startup(worker, main, admin, std::to_string(workers) + " worker processes");
}

}  // namespace lb::proxy
