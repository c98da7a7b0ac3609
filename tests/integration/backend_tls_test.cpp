// backend1 and backend2 with --tls: HTTPS verified against the test CA, ALPN http/1.1,
// keep-alive, close_notify, what happens to clients that do not speak TLS, and the start-up
// errors of the TLS flags (fault_backend's TLS, with ALPN h2, is in fault_h2_test.cpp).

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tls_support.hpp"

namespace it {
namespace {

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

std::unique_ptr<Process> start_tls_backend(int n, const CertFiles& cert = test_pki().good) {
  return start_tls_backend(n, cert.cert, cert.key);
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
    curl_easy_setopt(h_, CURLOPT_CAINFO, test_pki().ca_file().c_str());
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

// A TlsTestClient of the backend on `port` that verifies it against the test CA as
// api.test, offers `alpn` and speaks at most `max_version` (0: any).
TlsTestClient tls_client(std::uint16_t port, const std::vector<std::string>& alpn = {},
                         int max_version = 0) {
  return TlsTestClient(tls_client_ctx(test_pki().ca_file(), alpn, max_version).get(), port,
                       "api.test");
}

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
  auto b = start_tls_backend(1, test_pki().good_chain, test_pki().good.key);
  HttpsClient client(b->port());
  auto r = client.get("/");
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "Hello from backend1\n");
}

TEST(BackendTls, AlpnIsSelectedOnlyWhenHttp11IsOffered) {
  auto b = start_tls_backend(1);
  struct Case {
    std::vector<std::string> offer;
    std::string selected;
  } cases[] = {{{"h2", "http/1.1"}, "http/1.1"}, {{"h2"}, ""}, {{}, ""}};
  for (const auto& c : cases) {
    auto client = tls_client(b->port(), c.offer);
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
  auto client = tls_client(b->port());
  ASSERT_TRUE(client.handshake()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"));
  auto m = client.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header("Connection"), "close");
  EXPECT_EQ(client.read_to_end(), SSL_ERROR_ZERO_RETURN) << "no close_notify before the FIN";
}

TEST(BackendTls, ErrorRepliesEndWithCloseNotifyToo) {
  auto b = start_tls_backend(1);
  auto client = tls_client(b->port());
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
    auto old = tls_client(b->port(), {}, TLS1_1_VERSION);
    EXPECT_FALSE(old.handshake());
  }
  EXPECT_TRUE(b->wait_for_log("TLS handshake failed")) << b->log();
  auto tls12 = tls_client(b->port(), {}, TLS1_2_VERSION);
  ASSERT_TRUE(tls12.handshake()) << tls12.error();
  EXPECT_EQ(tls12.protocol_version(), TLS1_2_VERSION);
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
  auto b1 = start_tls_backend(1, test_pki().ip_san);
  auto b2 = start_tls_backend(2, test_pki().ip_san);
  std::string ca = ",ca=" + test_pki().ca_file();
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
  const auto& good = test_pki().good;
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
  const auto& good = test_pki().good;
  std::string missing = test_pki().dir() + "/no-such-key.pem";
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
  expect_one_line_error(run({"--cert", test_pki().dir() + "/nope.pem", "--key", good.key}),
                        "cannot load the certificate from " + test_pki().dir() + "/nope.pem");
  expect_one_line_error(run({"--cert", good.cert, "--key", test_pki().wrong_host.key}),
                        "the key in " + test_pki().wrong_host.key +
                            " does not match the certificate in " + good.cert);
}

}  // namespace
}  // namespace it
