#include "lb/process/master.hpp"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "lb/net/endpoint.hpp"
#include "lb/process/shared_state.hpp"
#include "lb/proxy/server.hpp"

namespace lb::process {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A worker that dies sooner than this after its start counts as dying at start-up.
constexpr auto kQuickDeath = 1s;
constexpr auto kFirstBackoff = 100ms;
constexpr auto kMaxBackoff = 10s;
// Beyond --drain-timeout, how long the master waits for workers before SIGKILL.
constexpr auto kStopGrace = 5s;

struct WorkerSlot {
  pid_t pid = -1;
  Clock::time_point started{};
  unsigned quick_deaths = 0;       // in a row
  Clock::time_point restart_at{};  // when it is due again (pid == -1)
};

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "ended (status " + std::to_string(status) + ")";
}

// The signals the master handles synchronously (sigtimedwait); workers unblock them.
sigset_t master_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, s);
  return set;
}

class Master {
 public:
  Master(std::shared_ptr<const config::Config> cfg, proxy::Endpoints endpoints, int listen_fd,
         int admin_fd, unsigned n)
      : cfg_(std::move(cfg)),
        endpoints_(std::move(endpoints)),
        log_(spdlog::get("lb")),
        listen_fd_(listen_fd),
        admin_fd_(admin_fd),
        shared_(n, cfg_->backends.size()),
        slots_(n) {}

  int run() {
    for (std::size_t i = 0; i < slots_.size(); ++i) spawn(i);
    sigset_t set = master_signals();
    while (!stopping_ || alive() > 0) {
      timespec wait = next_wait();
      siginfo_t info{};
      int sig = ::sigtimedwait(&set, &info, &wait);
      if (sig == SIGCHLD || sig < 0) {
        reap();
      } else if (sig == SIGHUP) {
        log_->warn("signal {} (SIGHUP): config reload is not available yet; ignored", sig);
      } else {
        stop(sig);
      }
      if (stopping_ && Clock::now() >= kill_at_ && alive() > 0) {
        log_->warn("{} workers still running after the drain timeout; killing them", alive());
        for (auto& s : slots_) {
          if (s.pid > 0) ::kill(s.pid, SIGKILL);
        }
        kill_at_ = Clock::time_point::max();
      }
      if (!stopping_) restart_due();
    }
    log_->info("stopped: every worker has exited");
    return 0;
  }

