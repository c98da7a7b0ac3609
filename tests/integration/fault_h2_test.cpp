// fault_backend over HTTP/2: h2c with prior knowledge and ALPN h2 over TLS, checked with
// other people's clients (nghttp, libcurl) for interoperability, and with H2Wire, a raw
// frame client of this file, where the exact frames matter (which streams are answered,
// RST_STREAM codes, GOAWAY's last-stream-id, WINDOW_UPDATEs). H2Wire sends every request of
// a test in one write before it reads anything, so what the server receives is the same on
// every run.

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tls_support.hpp"

namespace it {
namespace {

using json = nlohmann::json;

const std::string kNghttp = "/usr/bin/nghttp";

#define NEED_NGHTTP()                                                      \
  do {                                                                     \
    if (::access(kNghttp.c_str(), X_OK) != 0) GTEST_SKIP() << "no nghttp"; \
  } while (0)

// The unseeded body bytes [0, n) of /bytes (a 64-byte line repeated).
std::string pattern(std::size_t n) {
  static const std::string kLine =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n";
  std::string s;
  s.reserve(n + kLine.size());
  while (s.size() < n) s += kLine;
  return s.substr(0, n);
}

// fault_backend serving HTTPS with the test PKI's good certificate (SAN localhost, api.test).
std::unique_ptr<Process> start_fault_tls(const std::vector<std::string>& extra = {}) {
  const auto& good = test_pki().good;
  std::vector<std::string> args{"--port", "0",       "--listen", "127.0.0.1", "--tls",
                                "--cert", good.cert, "--key",    good.key};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = std::make_unique<Process>("fault_backend", args);
  p->wait_for_port();
  return p;
}

// GET /_fault/stats over HTTP/1.1 (on a connection of its own; HTTPS with `tls`).
json stats(std::uint16_t port, bool tls = false);

json put_config(std::uint16_t port, const std::string& body) {
  auto r = http({.method = "PUT", .url = url(port, "/_fault/config"), .body = body});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body.empty() ? "null" : r.body);
}

// ---------------------------------------------------------------------------------------
// nghttp

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs nghttp with `args` to completion (killed after kTimeout), stdout and stderr apart.
ToolRun nghttp(const std::vector<std::string>& args) {
  TempDir dir("fault-h2");
  std::string out = dir.file("out"), err = dir.file("err");
  std::vector<std::string> sh{"-c", "exec " + kNghttp + " \"$@\" >" + out + " 2>" + err, "sh"};
  sh.insert(sh.end(), args.begin(), args.end());
  Process p("/bin/sh", sh);
  wait_until([&] { return !p.running(); });
  ToolRun r;
  r.exit_code = p.terminate();
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

// What nghttp -v printed for `stream`'s received header fields ("name: value" lines).
std::vector<std::string> received_fields(const std::string& verbose, int stream) {
  std::vector<std::string> fields;
  std::string tag = "recv (stream_id=" + std::to_string(stream) + ") ";
  for (const auto& line : split_lines(verbose)) {
    auto at = line.find(tag);
    if (at != std::string::npos) fields.push_back(line.substr(at + tag.size()));
  }
  return fields;
}

bool has_field(const std::vector<std::string>& fields, const std::string& field) {
  return std::find(fields.begin(), fields.end(), field) != fields.end();
}

// ---------------------------------------------------------------------------------------
// libcurl: several transfers at once, multiplexed on one HTTP/2 connection when possible

struct CurlH2 {
  std::string url;
  long version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  std::optional<std::string> post;
  long timeout_ms = 20'000;
  // Results.
  CURLcode code = CURLE_OK;
  long status = 0;
  long http_version = 0;  // CURLINFO_HTTP_VERSION
  std::string body;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// Runs all transfers together on one multi handle; https URLs name api.test (resolved to
// 127.0.0.1) and are verified against the test CA.
void curl_all(std::vector<CurlH2>& transfers) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  std::vector<CURL*> easies;
  std::vector<curl_slist*> resolves;
  for (auto& t : transfers) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, t.version);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t.timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t.body);
    if (t.post) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, t.post->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.post->size()));
    }
    if (t.url.starts_with("https://api.test:")) {
      auto port = t.url.substr(17, t.url.find('/', 17) - 17);
      resolves.push_back(curl_slist_append(nullptr, ("api.test:" + port + ":127.0.0.1").c_str()));
      curl_easy_setopt(h, CURLOPT_RESOLVE, resolves.back());
      curl_easy_setopt(h, CURLOPT_CAINFO, test_pki().ca_file().c_str());
    }
    curl_easy_setopt(h, CURLOPT_PRIVATE, &t);
    curl_multi_add_handle(multi, h);
    easies.push_back(h);
  }
  int running = 1;
  while (running > 0) {
    curl_multi_perform(multi, &running);
    if (running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CurlH2* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
    t->code = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &t->status);
    curl_easy_getinfo(m->easy_handle, CURLINFO_HTTP_VERSION, &t->http_version);
  }
  for (CURL* h : easies) {
    curl_multi_remove_handle(multi, h);
    curl_easy_cleanup(h);
  }
  for (auto* r : resolves) curl_slist_free_all(r);
  curl_multi_cleanup(multi);
}

json stats(std::uint16_t port, bool tls) {
  if (!tls) return fault_stats(port);
  std::vector<CurlH2> t{{.url = "https://api.test:" + std::to_string(port) + "/_fault/stats",
                         .version = CURL_HTTP_VERSION_1_1}};
  curl_all(t);
  EXPECT_EQ(t[0].status, 200) << t[0].body;
  return json::parse(t[0].body.empty() ? "null" : t[0].body);
}

// ---------------------------------------------------------------------------------------
// H2Wire: a raw HTTP/2 client (RFC 9113) that writes frames as told and reads them back

constexpr std::uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4,
                       kGoaway = 0x7, kWindowUpdate = 0x8;
constexpr std::uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;

struct Frame {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;
  std::string payload;
};

std::string u32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::uint32_t read_u32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i]));
  };
  return b(at) << 24 | b(at + 1) << 16 | b(at + 2) << 8 | b(at + 3);
}

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload) {
  std::string f;
  auto n = static_cast<std::uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += u32(stream & 0x7fffffff);
  f.append(payload);
  return f;
}

