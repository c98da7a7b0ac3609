// Health checking, failover and retries through the real balancer: active probes with
// exact fall/rise thresholds, passive health from real traffic, the all-down fallback and
// its 503, and which requests are retried on another backend.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "harness.hpp"

namespace it {
namespace {

// Positions of every occurrence of `needle` in `text`.
std::vector<std::size_t> positions(const std::string& text, std::string_view needle) {
  std::vector<std::size_t> out;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
    out.push_back(p);
  }
  return out;
}

std::string status_response(int status) {
  std::string body = std::to_string(status) + "\n";
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A backend whose /health answers follow `statuses` (the last one repeats); every other
// request gets 200.
class ProbedUpstream {
 public:
  explicit ProbedUpstream(std::vector<int> statuses)
      : statuses_(std::move(statuses)), up_([this](ScriptedConn& c) {
          while (auto rq = c.read_request()) {
            if (rq->target == "/health") {
              std::size_t i = std::min(probes_++, statuses_.size() - 1);
              c.send(status_response(statuses_[i]));
            } else {
              c.send(ok_response("data"));
            }
          }
        }) {}
  std::string backend() const { return up_.backend(); }
  std::size_t probes() const { return probes_.load(); }

 private:
  std::vector<int> statuses_;
  std::atomic<std::size_t> probes_{0};
  ScriptedUpstream up_;
};

TEST(ActiveHealth, FlappingBackendRespectsFallAndRiseExactly) {
  // Probe:   1   2   3   4   5    6   7   8   9   10...
  // Status:  200 500 200 500 500  200 500 200 200 200
  // fall 2:                  ^down            ^up (rise 2)
  ProbedUpstream up({200, 500, 200, 500, 500, 200, 500, 200, 200, 200});
  auto lb = start_balancer(
      {up.backend()}, {"--health-path", "/health", "--health-interval", "20ms", "--health-timeout",
                       "2s", "--fall", "2", "--rise", "2", "-l", "debug"});
  const std::string name = up.backend();
  ASSERT_TRUE(lb->wait_for_log("backend " + name + " is up")) << lb->log();
  std::string log = lb->log();
  auto fails = positions(log, "health check: HTTP 500");
  auto downs = positions(log, "backend " + name + " is down: ");
  auto ups = positions(log, "backend " + name + " is up: ");
  ASSERT_EQ(downs.size(), 1u) << log;
  ASSERT_EQ(ups.size(), 1u) << log;
  // The failure debug lines come from probes 2, 4, 5 and 7: down right after the third,
  // (probe 5), up after probes 8 and 9, i.e. after the fourth failure line.
  ASSERT_GE(fails.size(), 4u) << log;
  EXPECT_GT(downs[0], fails[2]) << log;
  EXPECT_LT(downs[0], fails[3]) << log;
  EXPECT_GT(ups[0], fails[3]) << log;
  EXPECT_NE(log.find("is down: 2 consecutive failures: health check: HTTP 500 (state change 1)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("is up: 2 consecutive successes (state change 2)"), std::string::npos) << log;
  EXPECT_GE(up.probes(), 9u);
}

TEST(ActiveHealth, KillingOneOfTwoBackendsUnderTrafficLosesNoRequest) {
  auto b1 = start_backend(1);
  auto b2 = std::make_unique<Process>(
      "backend2", std::vector<std::string>{"--port", "0", "--listen", "127.0.0.1"});
  std::uint16_t port2 = b2->wait_for_port();
  const auto interval = 300ms;
  auto lb = start_balancer({backend_arg(b1->port()), backend_arg(port2)},
                           {"--health-interval", "300ms", "--health-timeout", "1s"});
  const std::string name2 = backend_arg(port2);

  int errors = 0;
  std::string first_error;
  auto traffic = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto r = http_get(url(lb->port(), "/"));
      if (r.status != 200) {
        if (errors++ == 0) first_error = std::to_string(r.status) + " " + r.body + r.error;
      }
    }
  };
  traffic(20);
  b2->terminate();
  traffic(50);
  ASSERT_TRUE(lb->wait_for_log("backend " + name2 + " is down: ")) << lb->log();
  traffic(20);
  EXPECT_EQ(errors, 0) << first_error << "\n" << lb->log();

  // Back on the same port: up again within two probe intervals (rise 2), plus slack for
  // the probes themselves on a loaded machine.
  auto restarted_at = Clock::now();
  auto again = std::make_unique<Process>(
      "backend2",
      std::vector<std::string>{"--port", std::to_string(port2), "--listen", "127.0.0.1"});
  again->wait_for_port();
  ASSERT_TRUE(lb->wait_for_log("backend " + name2 + " is up: ")) << lb->log();
  EXPECT_LT(Clock::now() - restarted_at, 2 * interval + 700ms);
  int from_b2 = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = http_get(url(lb->port(), "/"));
    EXPECT_EQ(r.status, 200);
    from_b2 += r.header("Server") == "backend2";
  }
  EXPECT_EQ(from_b2, 5);  // round robin again
}

TEST(PassiveHealth, BackendAnswering503IsMarkedDownButOneAnswering500IsNot) {
  ScriptedUpstream unavailable(ScriptedUpstream::reply_always(status_response(503)));
  ScriptedUpstream buggy(ScriptedUpstream::reply_always(status_response(500)));
  ScriptedUpstream fine(ScriptedUpstream::reply_always(ok_response("fine")));
  auto lb = start_balancer({unavailable.backend(), buggy.backend(), fine.backend()});
  int s503 = 0, s500 = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = http_get(url(lb->port()));
    s503 += r.status == 503;
    s500 += r.status == 500;
  }
  // 503s are passed through (never retried) until the third marks the backend down.
  EXPECT_EQ(s503, 3);
  // Picks: A B C A B C A(down) B C B C B: the 500 backend answers requests 2 5 8 10 12.
  EXPECT_EQ(s500, 5);
  auto log = lb->log();
  EXPECT_NE(
      log.find("backend " + unavailable.backend() + " is down: 3 consecutive failures: HTTP 503"),
      std::string::npos)
      << log;
  EXPECT_EQ(log.find("backend " + buggy.backend() + " is down"), std::string::npos) << log;
}