 private:
  std::size_t alive() const {
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s.pid > 0; }));
  }

  timespec next_wait() const {
    auto until = Clock::now() + 1s;
    for (const auto& s : slots_) {
      if (s.pid < 0 && !stopping_) until = std::min(until, s.restart_at);
    }
    if (stopping_) until = std::min(until, kill_at_);
    auto d = std::max<Clock::duration>(until - Clock::now(), 1ms);
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(d);
    return {static_cast<time_t>(secs.count()),
            static_cast<long>(std::chrono::nanoseconds(d - secs).count())};
  }

  void spawn(std::size_t i) {
    auto& slot = slots_[i];
    spdlog::default_logger()->flush();
    log_->flush();
    pid_t master = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      log_->error("worker {}: fork failed: {}; trying again in 1s", i, std::strerror(errno));
      slot.restart_at = Clock::now() + 1s;
      return;
    }
    if (pid == 0) {
      // The worker dies with the master, even when the master is SIGKILLed.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != master) ::_exit(0);
      std::signal(SIGHUP, SIG_IGN);  // until the worker's loop handles it
      sigset_t set = master_signals();
      ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
      // Counters live on in the slot; the gauges were the dead worker's and are reset.
      auto& w = shared_.metrics().worker(i);
      w.client_connections.store(0);
      for (std::size_t b = 0; b < shared_.metrics().backends(); ++b) {
        shared_.metrics().backend(i, b).connections_open.store(0);
        shared_.metrics().backend(i, b).connections_idle.store(0);
      }
      proxy::WorkerPlan plan{.listen_fd = listen_fd_,
                             .admin_fd = admin_fd_,
                             .endpoints = endpoints_,
                             .region = &shared_.metrics(),
                             .slot = i,
                             .health = &shared_.health(0),
                             .rotation = &shared_.rotation(),
                             .run_probes = i == 0};
      int status = proxy::run_worker_process(cfg_, plan);
      spdlog::shutdown();
      std::fflush(nullptr);
      ::_exit(status);
    }
    slot.pid = pid;
    slot.started = Clock::now();
    log_->info("worker {} started (pid {})", i, pid);
  }

  void reap() {
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      auto it =
          std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s.pid == pid; });
      if (it == slots_.end()) continue;
      std::size_t i = static_cast<std::size_t>(it - slots_.begin());
      it->pid = -1;
      if (stopping_) {
        log_->info("worker {} (pid {}) {}", i, pid, exit_text(status));
        continue;
      }
      metrics::add(shared_.metrics().header().worker_restarts);
      bool quick = Clock::now() - it->started < kQuickDeath;
      it->quick_deaths = quick ? it->quick_deaths + 1 : 0;
      // Once may be bad luck; again and again is a worker that cannot start.
      Clock::duration delay = 0ms;
      if (it->quick_deaths > 1) {
        delay = std::min<Clock::duration>(
            kFirstBackoff * (1u << std::min(it->quick_deaths - 2, 10u)), kMaxBackoff);
      }
      it->restart_at = Clock::now() + delay;
      if (delay > 0ms) {
        log_->error(
            "worker {} (pid {}) {}; it died {} times in a row right after starting, "
            "restarting it in {}ms",
            i, pid, exit_text(status), it->quick_deaths,
            std::chrono::duration_cast<std::chrono::milliseconds>(delay).count());
      } else {
        log_->error("worker {} (pid {}) {}; restarting it", i, pid, exit_text(status));
      }
    }
  }

  void restart_due() {
    auto now = Clock::now();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].pid < 0 && slots_[i].restart_at <= now) spawn(i);
    }
  }

  void stop(int sig) {
    if (stopping_ && sig != SIGQUIT) return;
    bool graceful = sig != SIGQUIT;
    log_->info("signal {}: stopping {} ({} workers)", sig, graceful ? "gracefully" : "now",
               alive());
    stopping_ = true;
    kill_at_ = Clock::now() + (graceful ? Clock::duration(cfg_->timeouts.drain) : 0s) + kStopGrace;
    for (auto& s : slots_) {
      if (s.pid > 0) ::kill(s.pid, graceful ? SIGTERM : SIGQUIT);
    }
    // The workers stop accepting; nobody else may (the master never does).
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (admin_fd_ >= 0) ::close(admin_fd_);
    listen_fd_ = admin_fd_ = -1;
  }

  std::shared_ptr<const config::Config> cfg_;
  proxy::Endpoints endpoints_;
  std::shared_ptr<spdlog::logger> log_;
  int listen_fd_;
  int admin_fd_;
  SharedState shared_;
  std::vector<WorkerSlot> slots_;
  bool stopping_ = false;
  Clock::time_point kill_at_ = Clock::time_point::max();
};

}  // namespace

int run_master(std::shared_ptr<const config::Config> cfg) {
  auto endpoints = proxy::check_startup(cfg);
  if (!endpoints) return 2;
  unsigned n = cfg->workers != 0 ? cfg->workers : std::max(1u, std::thread::hardware_concurrency());
  int listen_fd = -1;
  int admin_fd = -1;
  {
    asio::io_context io(1);
    try {
      listen_fd = net::listen(io, cfg->listen, cfg->port).release();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "load_balancer: cannot listen on %s port %u: %s\n", cfg->listen.c_str(),
                   static_cast<unsigned>(cfg->port), e.code().message().c_str());
      return 1;
    }
    if (cfg->admin) {
      try {
        admin_fd = net::listen(io, cfg->admin_listen, cfg->admin_port).release();
      } catch (const std::system_error& e) {
        std::fprintf(stderr, "load_balancer: cannot listen on %s port %u (--admin): %s\n",
                     cfg->admin_listen.c_str(), static_cast<unsigned>(cfg->admin_port),
                     e.code().message().c_str());
        return 1;
      }
    }
  }
  // Blocked before the first fork, so no signal is lost between forks; workers unblock.
  sigset_t set = master_signals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  // An ignored signal is dropped even while blocked; sigtimedwait must see SIGHUP.
  std::signal(SIGHUP, SIG_DFL);
  proxy::log_master_startup(cfg, listen_fd, admin_fd, n);
  try {
    Master master(cfg, std::move(*endpoints), listen_fd, admin_fd, n);
    return master.run();
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "load_balancer: shared memory: %s\n", e.what());
    return 1;
  }
}

}  // namespace lb::process