// RFC 7541 §5.1 integer with a 7-bit prefix (H bit 0), then the octets.
void hpack_string(std::string& out, std::string_view s) {
  std::size_t n = s.size();
  if (n < 127) {
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(127);
    n -= 127;
    while (n >= 128) {
      out += static_cast<char>(n % 128 + 128);
      n /= 128;
    }
    out += static_cast<char>(n);
  }
  out.append(s);
}

// A header block of literal fields without indexing, new names (RFC 7541 §6.2.2).
std::string header_block(const std::vector<Header>& fields) {
  std::string block;
  for (const auto& [name, value] : fields) {
    block += '\0';
    hpack_string(block, name);
    hpack_string(block, value);
  }
  return block;
}

// How the connection ended, seen from the client.
enum class End { open, eof, reset };

class H2Wire {
 public:
  // Connects and queues the preface, SETTINGS (our stream windows as large as allowed) and a
  // connection WINDOW_UPDATE, so that our windows never hold a reply back.
  explicit H2Wire(std::uint16_t port) {
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
    pending_ = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    pending_ += frame(kSettings, 0, 0, std::string("\0\x04", 2) + u32(0x7fffffff));
    pending_ += frame(kWindowUpdate, 0, 0, u32(0x7fffffff - 65535));
  }
  ~H2Wire() {
    if (fd_ >= 0) ::close(fd_);
  }
  H2Wire(const H2Wire&) = delete;
  H2Wire& operator=(const H2Wire&) = delete;

  // Queues a request HEADERS frame (END_HEADERS; END_STREAM with `end_stream`).
  void request(std::uint32_t stream, const std::string& method, const std::string& path,
               bool end_stream = true, const std::vector<Header>& extra = {}) {
    std::vector<Header> fields{
        {":method", method}, {":scheme", "http"}, {":authority", "127.0.0.1"}, {":path", path}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    pending_ +=
        frame(kHeaders, kEndHeaders | (end_stream ? kEndStream : 0), stream, header_block(fields));
  }
  void get(std::uint32_t stream, const std::string& path) { request(stream, "GET", path); }
  // Queues `body` as DATA frames of at most 16384 bytes (the default SETTINGS_MAX_FRAME_SIZE).
  void data(std::uint32_t stream, std::string_view body, bool end_stream) {
    do {
      std::string_view piece = body.substr(0, 16384);
      body.remove_prefix(piece.size());
      pending_ += frame(kData, body.empty() && end_stream ? kEndStream : 0, stream, piece);
    } while (!body.empty());
  }
  // Writes everything queued in one go.
  void send() {
    std::string_view rest = pending_;
    while (!rest.empty()) {
      ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      // A reset is reported once, to whichever call comes first: keep it for end().
      if (n < 0 && errno == ECONNRESET) reset_seen_ = true;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    pending_.clear();
  }

  // Frames up to and including the first for which `done` holds; stops early when the
  // connection ends or the deadline passes. The server's SETTINGS are acknowledged.
  std::vector<Frame> until(const std::function<bool(const Frame&)>& done,
                           Clock::duration timeout = kTimeout) {
    std::vector<Frame> got;
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto f = parse();
      if (f) {
        if (f->type == kSettings && (f->flags & kAck) == 0) {
          pending_ += frame(kSettings, kAck, 0, {});
          send();
        }
        got.push_back(*f);
        if (done(*f)) return got;
        continue;
      }
      if (end_ != End::open || !fill(deadline)) return got;
    }
  }
  // Every frame until the connection ends.
  std::vector<Frame> until_end(Clock::duration timeout = kTimeout) {
    return until([](const Frame&) { return false; }, timeout);
  }
  // Frames until every one of `streams` ended (END_STREAM or RST_STREAM from the server).
  std::vector<Frame> until_done(std::set<std::uint32_t> streams) {
    return until([left = std::move(streams)](const Frame& f) mutable {
      bool ends = f.type == kRstStream ||
                  ((f.type == kData || f.type == kHeaders) && (f.flags & kEndStream) != 0);
      if (ends) left.erase(f.stream);
      return left.empty();
    });
  }

  End end() const { return end_; }
  // Bytes received that do not make a complete frame.
  const std::string& buffered() const { return buf_; }

 private:
  std::optional<Frame> parse() {
    if (buf_.size() < 9) return std::nullopt;
    std::size_t n = static_cast<unsigned char>(buf_[0]) << 16 |
                    static_cast<unsigned char>(buf_[1]) << 8 | static_cast<unsigned char>(buf_[2]);
    if (buf_.size() < 9 + n) return std::nullopt;
    Frame f;
    f.type = static_cast<std::uint8_t>(buf_[3]);
    f.flags = static_cast<std::uint8_t>(buf_[4]);
    f.stream = read_u32(buf_, 5) & 0x7fffffff;
    f.payload = buf_.substr(9, n);
    buf_.erase(0, 9 + n);
    return f;
  }

  bool fill(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) return true;
    bool reset = reset_seen_ || (n < 0 && errno == ECONNRESET);
    end_ = reset ? End::reset : End::eof;
    return false;
  }

  int fd_ = -1;
  std::string pending_;
  std::string buf_;
  End end_ = End::open;
  bool reset_seen_ = false;
};

