// fault_backend as a separate program: every path, every mode, scripts, every control call,
// its flags and signals. Raw sockets where the exact bytes or the way the connection ends
// matter (FIN versus RST), libcurl elsewhere.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace it {
namespace {

using json = nlohmann::ordered_json;  // keeps the order the server wrote

// --- helpers -------------------------------------------------------------------------------

const std::string kLine = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";

// The unseeded body bytes [0, n): the 64-byte line repeated.
std::string pattern(std::size_t n) {
  std::string s;
  while (s.size() < n) s += kLine;
  return s.substr(0, n);
}

// The seeded body bytes [0, n) as documented: byte i is byte i % 8 (little-endian) of
// SplitMix64 output i / 8.
std::uint64_t splitmix(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::string seeded(std::uint64_t seed, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i)
    s += static_cast<char>(splitmix(seed, i / 8) >> (8 * (i % 8)));
  return s;
}

long ms_since(Clock::time_point t0) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// How a connection ended, seen from the client.
enum class End { eof, reset, open };

// A raw client that tells a FIN from an RST.
class Wire {
 public:
  explicit Wire(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("connect failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Wire() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads what arrives until the peer ends the connection or `quiet` passes without a byte.
  End read(std::string& out, Clock::duration quiet = kTimeout) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      int ms =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count());
      if (::poll(&p, 1, ms) <= 0) return End::open;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n == 0 ? End::eof : errno == ECONNRESET ? End::reset : End::open;
    }
  }
  // The next complete response (the connection stays usable).
  std::optional<Message> response(bool head_request = false) {
    auto deadline = Clock::now() + kTimeout;
    for (;;) {
      std::size_t used = 0;
      auto m = parse_message(buf_, MessageKind::response, used, eof_, head_request);
      if (m) {
        buf_.erase(0, used);
        return m;
      }
      if (eof_ || Clock::now() >= deadline) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) eof_ = true;
      if (n > 0) buf_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // Bytes received so far by response() and not consumed.
  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

// One request on a new connection; everything until the connection ends.
std::pair<std::string, End> one_shot(std::uint16_t port, std::string_view request,
                                     Clock::duration quiet = kTimeout) {
  Wire w(port);
  EXPECT_TRUE(w.send(request));
  std::string out;
  End end = w.read(out, quiet);
  return {out, end};
}

// A control call; checks the status and returns the JSON body.
json control(std::uint16_t port, const std::string& method, const std::string& path,
             std::optional<std::string> body = std::nullopt, long status = 200) {
  CurlRequest rq{.method = method, .url = url(port, path)};
  rq.body = body;
  if (body) rq.headers.push_back("Content-Type: application/json");
  auto r = http(rq);
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_FALSE(r.header("X-Fault-Request")) << "control replies are not counted";
  return json::parse(r.body.empty() ? "null" : r.body);
}

// Polls the stats until `key` reaches `value` (work on other connections is asynchronous).
bool wait_stat(std::uint16_t port, const std::string& key, int value) {
  auto deadline = Clock::now() + kTimeout;
  while (Clock::now() < deadline) {
    if (control(port, "GET", "/_fault/stats")[key] == value) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The status of each of n GET / requests, joined by spaces.
std::string statuses(std::uint16_t port, int n, std::string_view path = "/") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    auto r = http_get(url(port, path));
    out += (out.empty() ? "" : " ") + (r.curl_code == 0 ? std::to_string(r.status) : "ERR");
  }
  return out;
}

// --- paths ---------------------------------------------------------------------------------

class FaultBackendPaths : public ::testing::Test {
 protected:
  void SetUp() override { fb_ = start_fault(); }
  std::uint16_t port() const { return fb_->port(); }
  std::unique_ptr<Process> fb_;
};

TEST_F(FaultBackendPaths, UnknownPathsSayHelloAndCountRequests) {
  for (int i = 1; i <= 3; ++i) {
    auto r = http_get(url(port(), i == 1 ? "/" : "/some/where?x=1"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello from fault_backend\n");
    EXPECT_EQ(r.header("Server"), "fault_backend");
    EXPECT_EQ(r.header("X-Fault-Request"), std::to_string(i));
    EXPECT_EQ(r.header("Content-Type"), "text/plain");
  }
}

TEST_F(FaultBackendPaths, StatusGivesThatStatusWithAShortBody) {
  auto r = http({.method = "POST", .url = url(port(), "/status/503"), .body = "x"});
  EXPECT_EQ(r.status_line, "HTTP/1.1 503 Service Unavailable");
  EXPECT_EQ(r.body, "503 Service Unavailable\n");
  r = http({.method = "DELETE", .url = url(port(), "/status/404")});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 Not Found\n");
  Wire w(port());
  w.send(get("/status/204") + get("/status/304") + get("/status/abc"));
  auto m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->start_line, "HTTP/1.1 204 No Content");
  EXPECT_FALSE(m->header("Content-Length"));
  m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 304);
  EXPECT_TRUE(m->body.empty());
  m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 400);
  EXPECT_EQ(m->body, "status: expected an integer 200-599, got 'abc'\n");
  EXPECT_EQ(m->header("X-Fault-Request"), "5");
}

TEST_F(FaultBackendPaths, DelayWaitsBeforeTheHeadWithoutBlockingOthers) {
  auto t0 = Clock::now();
  auto slow = std::async(std::launch::async, [&] { return http_get(url(port(), "/delay/300")); });
  auto hung = std::make_unique<Wire>(port());
  hung->send(get("/hang"));
  // Other connections are served while one waits and one hangs.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(url(port(), "/health")).body, "ok\n");
  auto r = slow.get();
  EXPECT_GE(ms_since(t0), 300);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello from fault_backend\n");
}

TEST_F(FaultBackendPaths, DripSpreadsTheBodyOverTheDuration) {
  auto t0 = Clock::now();
  auto r = http_get(url(port(), "/drip?bytes=5&duration_ms=150"));
  EXPECT_GE(ms_since(t0), 150);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "5");
  EXPECT_EQ(r.body, "*****");
  EXPECT_EQ(http_get(url(port(), "/drip?bytes=0&duration_ms=0")).body, "");
}

