// The balancer in front of fault_backend over h2c: multiplexing within the peer's
// MAX_CONCURRENT_STREAMS, GOAWAY and RST_STREAM on some streams while others go on, a stalled
// stream window, 100 MiB each way, trailers both ways, several set-cookie, broken
// connections and health probes, each checked against fault_backend's own counters.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {
namespace {

using json = nlohmann::json;

std::size_t count_status(const std::vector<CurlResponse>& rs, long status) {
  return static_cast<std::size_t>(
      std::count_if(rs.begin(), rs.end(), [&](const auto& r) { return r.status == status; }));
}

std::string first_unexpected(const std::vector<CurlResponse>& rs, long status) {
  for (const auto& r : rs) {
    if (r.status != status) return std::to_string(r.status) + " " + r.error + " " + r.body;
  }
  return {};
}

// The unseeded body bytes of fault_backend's /bytes: one 64-byte line repeated.
constexpr std::string_view kLine =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

TEST(H2Proxy, TwoHundredConcurrentRequestsShareConnectionsUpToMaxConcurrentStreams) {
  constexpr std::size_t kRequests = 200;
  constexpr std::size_t kMaxStreams = 50;
  auto fb = start_fault({"--h2-max-streams", std::to_string(kMaxStreams)});
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto rs = concurrently(
      kRequests, [&](std::size_t) { return CurlRequest{.url = url(lb->port(), "/delay/500")}; });
  EXPECT_EQ(count_status(rs, 200), kRequests) << first_unexpected(rs, 200);
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["by_path"]["/delay/500"], kRequests) << s.dump();
  std::size_t connections = s["h2_connections_total"];
  EXPECT_GE(connections, 1u);
  EXPECT_LE(connections, (kRequests + kMaxStreams - 1) / kMaxStreams) << s.dump();
  // Multiplexed, and never beyond the backend's limit.
  EXPECT_GT(s["h2_streams_max_concurrent"], 1) << s.dump();
  EXPECT_LE(s["h2_streams_max_concurrent"], kMaxStreams) << s.dump();
  EXPECT_EQ(s["h2_refused_streams"], 0);
}

TEST(H2Proxy, OneStreamPerConnectionBackendStillAnswersEveryRequest) {
  constexpr std::size_t kRequests = 20;
  auto fb = start_fault({"--h2-max-streams", "1"});
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto rs = concurrently(
      kRequests, [&](std::size_t) { return CurlRequest{.url = url(lb->port(), "/delay/100")}; });
  EXPECT_EQ(count_status(rs, 200), kRequests) << first_unexpected(rs, 200);
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_streams_max_concurrent"], 1) << s.dump();
  // More connections than one, but within the balancer's bound of 8 per backend.
  EXPECT_GE(s["h2_connections_total"], 2) << s.dump();
  EXPECT_LE(s["h2_connections_total"], 8) << s.dump();
  EXPECT_EQ(s["by_path"]["/delay/100"], kRequests);
}

TEST(H2Proxy, GoawayMidFlightRetriesTheRefusedStreamsAndProcessesEachRequestOnce) {
  // Every connection takes 3 streams, then GOAWAY: the rest of what was sent on it is
  // refused and must go again on a new connection, POSTs included (RFC 9113 §8.7).
  constexpr std::size_t kRequests = 24;
  auto fb = start_fault({"--h2-goaway-after", "3"});
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto rs = concurrently(kRequests, [&](std::size_t i) {
    if (i % 2 == 0) return CurlRequest{.url = url(lb->port(), "/delay/100")};
    return CurlRequest{
        .method = "POST", .url = url(lb->port(), "/echo"), .body = "order=" + std::to_string(i)};
  });
  for (std::size_t i = 0; i < kRequests; ++i) {
    ASSERT_EQ(rs[i].status, 200) << i << ": " << rs[i].error << rs[i].body;
    if (i % 2 == 1) {
      json echo = json::parse(rs[i].body);
      EXPECT_EQ(echo["body"], "order=" + std::to_string(i));
    }
  }
  json s = fault_stats(fb->port());
  // Each request was processed exactly once: refused streams are not requests.
  EXPECT_EQ(s["requests"], kRequests) << s.dump();
  EXPECT_EQ(s["by_method"]["POST"], kRequests / 2) << s.dump();
  EXPECT_GE(s["h2_connections_total"], kRequests / 3) << s.dump();
  EXPECT_GE(s["h2_goaways_sent"], 1);
}