std::vector<Frame> on_stream(const std::vector<Frame>& frames, std::uint32_t stream) {
  std::vector<Frame> out;
  for (const auto& f : frames) {
    if (f.stream == stream) out.push_back(f);
  }
  return out;
}
std::string data_of(const std::vector<Frame>& frames, std::uint32_t stream) {
  std::string out;
  for (const auto& f : on_stream(frames, stream)) {
    if (f.type == kData) out += f.payload;
  }
  return out;
}
const Frame* find_frame(const std::vector<Frame>& frames, std::uint8_t type, std::uint32_t stream) {
  for (const auto& f : frames) {
    if (f.type == type && f.stream == stream) return &f;
  }
  return nullptr;
}
// The frame types received on `stream`, in order ("HEADERS DATA").
std::string types_on(const std::vector<Frame>& frames, std::uint32_t stream) {
  static const char* kNames[] = {"DATA", "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
                                 "PUSH", "PING",    "GOAWAY",   "WINDOW_UPDATE", "CONTINUATION"};
  std::string out;
  for (const auto& f : on_stream(frames, stream)) {
    if (!out.empty()) out += ' ';
    out += f.type < std::size(kNames) ? kNames[f.type] : "?";
  }
  return out;
}
// HPACK of the first field: 0x88 is ":status: 200" from the static table (RFC 7541 App. A),
// which nghttp2 always uses for it.
bool status_200(const Frame& headers) {
  return !headers.payload.empty() && static_cast<unsigned char>(headers.payload[0]) == 0x88;
}

// ---------------------------------------------------------------------------------------
// With nghttp, over TLS (ALPN h2) and h2c with prior knowledge

class FaultH2Nghttp : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (::access(kNghttp.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << kNghttp;
    tls_ = GetParam();
    fb_ = tls_ ? start_fault_tls() : start_fault();
  }
  std::string base() const {
    return (tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(fb_->port());
  }
  // nghttp with its certificate warnings suppressed (it has no option for our CA).
  ToolRun get(const std::string& path, std::vector<std::string> args = {}) {
    args.insert(args.begin(), "-y");
    args.push_back(base() + path);
    return nghttp(args);
  }
  bool tls_ = false;
  std::unique_ptr<Process> fb_;
};

INSTANTIATE_TEST_SUITE_P(Transport, FaultH2Nghttp, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "H2c"; });

TEST_P(FaultH2Nghttp, HelloAndStatus) {
  auto r = get("/");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello from fault_backend\n");
  r = get("/status/503", {"-v"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (tls_) EXPECT_NE(r.out.find("The negotiated protocol: h2"), std::string::npos) << r.out;
  auto fields = received_fields(r.out, 13);
  ASSERT_FALSE(fields.empty()) << r.out;
  EXPECT_EQ(fields[0], ":status: 503");
  EXPECT_TRUE(has_field(fields, "server: fault_backend")) << r.out;
  EXPECT_TRUE(has_field(fields, "x-fault-request: 2")) << r.out;
  EXPECT_TRUE(has_field(fields, "content-type: text/plain")) << r.out;
  EXPECT_TRUE(has_field(fields, "content-length: 24")) << r.out;
  EXPECT_NE(r.out.find("503 Service Unavailable\n"), std::string::npos) << r.out;
}

TEST_P(FaultH2Nghttp, EchoShowsThePostBodyAndTrailers) {
  TempDir dir("fault-h2-echo");
  std::string file = dir.file("body");
  std::ofstream(file) << "posted over h2";
  auto r = get("/echo?x=1", {"-d", file, "-H", "x-test: yes", "--trailer", "x-sum: 42"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["server"], "fault_backend");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["target"], "/echo?x=1");
  EXPECT_EQ(j["version"], "HTTP/2");
  EXPECT_EQ(j["body"], "posted over h2");
  EXPECT_EQ(j["body_encoding"], "utf-8");
  EXPECT_EQ(j["body_length"], 14);
  auto has = [&](const char* key, const json& pair) {
    return std::find(j[key].begin(), j[key].end(), pair) != j[key].end();
  };
  EXPECT_TRUE(has("headers", json::array({":method", "POST"}))) << j.dump();
  EXPECT_TRUE(has("headers", json::array({":scheme", tls_ ? "https" : "http"}))) << j.dump();
  EXPECT_TRUE(has("headers", json::array({"x-test", "yes"}))) << j.dump();
  EXPECT_EQ(j["trailers"], json::array({json::array({"x-sum", "42"})})) << j.dump();
}

TEST_P(FaultH2Nghttp, BytesOfEverySize) {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{16384}, std::size_t{65536},
                        std::size_t{100000}, std::size_t{1} << 20}) {
    auto r = get("/bytes/" + std::to_string(n));
    EXPECT_EQ(r.exit_code, 0) << n << ": " << r.err;
    EXPECT_EQ(r.out.size(), n);
    EXPECT_TRUE(r.out == pattern(n)) << n;
  }
}