TEST_F(FaultBackendPaths, BytesAreDeterministicPattern) {
  auto r = http_get(url(port(), "/bytes/200000"));
  EXPECT_EQ(r.header("Content-Length"), "200000");
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(r.body == pattern(200000));
  auto a = http_get(url(port(), "/bytes/1000?seed=7"));
  EXPECT_TRUE(a.body == seeded(7, 1000));
  EXPECT_NE(a.body, http_get(url(port(), "/bytes/1000?seed=8")).body);
  EXPECT_EQ(http_get(url(port(), "/bytes/0")).body, "");
}

TEST_F(FaultBackendPaths, StreamIsChunkedInDocumentedChunks) {
  Wire w(port());
  w.send(get("/stream/2500") + get("/stream/5?chunk_size=2&seed=3"));
  auto m = w.response();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->chunked);
  EXPECT_EQ(m->header("Transfer-Encoding"), "chunked");
  std::string p = pattern(2500);
  EXPECT_TRUE(m->raw_body == "400\r\n" + p.substr(0, 1024) + "\r\n400\r\n" + p.substr(1024, 1024) +
                                 "\r\n1c4\r\n" + p.substr(2048) + "\r\n0\r\n\r\n");
  m = w.response();
  ASSERT_TRUE(m);
  std::string s = seeded(3, 5);
  EXPECT_EQ(m->raw_body, "2\r\n" + s.substr(0, 2) + "\r\n2\r\n" + s.substr(2, 2) + "\r\n1\r\n" +
                             s.substr(4) + "\r\n0\r\n\r\n");
  // HTTP/1.0 has no chunked coding: the body ends at the close.
  auto [raw, end] = one_shot(port(), "GET /stream/100 HTTP/1.0\r\n\r\n");
  EXPECT_EQ(end, End::eof);
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n" + pattern(100))) << raw;
}

