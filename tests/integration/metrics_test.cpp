// GET /metrics: the Prometheus text of what the balancer did, counted per backend, checked
// against what the test sent and against the backends' own counters; promtool (Debian's
// prometheus package) accepts it; --admin moves it to a port of its own.

#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "harness.hpp"

namespace it {
namespace {

const std::string kPromtool = "/usr/bin/promtool";

// The value of the sample `series` (name with its labels, as printed), or -1 when absent.
double metric(const std::string& text, const std::string& series) {
  for (const auto& line : split_lines(text)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

std::string scrape(std::uint16_t port) {
  auto r = http_get(url(port, "/metrics"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return r.body;
}

std::string series(const std::string& name, std::uint16_t port, const std::string& more = {}) {
  return name + "{backend=\"127.0.0.1:" + std::to_string(port) + "\"" +
         (more.empty() ? "" : "," + more) + "}";
}

TEST(Metrics, CountRequestsByBackendAndStatusClass) {
  auto b1 = start_backend(1);
  auto fault = start_fault();
  auto lb = start_balancer({backend_arg(b1->wait_for_port()), backend_arg(fault->port())});
  // Round robin: even requests to backend1 (200), odd ones to fault_backend (404). All on
  // one client connection, which is then the only one open when it asks for /metrics.
  RawClient c(lb->port());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.send(std::string("GET ") + (i % 2 == 0 ? "/" : "/status/404") +
                       " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, i % 2 == 0 ? 200 : 404) << r->body;
  }
  ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto scraped = c.read_response();
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  std::string m = scraped->body;
  EXPECT_EQ(metric(m, series("lb_requests_total", b1->port(), "code=\"2xx\"")), 3) << m;
  EXPECT_EQ(metric(m, series("lb_requests_total", fault->port(), "code=\"4xx\"")), 3);
  EXPECT_EQ(metric(m, series("lb_requests_total", fault->port(), "code=\"2xx\"")), 0);
  EXPECT_EQ(metric(m, series("lb_request_duration_seconds_count", b1->port())), 3);
  EXPECT_EQ(metric(m, series("lb_request_duration_seconds_bucket", b1->port(), "le=\"+Inf\"")), 3);
  EXPECT_EQ(metric(m, series("lb_time_to_first_byte_seconds_count", fault->port())), 3);
  // One connection per backend, reused for the rest.
  EXPECT_EQ(metric(m, series("lb_pool_new_connections_total", b1->port())), 1);
  EXPECT_EQ(metric(m, series("lb_pool_reused_total", b1->port())), 2);
  EXPECT_EQ(metric(m, series("lb_upstream_connect_duration_seconds_count", b1->port())), 1);
  EXPECT_EQ(metric(m, series("lb_pool_connections", b1->port(), "state=\"idle\"")), 1);
  EXPECT_EQ(metric(m, series("lb_pool_connections", b1->port(), "state=\"busy\"")), 0);
  EXPECT_EQ(metric(m, series("lb_backend_up", b1->port())), 1);
  EXPECT_EQ(metric(m, "lb_client_connections"), 1);
  // What the backend saw, byte for byte.
  auto stats = fault_stats(fault->port());
  EXPECT_GT(metric(m, series("lb_backend_sent_bytes_total", fault->port())), 0);
  EXPECT_EQ(metric(m, series("lb_backend_received_bytes_total", fault->port())),
            stats["bytes_sent"].get<double>())
      << stats.dump();
  EXPECT_EQ(metric(m, "lb_build_info{version=\"0.1.0\"}"), 1);
}

TEST(Metrics, BalancerErrorsFailoversAndHealthAreCounted) {
  RefusingPort dead;
  auto b1 = start_backend(1);
  auto lb = start_balancer({dead.backend(), backend_arg(b1->wait_for_port())});
  // The first request goes to the dead backend first, then fails over; then it is down.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(http_get(url(lb->port())).status, 200);
  std::string m = scrape(lb->port());
  EXPECT_GE(metric(m, series("lb_failovers_total", dead.port())), 1) << m;
  EXPECT_EQ(metric(m, series("lb_failovers_total", b1->port())), 0);
  EXPECT_EQ(metric(m, series("lb_requests_total", b1->port(), "code=\"2xx\"")), 4);

  auto lone = start_balancer({RefusingPort().backend()});
  expect_lb_error(http_get(url(lone->port())), 502, "connect_failed");
  RawClient bad(lone->port());
  ASSERT_TRUE(
      bad.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"));
  ASSERT_TRUE(bad.read_response());
  m = scrape(lone->port());
  EXPECT_EQ(metric(m, "lb_errors_total{code=\"connect_failed\"}"), 1) << m;
  EXPECT_EQ(metric(m, "lb_errors_total{code=\"bad_request\"}"), 1);
  EXPECT_EQ(metric(m, "lb_errors_total{code=\"no_backend\"}"), 0);
}

TEST(Metrics, PromtoolAcceptsTheOutput) {
  if (::access(kPromtool.c_str(), X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  auto b1 = start_backend(1);
  auto lb = start_balancer({backend_arg(b1->wait_for_port()), RefusingPort().backend()});
  for (int i = 0; i < 4; ++i) http_get(url(lb->port()));
  TempDir dir;
  std::string file = dir.file("metrics.txt");
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string m = scrape(lb->port());
    std::fwrite(m.data(), 1, m.size(), f);
    std::fclose(f);
  }
  auto r = run_program("/bin/sh", {"-c", kPromtool + " check metrics < " + file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "") << r.err;
}

TEST(Metrics, AdminPortServesMetricsAndTheMainPortProxiesThePath) {
  auto b1 = start_backend(1);
  auto lb = start_balancer({backend_arg(b1->wait_for_port())}, {"--admin", "127.0.0.1:0"});
  std::smatch m;
  std::string log = lb->log();
  ASSERT_TRUE(lb->wait_for_log("/metrics (--admin)")) << log;
  log = lb->log();
  ASSERT_TRUE(
      std::regex_search(log, m, std::regex(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)")))
      << log;
  auto admin = static_cast<std::uint16_t>(std::stoul(m[1].str()));
  // The main port sends /metrics to the backend like any other path.
  auto proxied = http_get(url(lb->port(), "/metrics"));
  EXPECT_EQ(proxied.status, 200);
  EXPECT_EQ(proxied.body, "Hello from backend1\n");
  std::string text = scrape(admin);
  EXPECT_EQ(metric(text, series("lb_requests_total", b1->port(), "code=\"2xx\"")), 1) << text;
  auto other = http_get(url(admin, "/"));
  EXPECT_EQ(other.status, 404);
  EXPECT_NE(other.body.find("GET /metrics"), std::string::npos);
}

}  // namespace
}  // namespace it