TEST(H2Proxy, GoawayLetsTheStreamsBelowItFinishAndTakesNoNewOnes) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  ASSERT_EQ(http_get(url(lb->port(), "/")).status, 200);  // stream 1 of connection 1
  std::vector<CurlResponse> slow;
  std::thread in_flight([&] {
    slow = concurrently(
        4, [&](std::size_t) { return CurlRequest{.url = url(lb->port(), "/delay/300")}; });
  });
  // Streams 3..9 are open on the backend (the stats call is a stream-less HTTP/1.1 one).
  EXPECT_TRUE(wait_for_stat(fb->port(), "h2_streams_total", 5));
  auto g = http_get(url(lb->port(), "/h2/goaway"));  // stream 11: GOAWAY(last-stream-id 11)
  in_flight.join();
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "goaway");
  EXPECT_EQ(count_status(slow, 200), 4u) << first_unexpected(slow, 200);
  EXPECT_EQ(fault_stats(fb->port())["h2_connections_total"], 1);
  // The connection that received GOAWAY gets no new streams: the next request opens another.
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_connections_total"], 2) << s.dump();
  EXPECT_EQ(s["h2_refused_streams"], 0) << s.dump();
}

TEST(H2Proxy, RstStreamOnOneStreamIs502WithTheCodeWhileTheOtherSucceeds) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  ASSERT_EQ(http_get(url(lb->port(), "/")).status, 200);  // the connection, opened
  auto rs = concurrently(2, [&](std::size_t i) {
    return CurlRequest{.url =
                           url(lb->port(), i == 0 ? "/delay/300" : "/h2/rst-stream?code=CANCEL")};
  });
  EXPECT_EQ(rs[0].status, 200) << rs[0].body;
  expect_lb_error(rs[1], 502, "h2_stream_reset");
  EXPECT_NE(rs[1].body.find("stream reset by the backend (CANCEL)"), std::string::npos)
      << rs[1].body;
  EXPECT_NE(rs[1].body.find(backend_arg(fb->port())), std::string::npos) << rs[1].body;
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_connections_total"], 1) << s.dump();
  EXPECT_EQ(s["h2_resets_sent"], 1) << s.dump();
}

TEST(H2Proxy, RefusedStreamIsRetriedThenReportedAsRefused) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto r = http_get(url(lb->port(), "/h2/rst-stream?code=REFUSED_STREAM"));
  expect_lb_error(r, 502, "h2_stream_refused");
  EXPECT_NE(r.body.find("REFUSED_STREAM"), std::string::npos) << r.body;
  // The first attempt and 64 retries, all on the one connection.
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_resets_sent"], 65) << s.dump();
  EXPECT_EQ(s["h2_connections_total"], 1) << s.dump();
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
}

TEST(H2Proxy, ResetRightAfterTheHeadIsA502) {
  // HEADERS and RST_STREAM arrive together, before the head could go to the client.
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto r = http_get(url(lb->port(), "/h2/rst-stream?code=INTERNAL_ERROR&after_headers=1"));
  if (r.curl_code == 0) {
    expect_lb_error(r, 502, "h2_stream_reset");
    EXPECT_NE(r.body.find("(INTERNAL_ERROR)"), std::string::npos) << r.body;
  }  // else the head had gone out already and the client saw the cut: never a clean 200
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
}

TEST(H2Proxy, SlowWindowStallsOnlyItsOwnStream) {
  auto fb = start_fault();  // stream window 65535
  auto lb = start_balancer({h2c_backend(fb->port())}, {"--response-timeout", "1s"});
  ASSERT_EQ(http_get(url(lb->port(), "/")).status, 200);  // the connection, opened
  CurlResponse stalled;
  std::thread upload([&] {
    stalled = http({.method = "POST",
                    .url = url(lb->port(), "/h2/slow-window"),
                    .body = std::string(1 << 20, 'u')});
  });
  // Meanwhile (once its stream is open) the same connection serves other streams in full.
  EXPECT_TRUE(wait_for_stat(fb->port(), "h2_streams_total", 2));
  std::vector<CurlResponse> others;
  for (int i = 0; i < 5; ++i) others.push_back(http_get(url(lb->port(), "/delay/50")));
  upload.join();
  EXPECT_EQ(count_status(others, 200), others.size()) << first_unexpected(others, 200);
  expect_lb_error(stalled, 504, "response_timeout");
  EXPECT_NE(stalled.body.find("took no request body"), std::string::npos) << stalled.body;
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_connections_total"], 1) << s.dump();
  EXPECT_EQ(s["by_path"]["/delay/50"], 5);
}

constexpr std::uint64_t k100MiB = 100ULL << 20;
constexpr long kMaxRssKb = 64 * 1024;
constexpr auto kBigTimeout = 300s;  // generous for sanitizer builds; normally seconds