TEST(Fallback, AllDownGives503ListingEveryBackendAndWhy) {
  RefusingPort a, b;
  auto lb =
      start_balancer({a.backend(), b.backend()}, {"--health-interval", "50ms", "--fall", "1"});
  ASSERT_TRUE(lb->wait_for_log("backend " + a.backend() + " is down: ")) << lb->log();
  ASSERT_TRUE(lb->wait_for_log("backend " + b.backend() + " is down: ")) << lb->log();
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("X-LB-Error"), "no_backend");
  EXPECT_NE(r.body.find("all 2 backends are down"), std::string::npos) << r.body;
  for (const auto* p : {&a, &b}) {
    EXPECT_NE(r.body.find(p->backend() + " (1 failure: health check: connect failed: "),
              std::string::npos)
        << r.body;
  }
  // The one down longest was still tried, and the reply says so.
  EXPECT_NE(r.body.find("tried 1 backend: cannot connect to backend"), std::string::npos) << r.body;
}

TEST(Fallback, AllDownStillTriesTheBackendDownLongestAndFindsItRecovered) {
  // Passive only: the backend fails three requests, then recovers. The next request finds
  // it without waiting for any probe or trial timer.
  std::atomic<int> seen{0};
  ScriptedUpstream up([&](ScriptedConn& c) {
    while (auto rq = c.read_request()) {
      c.send(seen++ < 3 ? status_response(503) : ok_response("back"));
    }
  });
  auto lb = start_balancer({up.backend()}, {"--no-active-health"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(url(lb->port())).status, 503);
  ASSERT_TRUE(lb->wait_for_log(" is down: ")) << lb->log();
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "back");
}

