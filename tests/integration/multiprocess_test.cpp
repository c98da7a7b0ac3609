// --mode mp: a master and worker processes that act as one balancer: one rotation, one
// health view, one set of metrics; workers replaced when they die, never orphaned.

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {
namespace {

std::vector<std::string> mp(int workers, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--mode", "mp", "-w", std::to_string(workers)};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The pids whose parent is `parent` (from /proc).
std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == parent &&
        state != 'Z') {
      out.insert(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return out;
}

std::set<pid_t> wait_for_workers(pid_t master, std::size_t n) {
  for (auto deadline = Clock::now() + kTimeout; Clock::now() < deadline;) {
    auto c = children_of(master);
    if (c.size() == n) return c;
    std::this_thread::sleep_for(5ms);
  }
  return children_of(master);
}

double metric_sum(const std::string& text, const std::string& prefix) {
  double total = 0;
  for (const auto& line : split_lines(text)) {
    if (line.rfind(prefix, 0) == 0) total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

TEST(MultiProcess, RoundRobinStaysEvenAcrossWorkers) {
  auto a = start_fault({"--id", "a"});
  auto b = start_fault({"--id", "b"});
  auto lb = start_balancer({backend_arg(a->port()), backend_arg(b->port())}, mp(2));
  ASSERT_EQ(wait_for_workers(lb->pid(), 2).size(), 2u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(http_get(url(lb->port())).status, 200) << i;
  long na = fault_stats(a->port())["requests"];
  long nb = fault_stats(b->port())["requests"];
  EXPECT_EQ(na + nb, 1000);
  EXPECT_NEAR(na, 500, 2) << "a " << na << ", b " << nb;
}

TEST(MultiProcess, OneWorkerSeeingABackendFailMakesEveryWorkerAvoidIt) {
  auto broken = start_fault({"--mode", "reset"});
  auto fine = start_fault({"--id", "fine"});
  auto lb = start_balancer({backend_arg(broken->port()), backend_arg(fine->port())}, mp(2));
  ASSERT_EQ(wait_for_workers(lb->pid(), 2).size(), 2u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(http_get(url(lb->port())).status, 200) << i;
  // fall 3 counts failures from both workers together: three resets, one state change.
  EXPECT_EQ(fault_stats(broken->port())["resets"], 3);
  EXPECT_EQ(lb->log_count(" is down: "), 1u) << lb->log();
}

TEST(MultiProcess, ActiveProbesRunOnceNotOncePerWorker) {
  auto down = start_fault({"--mode", "down"});
  auto lb =
      start_balancer({backend_arg(down->port())},
                     mp(4, {"--health-path", "/health", "--health-interval", "1h", "--fall", "1"}));
  ASSERT_EQ(wait_for_workers(lb->pid(), 4).size(), 4u);
  ASSERT_TRUE(lb->wait_for_log(" is down: 1 failure")) << lb->log();
  for (int i = 0; i < 20; ++i) http_get(url(lb->port()));
  EXPECT_EQ(fault_stats(down->port())["by_path"]["/health"], 1);
}

TEST(MultiProcess, KilledWorkerIsReplacedAndMetricsCountEveryCompletedRequest) {
  auto a = start_backend(1);
  auto b = start_backend(2);
  auto lb =
      start_balancer({backend_arg(a->wait_for_port()), backend_arg(b->wait_for_port())}, mp(2));
  auto workers = wait_for_workers(lb->pid(), 2);
  ASSERT_EQ(workers.size(), 2u);
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      for (int i = 0; i < 400 && !stop; ++i) {
        auto r = http_get(url(lb->port()));
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  while (ok < 100) std::this_thread::yield();
  ::kill(*workers.begin(), SIGKILL);
  ASSERT_TRUE(lb->wait_for_log("was killed by signal 9")) << lb->log();
  auto replaced = wait_for_workers(lb->pid(), 2);
  for (auto& t : load) t.join();
  EXPECT_EQ(replaced.size(), 2u);
  EXPECT_EQ(replaced.count(*workers.begin()), 0u);
  // Only what was in flight on the killed worker may have failed (a handful at most).
  EXPECT_LE(failed.load(), 4) << "ok " << ok;
  // A request is counted right after its response went out. The killed worker's counts up
  // to its death stay in its slot (the replacement adds to them); it cannot have counted
  // what did not complete, and may have died between sending and counting at most once per
  // client connection it held (4 load threads).
  auto m = http_get(url(lb->port(), "/metrics")).body;
  double counted = metric_sum(m, "lb_requests_total{");
  EXPECT_LE(counted, static_cast<double>(ok.load())) << m;
  EXPECT_GE(counted, static_cast<double>(ok.load() - 4)) << m;
  EXPECT_EQ(metric_sum(m, "lb_worker_restarts_total"), 1);
}

TEST(MultiProcess, AWorkerThatKeepsDyingAtStartIsRestartedWithGrowingBackoff) {
  auto b = start_backend(1);
  auto lb = start_balancer({backend_arg(b->wait_for_port())}, mp(1));
  auto current = wait_for_workers(lb->pid(), 1);
  ASSERT_EQ(current.size(), 1u);
  // Kill each new worker as soon as it is there, four times: it never lives a second.
  for (int kill = 0; kill < 4; ++kill) {
    pid_t victim = *current.begin();
    ::kill(victim, SIGKILL);
    std::set<pid_t> next;
    for (auto deadline = Clock::now() + kTimeout; Clock::now() < deadline;) {
      next = children_of(lb->pid());
      if (next.size() == 1 && !next.count(victim)) break;
      std::this_thread::sleep_for(2ms);
    }
    ASSERT_EQ(next.size(), 1u) << lb->log();
    current = next;
  }
  std::string log = lb->log();
  EXPECT_NE(log.find("was killed by signal 9 (Killed); restarting it\n"), std::string::npos) << log;
  EXPECT_NE(log.find("died 2 times in a row right after starting, restarting it in 100ms"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("died 3 times in a row right after starting, restarting it in 200ms"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("died 4 times in a row right after starting, restarting it in 400ms"),
            std::string::npos)
      << log;
  EXPECT_EQ(http_get(url(lb->port())).status, 200);
}

TEST(MultiProcess, WorkersDieWithTheMaster) {
  auto b = start_backend(1);
  auto lb = start_balancer({backend_arg(b->wait_for_port())}, mp(2));
  auto workers = wait_for_workers(lb->pid(), 2);
  ASSERT_EQ(workers.size(), 2u);
  lb->signal(SIGKILL);
  ASSERT_TRUE(lb->wait_exit(kTimeout));
  for (auto deadline = Clock::now() + kTimeout; Clock::now() < deadline;) {
    bool any = false;
    for (pid_t w : workers) any = any || ::kill(w, 0) == 0;
    if (!any) break;
    std::this_thread::sleep_for(5ms);
  }
  for (pid_t w : workers) EXPECT_NE(::kill(w, 0), 0) << "worker " << w << " outlived the master";
}

TEST(MultiProcess, GracefulStopFinishesRequestsOnEveryWorker) {
  auto fault = start_fault();
  auto lb = start_balancer({backend_arg(fault->port())}, mp(2));
  ASSERT_EQ(wait_for_workers(lb->pid(), 2).size(), 2u);
  std::vector<CurlResponse> rs;
  std::thread load([&] {
    rs = concurrently(
        8, [&](std::size_t) { return CurlRequest{.url = url(lb->port(), "/delay/500")}; });
  });
  EXPECT_TRUE(wait_for_stat(fault->port(), "requests", 8));
  lb->signal(SIGTERM);
  load.join();
  for (const auto& r : rs) EXPECT_EQ(r.status, 200) << r.error;
  auto code = lb->wait_exit(kTimeout);
  ASSERT_TRUE(code) << lb->log();
  EXPECT_EQ(*code, 0);
  EXPECT_NE(lb->log().find("stopped: every worker has exited"), std::string::npos) << lb->log();
}

}  // namespace
}  // namespace it
