// backend1 and backend2 with --tls: HTTPS verified against the test CA, ALPN http/1.1,
// keep-alive, close_notify, what happens to clients that do not speak TLS, and the start-up
// errors of the TLS flags (which fault_backend does not take).

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "certs.hpp"
#include "harness.hpp"

namespace it {
namespace {

// One PKI for this file's tests: generating keys takes a while.
const TestPki& pki() {
  static const TestPki instance;
  return instance;
}

// backend<n> serving HTTPS with `cert` on 127.0.0.1, a port the OS picks.
std::unique_ptr<Process> start_tls_backend(int n, const std::string& cert, const std::string& key,
                                           const std::string& id = {}) {
  std::vector<std::string> args{"--port", "0",  "--listen", "127.0.0.1", "--tls",
                                "--cert", cert, "--key",    key};
  if (!id.empty()) args.insert(args.end(), {"--id", id});
  auto p = std::make_unique<Process>("backend" + std::to_string(n), args);
  p->wait_for_port();
  return p;
}

std::unique_ptr<Process> start_tls_backend(int n, const CertFiles& cert = pki().good) {
  return start_tls_backend(n, cert.cert, cert.key);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return lines;
}

// Exit code 2, exactly one line on stderr that mentions `must_mention`, nothing on stdout,
// nothing started.
void expect_one_line_error(const RunResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find(must_mention), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// libcurl over HTTPS, verifying the backend against the test CA under the name api.test

struct HttpsResult {
  CURLcode code = CURLE_OK;
  std::string error;
  long status = 0;
  std::string body;
  long http_version = 0;  // CURLINFO_HTTP_VERSION
  long new_connects = 0;  // connections this transfer had to open (0 = reused)
  std::string alpn;       // what the server selected; empty when nothing was
  std::string tls_version;
};

// One easy handle, so that consecutive requests can share a connection.
class HttpsClient {
 public:
  explicit HttpsClient(std::uint16_t port, bool offer_alpn = true) : port_(port) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    h_ = curl_easy_init();
    resolve_ =
        curl_slist_append(nullptr, ("api.test:" + std::to_string(port) + ":127.0.0.1").c_str());
    curl_easy_setopt(h_, CURLOPT_RESOLVE, resolve_);
    curl_easy_setopt(h_, CURLOPT_CAINFO, pki().ca_file().c_str());
    curl_easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h_, CURLOPT_SSL_ENABLE_ALPN, offer_alpn ? 1L : 0L);
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_PROXY, "");
    curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, static_cast<long>(ms(kTimeout)));
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf_.data());
  }
  ~HttpsClient() {
    curl_easy_cleanup(h_);
    curl_slist_free_all(resolve_);
  }
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  HttpsResult get(const std::string& path) {
    result_ = {};
    errbuf_[0] = '\0';
    std::string u = "https://api.test:" + std::to_string(port_) + path;
    curl_easy_setopt(h_, CURLOPT_URL, u.c_str());
    result_.code = curl_easy_perform(h_);
    result_.error = errbuf_.data();
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &result_.status);
    curl_easy_getinfo(h_, CURLINFO_HTTP_VERSION, &result_.http_version);
    curl_easy_getinfo(h_, CURLINFO_NUM_CONNECTS, &result_.new_connects);
    return result_;
  }

 private:
  static long long ms(Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

  // The TLS session is only reachable during the transfer: ALPN is read here.
  static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
    auto& self = *static_cast<HttpsClient*>(user);
    self.result_.body.append(data, size * n);
    const curl_tlssessioninfo* info = nullptr;
    if (curl_easy_getinfo(self.h_, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != nullptr &&
        info->backend == CURLSSLBACKEND_OPENSSL && info->internals != nullptr) {
      auto* ssl = static_cast<SSL*>(info->internals);
      const unsigned char* p = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(ssl, &p, &len);
      self.result_.alpn.assign(reinterpret_cast<const char*>(p), p == nullptr ? 0 : len);
      self.result_.tls_version = SSL_get_version(ssl);
    }
    return size * n;
  }

  std::uint16_t port_;
  CURL* h_ = nullptr;
  curl_slist* resolve_ = nullptr;
  std::array<char, CURL_ERROR_SIZE> errbuf_{};
  HttpsResult result_;
};