TEST(H2Proxy, HundredMibDownloadStreamsInBoundedMemory) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  std::uint64_t got = 0;
  bool intact = true;
  CurlRequest rq{.url = url(lb->port(), "/bytes/" + std::to_string(k100MiB))};
  rq.sink = [&](const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n && intact; ++i) intact = data[i] == kLine[(got + i) % 64];
    got += n;
    return true;
  };
  rq.timeout = kBigTimeout;
  auto r = http(rq);
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(k100MiB));
  EXPECT_EQ(got, k100MiB);
  EXPECT_TRUE(intact) << "the download arrived altered";
  long rss = lb->peak_rss_kb();
  RecordProperty("balancer_peak_rss_kb", static_cast<int>(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, kMaxRssKb) << "load_balancer peak RSS " << rss << " KiB";
}

TEST(H2Proxy, HundredMibUploadStreamsInBoundedMemory) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  std::uint64_t sent = 0;
  CurlRequest rq{.method = "POST", .url = url(lb->port(), "/upload")};
  rq.source = [&](char* out, std::size_t n) {
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, k100MiB - sent));
    std::fill_n(out, k, 'x');
    sent += k;
    return k;
  };
  rq.source_size = k100MiB;
  rq.timeout = kBigTimeout;
  auto r = http(rq);
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fault_stats(fb->port())["bytes_received"], k100MiB);
  long rss = lb->peak_rss_kb();
  RecordProperty("balancer_peak_rss_kb", static_cast<int>(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, kMaxRssKb) << "load_balancer peak RSS " << rss << " KiB";
}

TEST(H2Proxy, SlowClientHoldsBackOnlyItsOwnStream) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  // A client that asks for 100 MiB and reads nothing more than the head for now.
  RawClient slow(lb->port());
  ASSERT_TRUE(slow.send("GET /bytes/" + std::to_string(k100MiB) +
                        " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(slow.read_until("\r\n\r\n"));
  const std::size_t body_start = slow.buffered().find("\r\n\r\n") + 4;
  // Another client gets 20 MiB in full over the same connection meanwhile.
  constexpr std::uint64_t k20MiB = 20ULL << 20;
  CurlRequest rq{.url = url(lb->port(), "/bytes/" + std::to_string(k20MiB))};
  std::uint64_t fast_bytes = 0;
  rq.sink = [&](const char*, std::size_t n) {
    fast_bytes += n;
    return true;
  };
  auto fast = http(rq);
  EXPECT_EQ(fast.status, 200) << fast.error;
  EXPECT_EQ(fast_bytes, k20MiB);
  json s = fault_stats(fb->port());
  EXPECT_EQ(s["h2_connections_total"], 1) << s.dump();
  // The slow stream got only its window and what the client's socket buffers hold, far
  // from its 100 MiB: nothing made the balancer read (and keep) it all.
  std::uint64_t sent = s["bytes_sent"];
  EXPECT_LT(sent, k20MiB + (16ULL << 20)) << s.dump();
  EXPECT_LT(lb->peak_rss_kb(), kMaxRssKb);
  // Once the client reads, its response completes.
  std::string all = slow.read_until_close(kBigTimeout);
  EXPECT_EQ(all.size() - body_start, k100MiB);
}

TEST(H2Proxy, IdleConnectionIsPingedThenClosedWithGoaway) {
  auto fb = start_fault();
  // PING after 1 s of silence (half the idle timeout), GOAWAY after 2 s without a stream.
  auto lb = start_balancer({h2c_backend(fb->port())}, {"--idle-timeout", "2s", "--trace"});
  ASSERT_EQ(http_get(url(lb->port(), "/")).status, 200);
  const std::string backend = "127.0.0.1:" + std::to_string(fb->port());
  EXPECT_TRUE(lb->wait_for_log("h2 lb->" + backend + " PING stream=0")) << lb->log();
  EXPECT_TRUE(lb->wait_for_log("h2 " + backend + "->lb PING stream=0 length=8 flags=ACK"));
  EXPECT_TRUE(lb->wait_for_log("h2 lb->" + backend + " GOAWAY stream=0")) << lb->log();
  // A new request after that opens a new connection and works.
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
  EXPECT_EQ(fault_stats(fb->port())["h2_connections_total"], 2);
}

TEST(H2Proxy, RequestTrailersReachTheBackend) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  RawClient c(lb->port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\nX-Other: two\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json echo = json::parse(r->body);
  EXPECT_EQ(echo["body"], "hello world");
  EXPECT_EQ(echo["version"], "HTTP/2");
  EXPECT_EQ(echo["trailers"], json::parse(R"([["x-sum","42"],["x-other","two"]])")) << r->body;
  // Connection-specific fields never become HTTP/2 fields (RFC 9113 §8.2.2); TE: trailers does.
  std::string headers = echo["headers"].dump();
  EXPECT_EQ(headers.find("transfer-encoding"), std::string::npos) << headers;
  EXPECT_NE(headers.find(R"(["te","trailers"])"), std::string::npos) << headers;
}

TEST(H2Proxy, ResponseTrailersAndSeveralSetCookieReachTheClient) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  RawClient c(lb->port());
  ASSERT_TRUE(
      c.send("GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"
             "GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto t = c.read_response();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->start_line, "HTTP/1.1 200 OK");
  EXPECT_TRUE(t->chunked);
  EXPECT_EQ(t->body, "trailers");
  EXPECT_EQ(t->trailers, (Headers{{"x-checksum", "abc123"}, {"x-trailer-2", "two"}}))
      << t->raw_body;
  auto k = c.read_response();
  ASSERT_TRUE(k);
  EXPECT_EQ(k->body, "cookies");
  EXPECT_EQ(k->all("set-cookie"),
            (std::vector<std::string>{"a=1", "b=2; Path=/", "c=3; HttpOnly"}));
}

struct BrokenCase {
  const char* path;
  int status;        // 0: the head was forwarded, then the client sees the connection cut
  const char* code;  // X-LB-Error
};

class H2BrokenPath : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(H2BrokenPath, GivesAClearResultAndTheBalancerKeepsServing) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())}, {"--response-timeout", "500ms"});
  auto r = http_get(url(lb->port(), GetParam().path));
  if (GetParam().status != 0) {
    expect_lb_error(r, GetParam().status, GetParam().code);
    EXPECT_NE(r.body.find(backend_arg(fb->port())), std::string::npos) << r.body;
  } else {
    EXPECT_NE(r.curl_code, 0) << "a cut response looked complete: " << r.status << " " << r.body;
  }
  // Whatever broke, the next request is served (on a new connection when that one died).
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200) << lb->log();
}