TEST_F(FaultBackendPaths, EchoShowsTheRequestLikeBackend1) {
  auto r = http({.method = "PUT",
                 .url = url(port(), "/echo?a=1"),
                 .headers = {"X-Test: yes"},
                 .body = std::string("bin\0\xff", 5)});
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("X-Fault-Request"), "1");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["server"], "fault_backend");
  EXPECT_EQ(j["method"], "PUT");
  EXPECT_EQ(j["target"], "/echo?a=1");
  EXPECT_EQ(j["version"], "HTTP/1.1");
  EXPECT_EQ(j["body"], "YmluAP8=");
  EXPECT_EQ(j["body_encoding"], "base64");
  EXPECT_EQ(j["body_length"], 5);
  EXPECT_NE(std::find(j["headers"].begin(), j["headers"].end(), json::array({"X-Test", "yes"})),
            j["headers"].end());
  j = json::parse(http({.method = "POST", .url = url(port(), "/echo"), .body = "hi"}).body);
  EXPECT_EQ(j["body"], "hi");
  EXPECT_EQ(j["body_encoding"], "utf-8");
}

TEST_F(FaultBackendPaths, HealthIsOk) {
  auto r = http_get(url(port(), "/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(FaultBackendPaths, ResetSendsRstBeforeAnyByte) {
  auto [out, end] = one_shot(port(), get("/reset"));
  EXPECT_EQ(end, End::reset);
  EXPECT_EQ(out, "");
}

TEST_F(FaultBackendPaths, CloseSendsFinWithoutAnyByte) {
  auto [out, end] = one_shot(port(), get("/close"));
  EXPECT_EQ(end, End::eof);
  EXPECT_EQ(out, "");
}

TEST_F(FaultBackendPaths, HangNeverAnswers) {
  Wire w(port());
  w.send(get("/hang"));
  std::string out;
  EXPECT_EQ(w.read(out, 200ms), End::open);
  EXPECT_EQ(out, "");
  auto s = control(port(), "GET", "/_fault/stats");
  EXPECT_EQ(s["hangs"], 1);
  EXPECT_EQ(s["connections_open"], 2);
  w.close();
  EXPECT_TRUE(wait_stat(port(), "connections_open", 1));  // only the stats call's own
}

TEST_F(FaultBackendPaths, TruncateSendsLessThanContentLengthThenFin) {
  auto [out, end] = one_shot(port(), get("/truncate"));
  EXPECT_EQ(end, End::eof);
  auto head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  auto head = parse_head(out.substr(0, head_end + 4), MessageKind::response);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "100");
  EXPECT_EQ(head.header("X-Fault-Request"), "1");
  EXPECT_EQ(out.substr(head_end + 4), pattern(10));
  auto [out2, end2] = one_shot(port(), get("/truncate?length=5000&sent=3000"));
  EXPECT_EQ(end2, End::eof);
  EXPECT_NE(out2.find("Content-Length: 5000\r\n"), std::string::npos);
  EXPECT_TRUE(out2.ends_with("\r\n\r\n" + pattern(3000)));
  auto r = http_get(url(port(), "/truncate"));
  EXPECT_EQ(r.curl_code, 18) << "CURLE_PARTIAL_FILE";
}

TEST_F(FaultBackendPaths, ResetMidBodySendsPartOfTheBodyThenRst) {
  auto [out, end] = one_shot(port(), get("/reset-mid-body"));
  EXPECT_EQ(end, End::reset);
  EXPECT_NE(out.find("Content-Length: 100\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\n" + pattern(10))) << out;
  auto [big, big_end] = one_shot(port(), get("/reset-mid-body?length=900000&sent=600000"));
  EXPECT_EQ(big_end, End::reset);
  EXPECT_TRUE(big.ends_with("\r\n\r\n" + pattern(600000)));
}

TEST_F(FaultBackendPaths, GarbageIsNotHttpThenFin) {
  auto [out, end] = one_shot(port(), get("/garbage"));
  EXPECT_EQ(end, End::eof);
  const char kGarbage[] = "NOT HTTP\x00\x01\x02\x03\xfe\xff garbage \x7f\r\n\r\n";
  EXPECT_EQ(out, std::string(kGarbage, sizeof kGarbage - 1));
  EXPECT_EQ(out.size(), 28u);
}

TEST_F(FaultBackendPaths, BadChunkSendsAnInvalidChunkSizeThenFin) {
  auto [out, end] = one_shot(port(), get("/bad-chunk"));
  EXPECT_EQ(end, End::eof);
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\r\n\r\nzz\r\nthis is not a chunk\r\n0\r\n\r\n")) << out;
}

TEST_F(FaultBackendPaths, SlowHeadersSpreadsTheHeadOverTheDelay) {
  Wire w(port());
  auto t0 = Clock::now();
  w.send(get("/slow-headers?delay_ms=150"));
  auto m = w.response();
  EXPECT_GE(ms_since(t0), 150);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->body, "Hello from fault_backend\n");
  EXPECT_EQ(m->header("X-Fault-Request"), "1");
}