// Whether libcurl here uses OpenSSL, so that HttpsResult::alpn can be read.
bool curl_uses_openssl() {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  return v->ssl_version != nullptr && std::string_view(v->ssl_version).starts_with("OpenSSL");
}

// ---------------------------------------------------------------------------------------
// A plain OpenSSL client, for what libcurl does not let a test choose or see: the ALPN list
// offered, the protocol version, whether the server ended with close_notify.

struct SslFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};

class TlsProbe {
 public:
  // Verifies the server against the test CA as api.test; offers `alpn` (wire format) unless
  // empty; `max_version` 0 = the library's highest.
  explicit TlsProbe(std::uint16_t port, std::string_view alpn = {}, int max_version = 0) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_load_verify_locations(ctx_.get(), pki().ca_file().c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) {
      // Old versions need security level 0 on this side: the refusal must be the server's.
      SSL_CTX_set_security_level(ctx_.get(), 0);
      SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    }
    if (!alpn.empty()) {
      SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                              static_cast<unsigned int>(alpn.size()));
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{std::chrono::duration_cast<std::chrono::seconds>(kTimeout).count(), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    SSL_set_tlsext_host_name(ssl_.get(), "api.test");
    SSL_set1_host(ssl_.get(), "api.test");
  }
  ~TlsProbe() {
    ssl_.reset();
    ::close(fd_);
  }
  TlsProbe(const TlsProbe&) = delete;
  TlsProbe& operator=(const TlsProbe&) = delete;

  bool handshake() {
    ERR_clear_error();
    if (SSL_connect(ssl_.get()) == 1) return true;
    error_ = openssl_error_text();
    return false;
  }
  const std::string& error() const { return error_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  std::optional<Message> read_response() {
    for (;;) {
      std::size_t consumed = 0;
      auto m = parse_message(buf_, MessageKind::response, consumed, end_ != 0);
      if (m) {
        buf_.erase(0, consumed);
        return m;
      }
      if (!read_more()) return std::nullopt;
    }
  }

  // Reads until the connection ends; the SSL_get_error of the read that ended it
  // (SSL_ERROR_ZERO_RETURN: the server sent close_notify).
  int read_to_end() {
    while (read_more()) {
    }
    return end_;
  }

  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &len);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), len);
  }
  int version() const { return SSL_version(ssl_.get()); }

 private:
  bool read_more() {
    if (end_ != 0) return false;
    std::array<char, 16384> chunk;
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), chunk.data(), static_cast<int>(chunk.size()));
    if (n > 0) {
      buf_.append(chunk.data(), static_cast<std::size_t>(n));
      return true;
    }
    end_ = SSL_get_error(ssl_.get(), n);
    ERR_clear_error();
    return false;
  }

  std::unique_ptr<SSL_CTX, SslFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_ = -1;
  std::string buf_;
  std::string error_;
  int end_ = 0;
};

constexpr std::string_view kGet = "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n";

// ---------------------------------------------------------------------------------------
// Serving

TEST(BackendTls, EchoOverVerifiedHttpsNegotiatesHttp11) {
  auto b = start_tls_backend(1);
  std::string port = std::to_string(b->port());
  EXPECT_TRUE(b->wait_for_log("backend1 listening on 127.0.0.1:" + port + " (TLS)")) << b->log();

  HttpsClient client(b->port());  // libcurl offers h2 and http/1.1
  auto r = client.get("/echo?x=1");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.http_version, CURL_HTTP_VERSION_1_1);
  auto echo = nlohmann::json::parse(r.body);
  EXPECT_EQ(echo["server"], "backend1");
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["target"], "/echo?x=1");
  EXPECT_EQ(echo["version"], "HTTP/1.1");
  EXPECT_EQ(echo["headers"][0], nlohmann::json::array({"Host", "api.test:" + port}));
  if (!curl_uses_openssl()) GTEST_SKIP() << "libcurl does not use OpenSSL: ALPN not visible";
  EXPECT_EQ(r.alpn, "http/1.1");
  EXPECT_EQ(r.tls_version, "TLSv1.3");
}