INSTANTIATE_TEST_SUITE_P(
    Fault, H2BrokenPath,
    ::testing::Values(BrokenCase{"/reset", 502, "h2_connection_error"},
                      BrokenCase{"/close", 502, "h2_connection_error"},
                      BrokenCase{"/garbage", 502, "h2_connection_error"},
                      BrokenCase{"/hang", 504, "response_timeout"},
                      // More body than the balancer's stream window
                      // (256 KiB): the head is surely forwarded first.
                      BrokenCase{"/truncate?length=1000000&sent=600000", 0, ""},
                      BrokenCase{"/reset-mid-body?length=1000000&sent=600000", 0, ""}),
    [](const auto& info) {
      std::string path = info.param.path + 1;
      std::string name = path.substr(0, path.find('?'));
      for (auto& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return name;
    });

TEST(H2Proxy, MalformedDataFrameNeverLooksComplete) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  auto r = http_get(url(lb->port(), "/bad-chunk"));
  // The protocol error came with the head (a 502), or after the head was forwarded (a cut).
  if (r.curl_code == 0) expect_lb_error(r, 502, "h2_connection_error");
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
}

TEST(H2Proxy, ConnectionErrorFailsEveryStreamOnThatConnectionOnly) {
  auto fb = start_fault();
  auto lb = start_balancer({h2c_backend(fb->port())});
  ASSERT_EQ(http_get(url(lb->port(), "/")).status, 200);  // the connection, opened
  // A slow request in flight on the connection that /garbage then breaks.
  CurlResponse slow;
  std::thread in_flight([&] { slow = http_get(url(lb->port(), "/delay/500")); });
  EXPECT_TRUE(wait_for_stat(fb->port(), "h2_streams_total", 2));
  auto garbage = http_get(url(lb->port(), "/garbage"));
  in_flight.join();
  expect_lb_error(garbage, 502, "h2_connection_error");
  expect_lb_error(slow, 502, "h2_connection_error");
  EXPECT_NE(slow.body.find("HTTP/2"), std::string::npos) << slow.body;
  // Only that connection: the next request gets a new one and succeeds.
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
  EXPECT_EQ(fault_stats(fb->port())["h2_connections_total"], 2);
}

TEST(H2Proxy, ActiveHealthProbesSpeakHttp2) {
  auto fb = start_fault({"--mode", "down"});
  auto lb = start_balancer({h2c_backend(fb->port())},
                           {"--health-path", "/health", "--health-interval", "100ms"});
  ASSERT_TRUE(lb->wait_for_log(" is down: 3 consecutive failures")) << lb->log();
  auto r =
      http({.method = "PUT", .url = url(fb->port(), "/_fault/config"), .body = R"({"mode":"up"})"});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(lb->wait_for_log(" is up: 2 consecutive successes")) << lb->log();
  json s = fault_stats(fb->port());
  EXPECT_GE(s["by_path"]["/health"], 5) << s.dump();
  EXPECT_GE(s["h2_streams_total"], 5) << s.dump();
  EXPECT_EQ(http_get(url(lb->port(), "/")).status, 200);
}

}  // namespace
}  // namespace it