TEST_F(FaultBackendPaths, HeadKeepAlivePipeliningAndHttp10) {
  Wire w(port());
  w.send("HEAD /bytes/100 HTTP/1.1\r\nHost: t\r\n\r\n" + get("/status/201") +
         "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/stream/3"));
  auto m = w.response(true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header("Content-Length"), "100");
  EXPECT_EQ(m->header("X-Fault-Request"), "1");
  m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 201);
  EXPECT_EQ(m->header("X-Fault-Request"), "2");
  m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(json::parse(m->body)["body"], "abc");
  m = w.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "012");
  EXPECT_EQ(m->header("X-Fault-Request"), "4");
  auto [out, end] = one_shot(port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(end, End::eof);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  Wire k(port());
  k.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  m = k.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header("Connection"), "keep-alive");
  k.send(get("/health"));
  m = k.response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "ok\n");
}

TEST_F(FaultBackendPaths, MalformedRequestGets400AndClose) {
  auto [out, end] = one_shot(port(), "GET / HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_EQ(end, End::eof);
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  auto s = control(port(), "GET", "/_fault/stats");
  EXPECT_EQ(s["bad_requests"], 1);
  EXPECT_EQ(s["requests"], 0);
}

// --- modes and scripts ------------------------------------------------------------------------

TEST(FaultBackendModes, DownIs503EverywhereIncludingHealth) {
  auto fb = start_fault();
  auto c = control(fb->port(), "PUT", "/_fault/config", R"({"mode":"down"})");
  EXPECT_EQ(c["mode"], "down");
  for (const char* path : {"/", "/health", "/bytes/10", "/reset", "/echo"}) {
    auto r = http_get(url(fb->port(), path));
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(r.body, "503 Service Unavailable\n") << path;
  }
  control(fb->port(), "PUT", "/_fault/config", R"({"mode":"up"})");
  EXPECT_EQ(http_get(url(fb->port(), "/health")).status, 200);
}

TEST(FaultBackendModes, ResetAndHangApplyToEveryRequestButNotToControl) {
  auto fb = start_fault({"--mode", "reset"});
  EXPECT_EQ(one_shot(fb->port(), get("/health")).second, End::reset);
  EXPECT_EQ(one_shot(fb->port(), get("/status/200")).second, End::reset);
  control(fb->port(), "POST", "/_fault/config", R"({"mode":"hang"})");
  auto [out, end] = one_shot(fb->port(), get("/health"), 200ms);
  EXPECT_EQ(end, End::open);
  EXPECT_EQ(out, "");
  auto s = control(fb->port(), "GET", "/_fault/stats");
  EXPECT_EQ(s["resets"], 2);
  EXPECT_EQ(s["hangs"], 1);
}

TEST(FaultBackendModes, LatencyDelaysEveryReplyNotControl) {
  auto fb = start_fault({"--latency-ms", "120"});
  auto t0 = Clock::now();
  EXPECT_EQ(http_get(url(fb->port(), "/health")).status, 200);
  EXPECT_GE(ms_since(t0), 120);
  t0 = Clock::now();
  EXPECT_EQ(one_shot(fb->port(), get("/reset")).second, End::reset);
  EXPECT_GE(ms_since(t0), 120);
  control(fb->port(), "PUT", "/_fault/config", R"({"latency_ms":0,"mode":"hang"})");
  EXPECT_EQ(control(fb->port(), "GET", "/_fault/config")["latency_ms"], 0);
}

TEST(FaultBackendModes, SeededErrorRateRepeatsExactly) {
  auto fb = start_fault({"--error-rate", "0.5", "--seed", "42"});
  // Request i fails when draw i of SplitMix64(seed) (top 53 bits / 2^53) is below the rate.
  std::string expected;
  for (int i = 0; i < 24; ++i) {
    double u = static_cast<double>(splitmix(42, static_cast<std::uint64_t>(i)) >> 11) * 0x1.0p-53;
    expected += (expected.empty() ? "" : " ") + std::string(u < 0.5 ? "503" : "200");
  }
  EXPECT_EQ(statuses(fb->port(), 24), expected);
  // The generator restarts at every config change: the same seed gives the same run.
  control(fb->port(), "PUT", "/_fault/config", R"({"error_rate":0.5,"seed":42})");
  EXPECT_EQ(statuses(fb->port(), 24), expected);
  control(fb->port(), "PUT", "/_fault/config", R"({"seed":43})");
  EXPECT_NE(statuses(fb->port(), 24), expected);
  control(fb->port(), "PUT", "/_fault/config", R"({"error_rate":1,"error":"reset"})");
  EXPECT_EQ(one_shot(fb->port(), get("/")).second, End::reset);
  control(fb->port(), "PUT", "/_fault/config", R"({"error":500})");
  EXPECT_EQ(statuses(fb->port(), 2), "500 500");
}

TEST(FaultBackendModes, ThirdRequestGets503ThenResetMidBody) {
  auto fb = start_fault({"--script", "ok,ok,503,reset-mid-body"});
  EXPECT_EQ(statuses(fb->port(), 3), "200 200 503");
  auto [out, end] = one_shot(fb->port(), get("/bytes/5000"));
  EXPECT_EQ(end, End::reset);
  EXPECT_TRUE(out.ends_with("Content-Length: 100\r\n\r\n" + pattern(10))) << out;
  EXPECT_EQ(statuses(fb->port(), 2), "200 200");  // exhausted: mode up
}

TEST(FaultBackendModes, EveryScriptEntry) {
  auto fb = start_fault({"--mode", "down"});
  auto p = fb->port();
  auto s = control(p, "POST", "/_fault/script",
                   R"({"responses":["ok","502","delay:120","reset","close","garbage","truncate",)"
                   R"("reset-mid-body","bad-chunk","hang"]})");
  EXPECT_EQ(s["responses"].size(), 10u);
  EXPECT_EQ(http_get(url(p, "/health")).status, 200);  // ok beats mode down
  EXPECT_EQ(http_get(url(p, "/health")).status, 502);
  auto t0 = Clock::now();
  EXPECT_EQ(http_get(url(p, "/health")).body, "ok\n");
  EXPECT_GE(ms_since(t0), 120);
  EXPECT_EQ(control(p, "GET", "/_fault/script").dump(),
            R"({"responses":["reset","close","garbage","truncate","reset-mid-body","bad-chunk",)"
            R"("hang"]})");
  EXPECT_EQ(one_shot(p, get("/")), std::make_pair(std::string(), End::reset));
  EXPECT_EQ(one_shot(p, get("/")), std::make_pair(std::string(), End::eof));
  auto [garbage, g_end] = one_shot(p, get("/"));
  EXPECT_TRUE(garbage.starts_with("NOT HTTP"));
  EXPECT_EQ(g_end, End::eof);
  auto [trunc, t_end] = one_shot(p, get("/"));
  EXPECT_TRUE(trunc.ends_with("Content-Length: 100\r\n\r\n" + pattern(10)));
  EXPECT_EQ(t_end, End::eof);
  EXPECT_EQ(one_shot(p, get("/")).second, End::reset);
  auto [chunk, c_end] = one_shot(p, get("/"));
  EXPECT_TRUE(chunk.ends_with("\r\n\r\nzz\r\nthis is not a chunk\r\n0\r\n\r\n"));
  EXPECT_EQ(one_shot(p, get("/"), 200ms).second, End::open);
  EXPECT_EQ(statuses(p, 1, "/health"), "503");  // script exhausted: mode down again
}

// --- control API ------------------------------------------------------------------------------

TEST(FaultBackendControl, ConfigScriptResetAndErrors) {
  auto fb = start_fault({"--latency-ms", "1", "--script", "503"});
  auto p = fb->port();
  EXPECT_EQ(control(p, "GET", "/_fault/config").dump(),
            R"({"mode":"up","latency_ms":1,"error_rate":0.0,"seed":0,"error":"503",)"
            R"("h2_goaway_after":0,"h2_max_streams":100,"h2_window":65535})");
  EXPECT_EQ(control(p, "PUT", "/_fault/config", R"({"mode":"down","seed":5})").dump(),
            R"({"mode":"down","latency_ms":1,"error_rate":0.0,"seed":5,"error":"503",)"
            R"("h2_goaway_after":0,"h2_max_streams":100,"h2_window":65535})");
  EXPECT_EQ(control(p, "PUT", "/_fault/config", R"({"mode":"sideways"})", 400)["error"],
            "mode: expected up, down, reset or hang, got 'sideways'");
  EXPECT_EQ(control(p, "POST", "/_fault/config", "nope", 400)["error"], "body is not valid JSON");
  EXPECT_EQ(control(p, "GET", "/_fault/script").dump(), R"({"responses":["503"]})");
  EXPECT_EQ(control(p, "PUT", "/_fault/script", R"({"responses":["ok",404]})").dump(),
            R"({"responses":["ok","404"]})");
  EXPECT_EQ(control(p, "POST", "/_fault/script", R"({"responses":["boom"]})", 400)["error"]
                .get<std::string>()
                .substr(0, 37),
            "responses[0]: unknown response 'boom'");
  EXPECT_EQ(control(p, "DELETE", "/_fault/script").dump(), R"({"responses":[]})");
  EXPECT_EQ(control(p, "GET", "/_fault/nope", std::nullopt, 404)["error"].get<std::string>().substr(
                0, 32),
            "no control endpoint /_fault/nope");
  auto r = http({.method = "GET", .url = url(p, "/_fault/reset")});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST");
  r = http({.method = "HEAD", .url = url(p, "/_fault/stats")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(http_get(url(p, "/")).status, 503);  // mode down
  auto reset = control(p, "POST", "/_fault/reset", "");
  EXPECT_EQ(reset.dump(), R"({"config":{"mode":"up","latency_ms":1,"error_rate":0.0,"seed":0,)"
                          R"("error":"503","h2_goaway_after":0,"h2_max_streams":100,)"
                          R"("h2_window":65535},"responses":["503"]})");
  EXPECT_EQ(statuses(p, 2), "503 200");  // the start-up script again
  auto s = control(p, "GET", "/_fault/stats");
  EXPECT_EQ(s["requests"], 2);
  EXPECT_EQ(s["by_status"].dump(), R"({"200":1,"503":1})");
}

TEST(FaultBackendControl, StatsCountExactly) {
  auto fb = start_fault();
  auto p = fb->port();
  Wire w(p);
  std::string requests = get("/status/503") + "POST /echo HTTP/1.1\r\nHost: t\r\n" +
                         "Content-Length: 2\r\n\r\nhi" + get("/bytes/10");
  w.send(requests);
  std::string received;
  for (int i = 0; i < 3; ++i) {
    auto m = w.response();
    ASSERT_TRUE(m);
    received += m->head + m->raw_body;
  }
  std::string reset_request = "PUT /reset HTTP/1.1\r\nHost: t\r\n\r\n";
  EXPECT_EQ(one_shot(p, reset_request).second, End::reset);
  auto s = control(p, "GET", "/_fault/stats");
  EXPECT_EQ(s.dump(),
            json({{"requests", 4},
                  {"by_path", {{"/bytes/10", 1}, {"/echo", 1}, {"/reset", 1}, {"/status/503", 1}}},
                  {"by_method", {{"GET", 2}, {"POST", 1}, {"PUT", 1}}},
                  {"by_status", {{"200", 2}, {"503", 1}}},
                  {"faults",
                   {{"reset", 1},
                    {"close", 0},
                    {"hang", 0},
                    {"garbage", 0},
                    {"truncate", 0},
                    {"reset-mid-body", 0},
                    {"bad-chunk", 0}}},
                  {"resets", 1},
                  {"closes", 0},
                  {"hangs", 0},
                  {"bad_requests", 0},
                  {"bytes_received", requests.size() + reset_request.size()},
                  {"bytes_sent", received.size()},
                  {"connections_open", 2},
                  {"connections_total", 3},
                  {"h2_connections_total", 0},
                  {"h2_streams_total", 0},
                  {"h2_streams_max_concurrent", 0},
                  {"h2_refused_streams", 0},
                  {"h2_resets_sent", 0},
                  {"h2_goaways_sent", 0}})
                .dump());
  control(p, "POST", "/_fault/reset");
  s = control(p, "GET", "/_fault/stats");
  EXPECT_EQ(s["requests"], 0);
  EXPECT_EQ(s["bytes_sent"], 0);
  EXPECT_TRUE(s["by_path"].empty());
}

// --- flags and signals ------------------------------------------------------------------------

TEST(FaultBackendCli, HelpVersionAndBadFlags) {
  auto help = run_program("fault_backend", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--error-rate P"), std::string::npos);
  auto version = run_program("fault_backend", {"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("fault_backend ")) << version.out;
  auto bad = run_program("fault_backend", {"--mode", "sideways"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "fault_backend: --mode: expected up, down, reset or hang, got 'sideways' (see "
            "--help)\n");
  bad = run_program("fault_backend", {"--script", "ok,nope"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
  EXPECT_EQ(run_program("fault_backend", {"--bogus"}).exit_code, 2);
}

TEST(FaultBackendCli, IdAndQuietLogLevelStillAnnounceThePort) {
  auto fb = start_fault({"--id", "fb-7", "-l", "warn"});
  auto r = http_get(url(fb->port(), "/"));
  EXPECT_EQ(r.header("Server"), "fb-7");
  EXPECT_EQ(r.body, "Hello from fb-7\n");
  EXPECT_EQ(fb->log_count("listening on 127.0.0.1:"), 1u);
}

TEST(FaultBackendCli, SigtermExitsZeroEvenWithHungConnections) {
  auto fb = start_fault({"--mode", "hang"});
  Wire a(fb->port()), b(fb->port());
  a.send(get("/"));
  b.send(get("/drip?bytes=10&duration_ms=60000"));
  EXPECT_TRUE(wait_stat(fb->port(), "hangs", 2));
  EXPECT_EQ(fb->terminate(5s), 0);
  std::string out;
  EXPECT_NE(a.read(out), End::open);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace it