TEST(BackendTls, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto b = start_tls_backend(2);
  HttpsClient client(b->port());
  for (int i = 0; i < 3; ++i) {
    auto r = client.get(i == 1 ? "/echo" : "/");
    ASSERT_EQ(r.code, CURLE_OK) << "request " << i << ": " << r.error;
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.new_connects, i == 0 ? 1 : 0) << "request " << i << " opened a connection";
    if (i != 1) {
      EXPECT_EQ(r.body, "Hello from backend2\n");
    }
  }
}

TEST(BackendTls, ChainFileWithTheLeafFirstIsAccepted) {
  auto b = start_tls_backend(1, pki().good_chain, pki().good.key);
  HttpsClient client(b->port());
  auto r = client.get("/");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "Hello from backend1\n");
}

TEST(BackendTls, AlpnIsSelectedOnlyWhenHttp11IsOffered) {
  auto b = start_tls_backend(1);
  struct Case {
    std::string_view offer;
    std::string selected;
  } cases[] = {{std::string_view("\x02h2\x08http/1.1", 12), "http/1.1"},
               {std::string_view("\x02h2", 3), ""},
               {{}, ""}};
  for (const auto& c : cases) {
    TlsProbe client(b->port(), c.offer);
    ASSERT_TRUE(client.handshake()) << client.error();
    EXPECT_EQ(client.alpn(), c.selected);
    // Whatever ALPN said, the server speaks HTTP/1.1.
    ASSERT_TRUE(client.send(kGet));
    auto m = client.read_response();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, 200);
    EXPECT_EQ(m->body, "Hello from backend1\n");
  }
  HttpsClient no_alpn(b->port(), /*offer_alpn=*/false);
  auto r = no_alpn.get("/");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.http_version, CURL_HTTP_VERSION_1_1);
  if (curl_uses_openssl()) EXPECT_EQ(r.alpn, "");
}

TEST(BackendTls, ClosesWithCloseNotify) {
  auto b = start_tls_backend(1);
  TlsProbe client(b->port());
  ASSERT_TRUE(client.handshake()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"));
  auto m = client.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header("Connection"), "close");
  EXPECT_EQ(client.read_to_end(), SSL_ERROR_ZERO_RETURN) << "no close_notify before the FIN";
}

TEST(BackendTls, ErrorRepliesEndWithCloseNotifyToo) {
  auto b = start_tls_backend(1);
  TlsProbe client(b->port());
  ASSERT_TRUE(client.handshake()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: api.test\r\nContent-Length: x\r\n\r\n"));
  auto m = client.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 400);
  EXPECT_EQ(client.read_to_end(), SSL_ERROR_ZERO_RETURN);
}

TEST(BackendTls, RefusesTlsOlderThan12) {
  auto b = start_tls_backend(1);
  {
    TlsProbe old(b->port(), {}, TLS1_1_VERSION);
    EXPECT_FALSE(old.handshake());
  }
  EXPECT_TRUE(b->wait_for_log("TLS handshake failed")) << b->log();
  TlsProbe tls12(b->port(), {}, TLS1_2_VERSION);
  ASSERT_TRUE(tls12.handshake()) << tls12.error();
  EXPECT_EQ(tls12.version(), TLS1_2_VERSION);
  ASSERT_TRUE(tls12.send(kGet));
  auto m = tls12.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
}

TEST(BackendTls, PlainHttpToTheTlsPortFailsAndTheServerGoesOn) {
  auto b = start_tls_backend(1);
  auto plain = http_get(url(b->port(), "/"));
  EXPECT_NE(plain.curl_code, 0) << "plain HTTP got an answer: " << plain.status_line;
  EXPECT_EQ(plain.status, 0);
  // One line says why, and the next (HTTPS) client is served.
  ASSERT_TRUE(b->wait_for_log("TLS handshake failed")) << b->log();
  EXPECT_EQ(b->log_count("TLS handshake failed"), 1u) << b->log();
  HttpsClient client(b->port());
  auto r = client.get("/");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "Hello from backend1\n");
  EXPECT_TRUE(b->running());
}