TEST_P(FaultH2Nghttp, TrailersComeAfterTheBody) {
  auto r = get("/trailers", {"-v"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto fields = received_fields(r.out, 13);
  std::vector<std::string> want{":status: 200",       "server: fault_backend",
                                "x-fault-request: 1", "content-type: text/plain",
                                "content-length: 8",  "x-checksum: abc123",
                                "x-trailer-2: two"};
  EXPECT_EQ(fields, want) << r.out;
  auto body = r.out.find("trailers[");  // the body, then nghttp's next log line
  auto trailer = r.out.find("x-checksum: abc123");
  EXPECT_NE(body, std::string::npos) << r.out;
  EXPECT_LT(body, trailer) << r.out;
  // The trailers end the stream: a HEADERS frame with END_STREAM | END_HEADERS.
  EXPECT_NE(r.out.find("recv HEADERS frame <length=", trailer), std::string::npos);
  EXPECT_NE(r.out.find("flags=0x05, stream_id=13>", trailer), std::string::npos) << r.out;
}

TEST_P(FaultH2Nghttp, CookiesAreThreeFields) {
  auto r = get("/cookies", {"-v"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> cookies;
  for (const auto& f : received_fields(r.out, 13)) {
    if (f.starts_with("set-cookie: ")) cookies.push_back(f.substr(12));
  }
  EXPECT_EQ(cookies, (std::vector<std::string>{"a=1", "b=2; Path=/", "c=3; HttpOnly"})) << r.out;
}

TEST_P(FaultH2Nghttp, ControlApiAndStatsOverHttp2) {
  TempDir dir("fault-h2-config");
  std::string patch = dir.file("patch.json");
  std::ofstream(patch) << R"({"error":"500"})";
  auto r = get("/_fault/config", {"-d", patch});  // nghttp -d POSTs
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["error"], "500");
  get("/");
  get("/status/404");
  r = get("/_fault/stats");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto s = json::parse(r.out);
  EXPECT_EQ(s["requests"], 2);
  EXPECT_EQ(s["by_status"]["200"], 1);
  EXPECT_EQ(s["by_status"]["404"], 1);
  EXPECT_EQ(s["by_path"]["/status/404"], 1);
  EXPECT_EQ(s["h2_connections_total"], 4);
  EXPECT_EQ(s["connections_total"], 4);
  EXPECT_EQ(s["connections_open"], 1);
  EXPECT_EQ(s["h2_streams_total"], 4);
  EXPECT_EQ(s["h2_streams_max_concurrent"], 1);
  EXPECT_EQ(s["h2_refused_streams"], 0);
  EXPECT_EQ(s["h2_resets_sent"], 0);
  EXPECT_EQ(s["h2_goaways_sent"], 0);
  r = get("/_fault/reset", {"-d", "/dev/null"});
  EXPECT_NE(r.out.find("\"config\""), std::string::npos) << r.out;
  s = stats(fb_->port(), tls_);  // over HTTP/1.1, a connection of its own
  EXPECT_EQ(s["h2_connections_total"], 0);
  EXPECT_EQ(s["h2_streams_total"], 0);
  EXPECT_EQ(s["requests"], 0);
}

TEST_P(FaultH2Nghttp, RstStreamWithTheNamedCodeWhileAnotherStreamSucceeds) {
  auto r =
      nghttp({"-y", "-v", base() + "/h2/rst-stream?code=ENHANCE_YOUR_CALM", base() + "/health"});
  auto rst = r.out.find("recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>");
  ASSERT_NE(rst, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(error_code=ENHANCE_YOUR_CALM(0x0b))", rst), std::string::npos);
  EXPECT_TRUE(received_fields(r.out, 13).empty()) << "reset before any response";
  auto other = received_fields(r.out, 15);
  ASSERT_FALSE(other.empty()) << r.out;
  EXPECT_EQ(other[0], ":status: 200");
  EXPECT_NE(r.out.find("ok\n"), std::string::npos);

  r = get("/h2/rst-stream?code=CANCEL&after_headers=1", {"-v"});
  auto fields = received_fields(r.out, 13);
  ASSERT_FALSE(fields.empty()) << r.out;
  EXPECT_EQ(fields[0], ":status: 200");
  rst = r.out.find("recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>");
  ASSERT_NE(rst, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(error_code=CANCEL(0x08))", rst), std::string::npos);
  EXPECT_EQ(stats(fb_->port(), tls_)["h2_resets_sent"], 2);
}

TEST_P(FaultH2Nghttp, GoawayLeavesHigherStreamsUnanswered) {
  // nghttp sends the three requests at once, before it reads anything.
  auto r = nghttp({"-y", "-v", base() + "/h2/goaway", base() + "/", base() + "/health"});
  auto goaway = r.out.find("recv GOAWAY frame");
  ASSERT_NE(goaway, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(last_stream_id=13, error_code=NO_ERROR(0x00)", goaway), std::string::npos)
      << r.out;
  auto fields = received_fields(r.out, 13);
  ASSERT_FALSE(fields.empty()) << r.out;
  EXPECT_EQ(fields[0], ":status: 200");
  EXPECT_NE(r.out.find("goaway["), std::string::npos) << r.out;  // the body
  EXPECT_TRUE(received_fields(r.out, 15).empty()) << r.out;
  EXPECT_TRUE(received_fields(r.out, 17).empty()) << r.out;
  auto s = stats(fb_->port(), tls_);
  EXPECT_EQ(s["requests"], 1);
  EXPECT_EQ(s["by_path"].dump(), R"({"/h2/goaway":1})");
  EXPECT_EQ(s["h2_refused_streams"], 2);
  EXPECT_EQ(s["h2_goaways_sent"], 1);
}

TEST_P(FaultH2Nghttp, TruncateIsALengthMismatchForTheClient) {
  auto r = get("/truncate?length=100&sent=10", {"-v"});
  EXPECT_TRUE(has_field(received_fields(r.out, 13), "content-length: 100")) << r.out;
  // nghttp2 checks the length (RFC 9113 §8.1.1) and resets the stream itself.
  auto rst = r.out.find("send RST_STREAM frame <length=4, flags=0x00, stream_id=13>");
  ASSERT_NE(rst, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PROTOCOL_ERROR", rst), std::string::npos) << r.out;
}

// ---------------------------------------------------------------------------------------
// SETTINGS

TEST(FaultH2Settings, MaxStreamsAndWindowAreAnnounced) {
  NEED_NGHTTP();
  auto fb = start_fault({"--h2-max-streams", "7", "--h2-window", "1048576"});
  std::string u = url(fb->port(), "/");
  auto r = nghttp({"-v", u});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto recv = r.out.find("recv SETTINGS frame");
  ASSERT_NE(recv, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7]", recv), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[SETTINGS_INITIAL_WINDOW_SIZE(0x04):1048576]", recv), std::string::npos);
  // The connection window grows to match (RFC 9113 §6.9.2: only WINDOW_UPDATE can).
  auto wu = r.out.find("recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>");
  ASSERT_NE(wu, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(window_size_increment=983041)", wu), std::string::npos) << r.out;

  // At run time, for new connections.
  auto c = put_config(fb->port(), R"({"h2_max_streams":3,"h2_window":70000})");
  EXPECT_EQ(c["h2_max_streams"], 3);
  r = nghttp({"-v", u});
  EXPECT_NE(r.out.find("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):3]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[SETTINGS_INITIAL_WINDOW_SIZE(0x04):70000]"), std::string::npos);
  r = nghttp({"-v", url(start_fault()->port(), "/")});
  EXPECT_NE(r.out.find("[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]"), std::string::npos);
  EXPECT_NE(r.out.find("[SETTINGS_INITIAL_WINDOW_SIZE(0x04):65535]"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// libcurl: concurrency, TLS with verification, fallback to HTTP/1.1

// Over TLS: libcurl 7.88.1 (Debian 12) fails multiplexed transfers on a prior-knowledge
// connection with "Error in the HTTP2 framing layer" whatever the server (curl issue 10634,
// fixed in 7.89.0); h2c multiplexing is checked with nghttp below.
TEST(FaultH2Curl, ManyConcurrentStreamsShareOneConnection) {
  auto fb = start_fault_tls();
  std::vector<CurlH2> t;
  for (int i = 0; i < 10; ++i) {
    t.push_back({.url = "https://api.test:" + std::to_string(fb->port()) + "/delay/1000",
                 .version = CURL_HTTP_VERSION_2TLS});
  }
  curl_all(t);
  for (const auto& x : t) {
    EXPECT_EQ(x.code, CURLE_OK) << curl_easy_strerror(x.code);
    EXPECT_EQ(x.status, 200);
    EXPECT_EQ(x.http_version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(x.body, "Hello from fault_backend\n");
  }
  auto s = stats(fb->port(), true);
  EXPECT_EQ(s["connections_total"], 2);  // curl's and this stats call's
  EXPECT_EQ(s["h2_connections_total"], 1);
  EXPECT_EQ(s["h2_streams_total"], 10);
  EXPECT_GT(s["h2_streams_max_concurrent"].get<int>(), 1);
  EXPECT_EQ(s["requests"], 10);
}

TEST(FaultH2Curl, NghttpMultiplexesH2c) {
  NEED_NGHTTP();
  auto fb = start_fault();
  auto r = nghttp({"-n", "-s", "-m", "10", url(fb->port(), "/delay/1000")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_of(r.out, " 200 "), 10u) << r.out;
  auto s = stats(fb->port());
  EXPECT_EQ(s["connections_total"], 2);
  EXPECT_EQ(s["h2_connections_total"], 1);
  EXPECT_EQ(s["h2_streams_total"], 10);
  EXPECT_GT(s["h2_streams_max_concurrent"].get<int>(), 1);
}

TEST(FaultH2Curl, TlsNegotiatesH2AndNoH2FallsBackToHttp11) {
  auto fb = start_fault_tls();
  std::string u = "https://api.test:" + std::to_string(fb->port()) + "/echo";
  std::vector<CurlH2> t{{.url = u, .version = CURL_HTTP_VERSION_2TLS, .post = "x"}};
  curl_all(t);
  EXPECT_EQ(t[0].code, CURLE_OK) << curl_easy_strerror(t[0].code);
  EXPECT_EQ(t[0].http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(json::parse(t[0].body)["version"], "HTTP/2");

  auto old = start_fault_tls({"--no-h2"});
  u = "https://api.test:" + std::to_string(old->port()) + "/echo";
  t = {{.url = u, .version = CURL_HTTP_VERSION_2TLS, .post = "x"}};
  curl_all(t);
  EXPECT_EQ(t[0].code, CURLE_OK) << curl_easy_strerror(t[0].code);
  EXPECT_EQ(t[0].status, 200);
  EXPECT_EQ(t[0].http_version, CURL_HTTP_VERSION_1_1);
  EXPECT_EQ(json::parse(t[0].body)["version"], "HTTP/1.1");
  EXPECT_EQ(stats(old->port(), true)["h2_connections_total"], 0);

  // ALPN as a client offering only h2 sees it: nothing selected with --no-h2.
  auto only_h2 = tls_client_ctx(test_pki().ca_file(), {"h2"});
  TlsTestClient a(only_h2.get(), fb->port(), "localhost");
  ASSERT_TRUE(a.handshake()) << a.error();
  EXPECT_EQ(a.alpn(), "h2");
  TlsTestClient b(only_h2.get(), old->port(), "localhost");
  ASSERT_TRUE(b.handshake()) << b.error();
  EXPECT_EQ(b.alpn(), "");
  auto both = tls_client_ctx(test_pki().ca_file(), {"h2", "http/1.1"});
  TlsTestClient c(both.get(), old->port(), "localhost");
  ASSERT_TRUE(c.handshake()) << c.error();
  EXPECT_EQ(c.alpn(), "http/1.1");
}

TEST(FaultH2Curl, NghttpIsRefusedWithNoH2) {
  NEED_NGHTTP();
  auto fb = start_fault_tls({"--no-h2"});
  auto r = nghttp({"-y", "https://localhost:" + std::to_string(fb->port()) + "/"});
  EXPECT_NE((r.out + r.err).find("HTTP/2 protocol was not selected"), std::string::npos)
      << r.out << r.err;
}

TEST(FaultH2Curl, Http11AndH2cShareThePlainPort) {
  auto fb = start_fault();
  auto one = http_get(url(fb->port(), "/health"));
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.status_line, "HTTP/1.1 200 OK");
  std::vector<CurlH2> t{{.url = url(fb->port(), "/health")}};
  curl_all(t);
  EXPECT_EQ(t[0].http_version, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(t[0].body, "ok\n");
  // HTTP/1.1 on the same port still pipelines, so the preface check kept every byte.
  RawClient raw(fb->port());
  raw.send("GET /status/201 HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  auto m = raw.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 201);
  m = raw.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "ok\n");
  auto s = stats(fb->port());
  EXPECT_EQ(s["h2_connections_total"], 1);
  EXPECT_EQ(s["requests"], 4);
}

TEST(FaultH2Curl, NoH2TakesThePrefaceForHttp11) {
  auto fb = start_fault({"--no-h2"});
  RawClient raw(fb->port());
  raw.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  std::string out = raw.read_until_close();
  EXPECT_TRUE(out.starts_with("HTTP/1.1 ")) << out;
  EXPECT_EQ(stats(fb->port())["h2_connections_total"], 0);
}

TEST(FaultH2Curl, SlowWindowStallsALargeUploadOnly) {
  auto fb = start_fault_tls();
  std::string base = "https://api.test:" + std::to_string(fb->port());
  auto h2 = CURL_HTTP_VERSION_2TLS;
  std::vector<CurlH2> t{
      {.url = base + "/h2/slow-window",
       .version = h2,
       .post = std::string(200000, 'x'),
       .timeout_ms = 1000},
      {.url = base + "/h2/slow-window", .version = h2, .post = std::string(100, 'x')},
      {.url = base + "/echo", .version = h2, .post = std::string(100000, 'y')},
  };
  curl_all(t);
  EXPECT_EQ(t[0].code, CURLE_OPERATION_TIMEDOUT) << curl_easy_strerror(t[0].code);
  EXPECT_EQ(t[0].status, 0);
  EXPECT_EQ(t[1].code, CURLE_OK) << curl_easy_strerror(t[1].code);
  EXPECT_EQ(t[1].body, "Hello from fault_backend\n");
  EXPECT_EQ(t[2].code, CURLE_OK) << curl_easy_strerror(t[2].code);
  EXPECT_EQ(json::parse(t[2].body)["body_length"], 100000);
}

// ---------------------------------------------------------------------------------------
// The exact frames, with H2Wire

TEST(FaultH2Wire, OpenStreamsAreCountedPerConnection) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  // Three requests whose bodies have not ended: all three are open at once.
  for (std::uint32_t id : {1u, 3u, 5u}) w.request(id, "POST", "/echo", false);
  w.send();
  for (std::uint32_t id : {1u, 3u, 5u}) w.data(id, "b" + std::to_string(id), true);
  w.send();
  auto frames = w.until_done({1, 3, 5});
  for (std::uint32_t id : {1u, 3u, 5u}) {
    EXPECT_EQ(json::parse(data_of(frames, id))["body"], "b" + std::to_string(id)) << id;
  }
  auto s = stats(fb->port());
  EXPECT_EQ(s["h2_streams_max_concurrent"], 3);
  EXPECT_EQ(s["h2_streams_total"], 3);
  EXPECT_EQ(s["bytes_received"], 6);  // over HTTP/2: DATA payloads only
}

TEST(FaultH2Wire, ADelayedStreamDoesNotHoldOthersBack) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/delay/400");
  w.get(3, "/health");
  w.send();
  auto frames = w.until_done({3});
  EXPECT_TRUE(on_stream(frames, 1).empty()) << "stream 1 is still waiting";
  EXPECT_EQ(data_of(frames, 3), "ok\n");
  frames = w.until_done({1});
  EXPECT_EQ(data_of(frames, 1), "Hello from fault_backend\n");
}

TEST(FaultH2Wire, RstStreamCodesBeforeAndAfterHeaders) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/h2/rst-stream?code=REFUSED_STREAM");
  w.get(3, "/h2/rst-stream?code=0x1f&after_headers=1");
  w.get(5, "/h2/rst-stream");
  w.get(7, "/health");
  w.send();
  auto frames = w.until_done({1, 3, 5, 7});
  EXPECT_EQ(types_on(frames, 1), "RST_STREAM");
  EXPECT_EQ(read_u32(find_frame(frames, kRstStream, 1)->payload, 0), 7u);
  EXPECT_EQ(types_on(frames, 3), "HEADERS RST_STREAM");
  EXPECT_TRUE(status_200(*find_frame(frames, kHeaders, 3)));
  EXPECT_EQ(read_u32(find_frame(frames, kRstStream, 3)->payload, 0), 0x1fu);
  EXPECT_EQ(read_u32(find_frame(frames, kRstStream, 5)->payload, 0), 2u);  // INTERNAL_ERROR
  EXPECT_EQ(types_on(frames, 7), "HEADERS DATA");
  EXPECT_EQ(data_of(frames, 7), "ok\n");
  auto s = stats(fb->port());
  EXPECT_EQ(s["h2_resets_sent"], 3);
  EXPECT_EQ(s["requests"], 4);
  EXPECT_EQ(s["by_status"]["200"], 2);  // the HEADERS of stream 3, and stream 7
}

TEST(FaultH2Wire, GoawayPathRefusesHigherStreamsThenCloses) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/h2/goaway");
  w.get(3, "/");
  w.get(5, "/health");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::eof);
  const Frame* goaway = find_frame(frames, kGoaway, 0);
  ASSERT_NE(goaway, nullptr);
  EXPECT_EQ(read_u32(goaway->payload, 0), 1u);  // last-stream-id
  EXPECT_EQ(read_u32(goaway->payload, 4), 0u);  // NO_ERROR
  EXPECT_EQ(types_on(frames, 1), "HEADERS DATA");
  EXPECT_EQ(data_of(frames, 1), "goaway");
  EXPECT_EQ(types_on(frames, 3), "");
  EXPECT_EQ(types_on(frames, 5), "");
  auto s = stats(fb->port());
  EXPECT_EQ(s["h2_refused_streams"], 2);
  EXPECT_EQ(s["h2_goaways_sent"], 1);
  EXPECT_EQ(s["h2_streams_total"], 1);
  EXPECT_EQ(s["requests"], 1);
}

TEST(FaultH2Wire, GoawayAfterNStreamsFromTheCommandLine) {
  auto fb = start_fault({"--h2-goaway-after", "2"});
  H2Wire w(fb->port());
  for (std::uint32_t id : {1u, 3u, 5u, 7u}) w.get(id, "/health");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::eof);
  const Frame* goaway = find_frame(frames, kGoaway, 0);
  ASSERT_NE(goaway, nullptr);
  EXPECT_EQ(read_u32(goaway->payload, 0), 3u);
  EXPECT_EQ(data_of(frames, 1), "ok\n");
  EXPECT_EQ(data_of(frames, 3), "ok\n");
  EXPECT_EQ(types_on(frames, 5), "");
  EXPECT_EQ(types_on(frames, 7), "");
  auto s = stats(fb->port());
  EXPECT_EQ(s["requests"], 2);
  EXPECT_EQ(s["h2_refused_streams"], 2);
  EXPECT_EQ(s["h2_goaways_sent"], 1);
}

TEST(FaultH2Wire, GoawayAfterSetAtRunTimeReachesOpenConnections) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/health");
  w.send();
  EXPECT_EQ(data_of(w.until_done({1}), 1), "ok\n");
  EXPECT_EQ(put_config(fb->port(), R"({"h2_goaway_after":2})")["h2_goaway_after"], 2);
  w.get(3, "/health");  // this connection's 2nd stream
  w.get(5, "/health");
  w.send();
  auto frames = w.until_end();
  const Frame* goaway = find_frame(frames, kGoaway, 0);
  ASSERT_NE(goaway, nullptr);
  EXPECT_EQ(read_u32(goaway->payload, 0), 3u);
  EXPECT_EQ(data_of(frames, 3), "ok\n");
  EXPECT_EQ(types_on(frames, 5), "");

  H2Wire fresh(fb->port());
  for (std::uint32_t id : {1u, 3u, 5u}) fresh.get(id, "/health");
  fresh.send();
  frames = fresh.until_end();
  goaway = find_frame(frames, kGoaway, 0);
  ASSERT_NE(goaway, nullptr);
  EXPECT_EQ(read_u32(goaway->payload, 0), 3u);
  EXPECT_EQ(types_on(frames, 5), "");
  EXPECT_EQ(stats(fb->port())["h2_refused_streams"], 2);

  put_config(fb->port(), R"({"h2_goaway_after":0})");
  H2Wire again(fb->port());
  for (std::uint32_t id : {1u, 3u, 5u}) again.get(id, "/health");
  again.send();
  frames = again.until_done({1, 3, 5});
  EXPECT_EQ(find_frame(frames, kGoaway, 0), nullptr);
}

TEST(FaultH2Wire, SlowWindowWithholdsOnlyThatStreamsCredit) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  // Exactly the initial window (65535) on stream 1: it can send nothing more.
  w.request(1, "POST", "/h2/slow-window", false);
  w.data(1, std::string(65535, 's'), false);
  w.send();
  // The connection window comes back, so other streams can still send.
  auto frames = w.until([](const Frame& f) { return f.type == kWindowUpdate && f.stream == 0; });
  const Frame* credit = find_frame(frames, kWindowUpdate, 0);
  ASSERT_NE(credit, nullptr);
  EXPECT_GT(read_u32(credit->payload, 0), 0u);
  w.request(3, "POST", "/echo", false);
  w.data(3, std::string(1000, 'e'), true);
  w.request(5, "POST", "/h2/slow-window", false);
  w.data(5, "fits", true);  // a body within the window: answered normally
  w.send();
  auto more = w.until_done({3, 5});
  frames.insert(frames.end(), more.begin(), more.end());
  EXPECT_EQ(json::parse(data_of(frames, 3))["body_length"], 1000);
  EXPECT_EQ(data_of(frames, 5), "Hello from fault_backend\n");
  EXPECT_EQ(types_on(frames, 1), "") << "no WINDOW_UPDATE and no reply for stream 1";
  EXPECT_EQ(find_frame(frames, kWindowUpdate, 5), nullptr);
  auto s = stats(fb->port());
  EXPECT_EQ(s["bytes_received"], 65535 + 1000 + 4);
}

TEST(FaultH2Wire, ResetIsATcpResetOfTheConnection) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/reset");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::reset);
  EXPECT_EQ(types_on(frames, 1), "");
  EXPECT_EQ(find_frame(frames, kGoaway, 0), nullptr);
  EXPECT_EQ(stats(fb->port())["faults"]["reset"], 1);
}

TEST(FaultH2Wire, CloseEndsTheConnectionWithoutGoaway) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/close");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::eof);
  EXPECT_EQ(types_on(frames, 1), "");
  EXPECT_EQ(find_frame(frames, kGoaway, 0), nullptr);
  EXPECT_EQ(stats(fb->port())["closes"], 1);
}

TEST(FaultH2Wire, GarbageIsWrittenOutsideAnyFrame) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/garbage");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::eof);
  EXPECT_EQ(types_on(frames, 1), "");
  EXPECT_TRUE(w.buffered().starts_with(std::string("NOT HTTP\0\x01\x02\x03", 12)))
      << w.buffered().size();
  EXPECT_EQ(w.buffered().size(), 28u);
}

TEST(FaultH2Wire, BadChunkIsAMalformedDataFrameAfterTheHeaders) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/bad-chunk");
  w.send();
  auto frames = w.until_end();
  EXPECT_EQ(w.end(), End::eof);
  EXPECT_EQ(types_on(frames, 1), "HEADERS DATA");
  const Frame* bad = find_frame(frames, kData, 1);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->flags, 0x8);       // PADDED
  EXPECT_EQ(bad->payload, "\x05");  // pad length 5 > the 0 bytes left: PROTOCOL_ERROR
}