// A backend that reads one request and resets the connection without answering.
ScriptedUpstream::Handler reset_after_request(std::atomic<int>& count) {
  return [&count](ScriptedConn& c) {
    if (c.read_request()) {
      ++count;
      c.reset();
    }
  };
}

TEST(Retries, IdempotentRequestWithoutAnswerGoesToAnotherBackend) {
  std::atomic<int> resets{0};
  ScriptedUpstream broken(reset_after_request(resets));
  ScriptedUpstream fine(ScriptedUpstream::reply_always(ok_response("fine")));
  auto lb = start_balancer({broken.backend(), fine.backend()});
  CurlRequest put{.method = "PUT", .url = url(lb->port(), "/x"), .body = std::string("v=1")};
  auto r = http(put);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "fine");
  EXPECT_EQ(resets.load(), 1);
  ASSERT_EQ(fine.requests().size(), 1u);
  EXPECT_EQ(fine.requests()[0].body, "v=1");  // the held body was replayed whole
}

// Polls `done` until it holds or the deadline passes.
template <typename Pred>
bool eventually(Pred done, Clock::duration timeout = kTimeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(Retries, BodyArrivingInSeveralReadsIsStillHeldForReplay) {
  std::atomic<int> resets{0};
  ScriptedUpstream broken(reset_after_request(resets));
  ScriptedUpstream fine(ScriptedUpstream::reply_always(ok_response("fine")));
  auto lb = start_balancer({broken.backend(), fine.backend()});
  RawClient c(lb->port());
  // Head, then the body in two pieces, each sent only once the previous one has reached the
  // backend: the balancer has forwarded every piece before it holds the whole request.
  ASSERT_TRUE(c.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return broken.bytes_received() > 0; }));
  auto after_head = broken.bytes_received();
  ASSERT_TRUE(c.send("abc"));
  ASSERT_TRUE(eventually([&] { return broken.bytes_received() > after_head; }));
  ASSERT_TRUE(c.send("def"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.buffered() << lb->log();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(resets.load(), 1);
  ASSERT_EQ(fine.requests().size(), 1u);
  EXPECT_EQ(fine.requests()[0].body, "abcdef");
}

TEST(Retries, PostWithoutAnswerIsNotSentTwice) {
  std::atomic<int> resets{0};
  ScriptedUpstream broken(reset_after_request(resets));
  ScriptedUpstream fine(ScriptedUpstream::reply_always(ok_response("fine")));
  auto lb = start_balancer({broken.backend(), fine.backend()});
  CurlRequest post{.method = "POST", .url = url(lb->port(), "/pay"), .body = std::string("a=1")};
  auto r = http(post);
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("X-LB-Error"), "upstream_closed");
  EXPECT_EQ(resets.load(), 1);
  EXPECT_TRUE(fine.requests().empty());
}

TEST(Retries, ConnectFailuresMoveOnForAnyMethodUpToTheRetryLimit) {
  RefusingPort d1, d2, d3;
  ScriptedUpstream fine(ScriptedUpstream::reply_always(ok_response("fine")));
  {
    auto lb = start_balancer({d1.backend(), d2.backend(), fine.backend()});
    CurlRequest post{.method = "POST", .url = url(lb->port(), "/"), .body = std::string("x")};
    auto r = http(post);  // two refused connects, then the third backend: default 2 retries
    EXPECT_EQ(r.status, 200) << r.body;
  }
  {
    auto lb = start_balancer({d1.backend(), d2.backend(), d3.backend(), fine.backend()},
                             {"--retries", "2"});
    auto r = http_get(url(lb->port()));
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(r.header("X-LB-Error"), "connect_failed");
    EXPECT_NE(r.body.find("tried 3 backends"), std::string::npos) << r.body;
    for (const auto* d : {&d1, &d2, &d3}) {
      EXPECT_NE(r.body.find(d->backend()), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(fine.requests().size(), 1u);
}

}  // namespace
}  // namespace it
