#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "lb/metrics/prometheus.hpp"
#include "lb/metrics/region.hpp"

namespace lb::metrics {
namespace {

using namespace std::chrono_literals;

// The value of the sample line that starts with `series` + " ", or "" when absent.
std::string value_of(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      std::size_t start = pos + series.size() + 1;
      return text.substr(start, text.find('\n', start) - start);
    }
    ++pos;
  }
  return "";
}

TEST(MetricsHistogram, BucketsAreUpperBoundsInclusiveWithInfLast) {
  Histogram h;
  h.observe(300us);  // <= 0.5 ms
  h.observe(500us);  // exactly the first bound
  h.observe(501us);  // the next bucket (1 ms)
  h.observe(7s);     // 10 s
  h.observe(31s);    // beyond 30 s: +Inf
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[1], 1u);
  EXPECT_EQ(h.buckets[13], 1u);  // le=10
  EXPECT_EQ(h.buckets[kBuckets.size()], 1u);
  EXPECT_EQ(h.sum_ns, std::uint64_t{300'000 + 500'000 + 501'000 + 7'000'000'000 + 31'000'000'000});
}

TEST(MetricsErrorIndex, KnownCodesHaveTheirIndexOthersTheLast) {
  EXPECT_EQ(kErrorCodes[error_index("connect_failed")], "connect_failed");
  EXPECT_EQ(kErrorCodes[error_index("h2_stream_reset")], "h2_stream_reset");
  EXPECT_EQ(error_index("no_such_code"), kErrorCodes.size());
}

TEST(MetricsRegion, SlotsDoNotOverlapAndStartZeroed) {
  LocalRegion local(3, 2);
  const Region& r = local.region();
  EXPECT_EQ(Region::bytes_for(3, 2) % 64, 0u);
  EXPECT_EQ(r.header().magic, Region::kMagic);
  EXPECT_EQ(r.header().workers, 3u);
  EXPECT_EQ(r.header().backends, 2u);
  auto* end = reinterpret_cast<const std::byte*>(&r.header()) + Region::bytes_for(3, 2);
  const std::byte* last = nullptr;
  for (std::size_t w = 0; w < 3; ++w) {
    auto* wc = reinterpret_cast<const std::byte*>(&r.worker(w));
    EXPECT_GT(wc, last);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(wc) % 64, 0u);
    for (std::size_t b = 0; b < 2; ++b) {
      auto* bc = reinterpret_cast<const std::byte*>(&r.backend(w, b));
      EXPECT_GE(bc, wc + sizeof(WorkerCounters));
      EXPECT_LE(bc + sizeof(BackendCounters), end);
      EXPECT_EQ(r.backend(w, b).bytes_sent, 0u);
      last = bc;
    }
  }
}

TEST(MetricsPrometheus, SumsEveryWorkersSlot) {
  LocalRegion local(2, 2);
  const Region& r = local.region();
  add(r.backend(0, 0).responses[1], 2);  // 2xx
  add(r.backend(1, 0).responses[1], 1);
  add(r.backend(1, 1).responses[4], 5);  // 5xx
  r.backend(0, 0).duration.observe(2ms);
  r.backend(1, 0).duration.observe(40ms);
  add(r.worker(0).errors[error_index("connect_failed")], 1);
  add(r.worker(1).errors[error_index("connect_failed")], 2);
  add(r.worker(1).errors[kErrorCodes.size()], 1);
  add(r.worker(0).client_connections, 3);
  add(r.worker(1).client_connections, -1);
  add(r.backend(0, 1).connections_open, 4);
  r.backend(1, 1).connections_idle.store(1);
  add(r.header().worker_restarts, 2);
  BackendInfo info[] = {{"a:1", true, 0}, {"[::1]:2", false, 3}};
  std::string out;
  write_prometheus(r, info, "1.2.3", out);

  EXPECT_EQ(value_of(out, R"(lb_requests_total{backend="a:1",code="2xx"})"), "3");
  EXPECT_EQ(value_of(out, R"(lb_requests_total{backend="[::1]:2",code="5xx"})"), "5");
  EXPECT_EQ(value_of(out, R"(lb_requests_total{backend="a:1",code="4xx"})"), "0");
  // Cumulative buckets: 2 ms falls in le=0.0025, 40 ms in le=0.05.
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_bucket{backend="a:1",le="0.001"})"), "0");
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_bucket{backend="a:1",le="0.0025"})"), "1");
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_bucket{backend="a:1",le="0.05"})"), "2");
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_bucket{backend="a:1",le="+Inf"})"), "2");
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_count{backend="a:1"})"), "2");
  EXPECT_EQ(value_of(out, R"(lb_request_duration_seconds_sum{backend="a:1"})"), "0.042");
  EXPECT_EQ(value_of(out, R"(lb_errors_total{code="connect_failed"})"), "3");
  EXPECT_EQ(value_of(out, R"(lb_errors_total{code="other"})"), "1");
  EXPECT_EQ(value_of(out, "lb_client_connections"), "2");
  EXPECT_EQ(value_of(out, R"(lb_pool_connections{backend="[::1]:2",state="idle"})"), "1");
  EXPECT_EQ(value_of(out, R"(lb_pool_connections{backend="[::1]:2",state="busy"})"), "3");
  EXPECT_EQ(value_of(out, R"(lb_backend_up{backend="[::1]:2"})"), "0");
  EXPECT_EQ(value_of(out, R"(lb_backend_health_changes_total{backend="[::1]:2"})"), "3");
  EXPECT_EQ(value_of(out, "lb_worker_restarts_total"), "2");
  EXPECT_EQ(value_of(out, R"(lb_config_reloads_total{result="failure"})"), "0");
  EXPECT_EQ(value_of(out, R"(lb_build_info{version="1.2.3"})"), "1");
  // Every family has its HELP and TYPE lines once.
  EXPECT_EQ(out.find("# TYPE lb_requests_total counter\n"),
            out.rfind("# TYPE lb_requests_total counter\n"));
  EXPECT_NE(out.find("# TYPE lb_time_to_first_byte_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
}

TEST(MetricsPrometheus, LabelValuesAreEscaped) {
  LocalRegion local(1, 1);
  BackendInfo info[] = {{R"(we"ird\name)", true, 0}};
  std::string out;
  write_prometheus(local.region(), info, "v", out);
  EXPECT_NE(out.find(R"(lb_backend_up{backend="we\"ird\\name"} 1)"), std::string::npos) << out;
}

TEST(MetricsGaugeHold, CountsWhileAliveAndFollowsMoves) {
  Gauge g{0};
  {
    GaugeHold a(g);
    EXPECT_EQ(g, 1);
    GaugeHold b = std::move(a);
    EXPECT_EQ(g, 1);
    GaugeHold c(g);
    EXPECT_EQ(g, 2);
    c = std::move(b);
    EXPECT_EQ(g, 1);
  }
  EXPECT_EQ(g, 0);
}

}  // namespace
}  // namespace lb::metrics