TEST(FaultH2Wire, TruncateAndResetMidBody) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/truncate?length=100&sent=10");
  w.get(3, "/reset-mid-body?length=100000&sent=20000");
  w.send();
  auto frames = w.until_done({1, 3});
  EXPECT_EQ(data_of(frames, 1), pattern(10));
  EXPECT_EQ(data_of(frames, 3), pattern(20000));
  const Frame* rst = find_frame(frames, kRstStream, 3);
  ASSERT_NE(rst, nullptr);
  EXPECT_EQ(read_u32(rst->payload, 0), 2u);  // INTERNAL_ERROR
  for (const auto& f : on_stream(frames, 3)) {
    if (f.type == kData) EXPECT_EQ(f.flags & kEndStream, 0) << "never END_STREAM";
  }
  auto s = stats(fb->port());
  EXPECT_EQ(s["faults"]["truncate"], 1);
  EXPECT_EQ(s["faults"]["reset-mid-body"], 1);
  EXPECT_EQ(s["h2_resets_sent"], 1);
}

TEST(FaultH2Wire, HangNeverAnswersTheStreamOnly) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  w.get(1, "/hang");
  w.get(3, "/health");
  w.send();
  auto frames = w.until_done({3});
  EXPECT_EQ(types_on(frames, 1), "");
  EXPECT_EQ(data_of(frames, 3), "ok\n");
  EXPECT_EQ(stats(fb->port())["hangs"], 1);
}