TEST(BackendTls, AStalledHandshakeDoesNotHoldUpOthers) {
  auto b = start_tls_backend(1);
  RawClient silent(b->port());  // connects and never sends a ClientHello
  RawClient half(b->port());
  ASSERT_TRUE(half.send(std::string_view("\x16\x03\x01\x02\x00", 5)));  // a record header only
  HttpsClient client(b->port());
  auto r = client.get("/");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "Hello from backend1\n");
}

TEST(BackendTls, BalancerTakesTurnsBetweenTwoTlsBackends) {
  auto b1 = start_tls_backend(1, pki().ip_san);
  auto b2 = start_tls_backend(2, pki().ip_san);
  std::string ca = ",ca=" + pki().ca_file();
  auto lb = start_balancer(
      {"https://" + backend_arg(b1->port()) + ca, "https://" + backend_arg(b2->port()) + ca});
  std::vector<std::string> served;
  for (int i = 0; i < 4; ++i) {
    auto r = http_get(url(lb->port(), "/"));
    ASSERT_EQ(r.status, 200) << r.body << lb->log();
    served.push_back(r.header("Server").value_or("?"));
  }
  EXPECT_EQ(served, (std::vector<std::string>{"backend1", "backend2", "backend1", "backend2"}));
}

// ---------------------------------------------------------------------------------------
// Flags

TEST(BackendTlsCli, HelpListsTheTlsFlags) {
  for (const char* program : {"backend1", "backend2"}) {
    auto r = run_program(program, {"--help"});
    EXPECT_EQ(r.exit_code, 0) << program;
    for (const char* flag : {"--tls", "--cert FILE", "--key FILE"}) {
      EXPECT_NE(r.out.find(flag), std::string::npos) << program << " --help lacks " << flag;
    }
  }
}

TEST(BackendTlsCli, IncompleteFlagCombinationsAreUsageErrors) {
  const auto& good = pki().good;
  for (const char* program : {"backend1", "backend2"}) {
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.begin(), {"--port", "0"});
      return run_program(program, args);
    };
    expect_one_line_error(run({"--tls"}), "--tls needs --cert FILE and --key FILE");
    expect_one_line_error(run({"--tls", "--cert", good.cert}), "--tls needs --key FILE");
    expect_one_line_error(run({"--tls", "--key", good.key}), "--tls needs --cert FILE");
    expect_one_line_error(run({"--cert", good.cert}), "--cert needs --tls");
    expect_one_line_error(run({"--key", good.key}), "--key needs --tls");
    expect_one_line_error(run({"--cert", good.cert, "--key", good.key}),
                          "--cert and --key need --tls");
    expect_one_line_error(run({"--tls=on", "--cert", good.cert, "--key", good.key}),
                          "--tls takes no value");
  }
}

TEST(BackendTlsCli, UnusableCertificateOrKeyExitsTwoNamingTheFile) {
  const auto& good = pki().good;
  std::string missing = pki().dir() + "/no-such-key.pem";
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"--port", "0", "--tls"});
    return run_program("backend1", args);
  };
  expect_one_line_error(
      run({"--cert", good.cert, "--key", missing}),
      "cannot load the private key from " + missing + ": No such file or directory");
  // A certificate where the key should be, and the other way round.
  expect_one_line_error(run({"--cert", good.cert, "--key", good.cert}),
                        "cannot load the private key from " + good.cert + ": ");
  expect_one_line_error(run({"--cert", good.key, "--key", good.key}),
                        "cannot load the certificate from " + good.key + ": no start line");
  expect_one_line_error(run({"--cert", pki().dir() + "/nope.pem", "--key", good.key}),
                        "cannot load the certificate from " + pki().dir() + "/nope.pem");
  expect_one_line_error(
      run({"--cert", good.cert, "--key", pki().wrong_host.key}),
      "the key in " + pki().wrong_host.key + " does not match the certificate in " + good.cert);
}

TEST(BackendTlsCli, FaultBackendTakesNoTlsFlags) {
  const auto& good = pki().good;
  expect_one_line_error(run_program("fault_backend", {"--port", "0", "--tls", "--cert", good.cert,
                                                      "--key", good.key}),
                        "unknown option '--tls'");
  expect_one_line_error(run_program("fault_backend", {"--port", "0", "--cert", good.cert}),
                        "unknown option '--cert'");
  auto help = run_program("fault_backend", {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out.find("--tls"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace it
