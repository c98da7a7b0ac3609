// HTTP/2 to backends that are not ours: nghttpd over h2c (prior knowledge) and over TLS
// (ALPN h2), nginx with http2; bodies, HEAD, HTTP/1.0 clients, trailers, the decoded frame
// trace and the errors for backends that do not speak HTTP/2.

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <random>

#include "nghttpd_fixture.hpp"
#include "nginx_fixture.hpp"
#include "tls_support.hpp"

namespace it {
namespace {

// A docroot with index.html ("hello h2\n") and big.bin (1 MiB + 7 of random bytes).
class Docroot {
 public:
  Docroot() : dir_("lb-h2-docroot") {
    std::ofstream(dir_.file("index.html")) << "hello h2\n";
    std::mt19937 rng(42);
    big_.resize((1 << 20) + 7);
    for (char& c : big_) c = static_cast<char>(rng());
    std::ofstream(dir_.file("big.bin"), std::ios::binary) << big_;
  }
  const std::string& path() const { return dir_.path(); }
  const std::string& big() const { return big_; }

 private:
  TempDir dir_;
  std::string big_;
};

#define REQUIRE_NGHTTPD() \
  if (!Nghttpd::available()) GTEST_SKIP() << Nghttpd::kBinary << " is not installed"

TEST(H2Peers, H2cBackendServesSmallAndLargeBodies) {
  REQUIRE_NGHTTPD();
  Docroot docroot;
  Nghttpd ngd(docroot.path(), nullptr);
  auto lb = start_balancer({h2c_backend(ngd.port())});
  auto r = http_get(url(lb->port(), "/index.html"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "hello h2\n");
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r.header("content-length"), "9");
  EXPECT_EQ(r.header("server").value_or("").rfind("nghttpd", 0), 0u);

  auto missing = http_get(url(lb->port(), "/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.status_line, "HTTP/1.1 404 Not Found");

  // Many clients at once share the connection; every body arrives whole.
  std::vector<std::future<CurlResponse>> all;
  for (int i = 0; i < 20; ++i) {
    all.push_back(
        std::async(std::launch::async, [&] { return http_get(url(lb->port(), "/big.bin")); }));
  }
  for (auto& f : all) {
    auto big = f.get();
    EXPECT_EQ(big.status, 200);
    EXPECT_TRUE(big.body == docroot.big()) << "body of " << big.body.size() << " bytes differs";
  }
}

TEST(H2Peers, HeadAndHttp10ClientsGetHttp1Framing) {
  REQUIRE_NGHTTPD();
  Docroot docroot;
  Nghttpd ngd(docroot.path(), nullptr);
  auto lb = start_balancer({h2c_backend(ngd.port())});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(docroot.big().size()));
  EXPECT_TRUE(head->body.empty());
  // The same connection carries the next request.
  ASSERT_TRUE(c.send("GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello h2\n");

  RawClient old(lb->port());
  ASSERT_TRUE(old.send("GET /index.html HTTP/1.0\r\n\r\n"));
  auto r10 = old.read_response();
  ASSERT_TRUE(r10);
  EXPECT_EQ(r10->status, 200);
  EXPECT_EQ(r10->body, "hello h2\n");
  EXPECT_FALSE(r10->chunked);
}

TEST(H2Peers, ResponseTrailersBecomeChunkedTrailers) {
  REQUIRE_NGHTTPD();
  Docroot docroot;
  Nghttpd ngd(docroot.path(), nullptr, {"--trailer=x-checksum: abc123"});
  auto lb = start_balancer({h2c_backend(ngd.port())});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET /index.html HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "hello h2\n");
  EXPECT_FALSE(r->header("content-length"));
  ASSERT_EQ(r->trailers.size(), 1u) << r->raw_body;
  EXPECT_EQ(r->trailers[0], (Header{"x-checksum", "abc123"}));
}

TEST(H2Peers, TlsBackendNegotiatesH2AndTracesFrames) {
  REQUIRE_NGHTTPD();
  const TestPki& pki = test_pki();
  Docroot docroot;
  Nghttpd ngd(docroot.path(), &pki.good);
  auto lb = start_balancer({https_backend(ngd.port())},
                           {"--ca", pki.ca_file(), "--tls-trace", "--trace"});
  auto r = http_get(url(lb->port(), "/index.html?q=1"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "hello h2\n");
  ASSERT_TRUE(lb->wait_for_log("ALPN Protocol: h2")) << lb->log();
  std::string log = lb->log();
  EXPECT_NE(log.find("ALPN offered: h2,http/1.1"), std::string::npos);
  // The request's HEADERS frame, decoded: the pseudo-headers carry the translated request.
  const std::string port = std::to_string(ngd.port());
  auto headers =
      log.find(" h2 lb->localhost:" + port + "(127.0.0.1:" + port + ") HEADERS stream=1 ");
  ASSERT_NE(headers, std::string::npos) << log;
  std::string block = log.substr(headers, 600);
  EXPECT_NE(block.find("flags=END_STREAM|END_HEADERS"), std::string::npos) << block;
  EXPECT_NE(block.find("\n  :method: GET\n  :scheme: https\n  :authority: localhost:" +
                       std::to_string(ngd.port()) + "\n  :path: /index.html?q=1\n"),
            std::string::npos)
      << block;
  EXPECT_NE(log.find("->lb HEADERS stream=1 "), std::string::npos);
  EXPECT_NE(log.find("\n  :status: 200"), std::string::npos);
  EXPECT_NE(log.find("->lb DATA stream=1 length=9 flags=END_STREAM"), std::string::npos);
  EXPECT_NE(log.find("->lb SETTINGS stream=0 "), std::string::npos);
}

TEST(H2Peers, NginxWithHttp2IsReachedOverH2) {
  if (!NginxTls::available()) GTEST_SKIP() << "nginx is not installed";
  const TestPki& pki = test_pki();
  NginxTls nginx(pki.good, "from nginx over h2", /*http2=*/true);
  auto lb = start_balancer({https_backend(nginx.port())}, {"--ca", pki.ca_file(), "--tls-trace"});
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(url(lb->port(), "/any"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "from nginx over h2");
    EXPECT_EQ(r.header("server-id"), "nginx");
  }
  EXPECT_TRUE(lb->wait_for_log("ALPN Protocol: h2")) << lb->log();
  // One handshake: the three requests shared one HTTP/2 connection.
  EXPECT_EQ(lb->log_count("ALPN Protocol:"), 1u) << lb->log();
}

TEST(H2Peers, Http1OnlyTlsBackendStillGetsHttp1) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "plain old http/1.1");
  auto lb = start_balancer({https_backend(up->port())}, {"--ca", pki.ca_file(), "--tls-trace"});
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "plain old http/1.1");
  EXPECT_TRUE(lb->wait_for_log("ALPN Protocol: http/1.1")) << lb->log();
  EXPECT_NE(lb->log().find("ALPN offered: h2,http/1.1"), std::string::npos);
}

TEST(H2Peers, ProtoH2OverTlsRefusesABackendThatIgnoresAlpn) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "never", "tls", /*alpn=*/{});
  auto lb = start_balancer({https_backend(up->port(), "proto=h2")}, {"--ca", pki.ca_file()});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "h2_not_negotiated");
  EXPECT_NE(r.body.find("does not speak HTTP/2"), std::string::npos) << r.body;
  EXPECT_TRUE(up->requests().empty());
}

TEST(H2Peers, ProtoH2OverTlsToAnHttp1OnlyBackendFailsTheHandshake) {
  // A server that selects ALPN and knows only http/1.1 answers an "h2"-only offer with the
  // no_application_protocol alert (RFC 7301 §3.2).
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "never");
  auto lb = start_balancer({https_backend(up->port(), "proto=h2")}, {"--ca", pki.ca_file()});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "tls_handshake_failed");
  EXPECT_NE(r.body.find("no application protocol"), std::string::npos) << r.body;
  EXPECT_TRUE(up->requests().empty());
}

TEST(H2Peers, H2cToAnHttp1BackendGivesAClear502) {
  auto b = start_backend(1);
  auto lb = start_balancer({h2c_backend(b->wait_for_port())});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "h2_connection_error");
  EXPECT_NE(r.body.find("backend 127.0.0.1:" + std::to_string(b->port())), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("HTTP/2"), std::string::npos) << r.body;
  // The balancer keeps serving: the next request gets the same clear answer.
  expect_lb_error(http_get(url(lb->port())), 502, "h2_connection_error");
}

}  // namespace
}  // namespace it