TEST(FaultH2Wire, StreamDripAndSlowHeaders) {
  auto fb = start_fault();
  H2Wire w(fb->port());
  auto t0 = Clock::now();
  w.get(1, "/stream/2500?chunk_size=1000");
  w.get(3, "/drip?bytes=5&duration_ms=200");
  w.get(5, "/slow-headers?delay_ms=300");
  w.send();
  auto frames = w.until_done({1, 3, 5});
  EXPECT_GE(Clock::now() - t0, 300ms);  // the slow headers
  std::vector<std::size_t> sizes;
  for (const auto& f : on_stream(frames, 1)) {
    if (f.type == kData) sizes.push_back(f.payload.size());
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1000, 1000, 500}));
  EXPECT_EQ(data_of(frames, 1), pattern(2500));
  EXPECT_EQ(data_of(frames, 3), "*****");
  EXPECT_EQ(types_on(frames, 5), "HEADERS DATA");
  EXPECT_EQ(data_of(frames, 5), "Hello from fault_backend\n");
}

TEST(FaultH2Wire, HugeBodyStreamsWithBoundedMemory) {
  NEED_NGHTTP();
  auto fb = start_fault();
  // 100 MiB through nghttp's flow control; the server never holds more than a few windows.
  auto r = nghttp({"-n", "-s", url(fb->port(), "/bytes/104857600")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("200 100M /bytes/104857600"), std::string::npos) << r.out;
  EXPECT_EQ(stats(fb->port())["bytes_sent"], 104857600);
  long rss = fb->peak_rss_kb();
  ASSERT_GT(rss, 0);
  EXPECT_LT(rss, 96 * 1024) << "peak RSS " << rss << " KiB";
}

// ---------------------------------------------------------------------------------------
// The new paths over HTTP/1.1, and the new flags

TEST(FaultH2Http1, TrailersAndCookiesOverHttp1) {
  auto fb = start_fault();
  RawClient raw(fb->port());
  raw.send("GET /trailers HTTP/1.1\r\nHost: x\r\n\r\nGET /cookies HTTP/1.1\r\nHost: x\r\n\r\n");
  auto m = raw.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_TRUE(m->chunked);
  EXPECT_EQ(m->header("Trailer"), "x-checksum, x-trailer-2");
  EXPECT_EQ(m->body, "trailers");
  EXPECT_EQ(m->trailers, (Headers{{"x-checksum", "abc123"}, {"x-trailer-2", "two"}}));
  m = raw.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "cookies");
  EXPECT_EQ(m->all("Set-Cookie"),
            (std::vector<std::string>{"a=1", "b=2; Path=/", "c=3; HttpOnly"}));
  // HTTP/1.0 has no chunked coding, so no trailers: a plain body.
  RawClient old(fb->port());
  old.send("GET /trailers HTTP/1.0\r\n\r\n");
  m = old.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "trailers");
  EXPECT_FALSE(m->chunked);
}

TEST(FaultH2Http1, Http2PathsHaveHttp1Counterparts) {
  auto fb = start_fault();
  // /h2/goaway: the reply, then the connection ends (Connection: close).
  RawClient a(fb->port());
  a.send("GET /h2/goaway HTTP/1.1\r\nHost: x\r\n\r\n");
  auto m = a.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "goaway");
  EXPECT_EQ(m->header("Connection"), "close");
  EXPECT_TRUE(a.wait_closed());
  // /h2/rst-stream: a TCP reset, before any byte or after a head.
  auto r = http_get(url(fb->port(), "/h2/rst-stream?code=CANCEL"));
  EXPECT_EQ(r.curl_code, CURLE_RECV_ERROR) << r.error;
  RawClient b(fb->port());
  b.send("GET /h2/rst-stream?after_headers=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(b.read_until("Content-Length: 100\r\n"));
  EXPECT_TRUE(b.wait_closed());
  // /h2/slow-window: HTTP/1.1 has no windows; an ordinary reply.
  r = http({.method = "POST",
            .url = url(fb->port(), "/h2/slow-window"),
            .body = std::string(200000, 'x')});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello from fault_backend\n");
  auto s = stats(fb->port());
  EXPECT_EQ(s["faults"]["reset"], 1);
  EXPECT_EQ(s["faults"]["reset-mid-body"], 1);
  EXPECT_EQ(s["h2_connections_total"], 0);
}

TEST(FaultH2Http1, FaultsOverTlsHttp1) {
  auto fb = start_fault_tls({"--no-h2"});
  std::string base = "https://api.test:" + std::to_string(fb->port());
  std::vector<CurlH2> t{{.url = base + "/trailers", .version = CURL_HTTP_VERSION_1_1},
                        {.url = base + "/reset", .version = CURL_HTTP_VERSION_1_1},
                        {.url = base + "/status/418", .version = CURL_HTTP_VERSION_1_1}};
  curl_all(t);
  EXPECT_EQ(t[0].body, "trailers");
  EXPECT_EQ(t[0].http_version, CURL_HTTP_VERSION_1_1);
  EXPECT_NE(t[1].code, CURLE_OK);
  EXPECT_EQ(t[2].status, 418);
  EXPECT_EQ(stats(fb->port(), true)["resets"], 1);
}

TEST(FaultH2Cli, TlsFlagsHelpAndStartUpLine) {
  const auto& good = test_pki().good;
  expect_one_line_error(run_program("fault_backend", {"--port", "0", "--tls"}),
                        "fault_backend: --tls needs --cert FILE and --key FILE (see --help)");
  expect_one_line_error(run_program("fault_backend", {"--port", "0", "--cert", good.cert}),
                        "--cert needs --tls");
  std::string missing = test_pki().dir() + "/missing.pem";
  expect_one_line_error(
      run_program("fault_backend", {"--port", "0", "--tls", "--cert", missing, "--key", good.key}),
      "fault_backend: cannot load the certificate from " + missing);
  expect_one_line_error(run_program("fault_backend", {"--h2-window", "-1"}),
                        "--h2-window: expected an integer 0-2147483647, got '-1'");
  auto help = run_program("fault_backend", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--tls", "--cert FILE", "--key FILE", "--no-h2", "--h2-max-streams N",
                           "--h2-window N", "--h2-goaway-after N", "/h2/rst-stream", "/h2/goaway",
                           "/h2/slow-window", "/trailers", "/cookies"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  auto fb = start_fault_tls();
  EXPECT_TRUE(fb->wait_for_log("listening on 127.0.0.1:" + std::to_string(fb->port()) + " (TLS)"));
}

}  // namespace
}  // namespace it
