// The TLS test fixtures on their own, without the balancer: the generated PKI verifies (or
// fails) the way the tests that rely on it expect, a TLS ScriptedUpstream talks to an
// OpenSSL client, and NginxTls serves HTTPS.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "nginx_fixture.hpp"
#include "tls_support.hpp"

namespace it {
namespace {

std::vector<Owned<X509>> read_certs(const std::string& path) {
  std::vector<Owned<X509>> out;
  Owned<BIO> in(BIO_new_file(path.c_str(), "r"));
  if (!in) return out;
  while (X509* c = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the read that found no more
  return out;
}

Owned<X509> read_cert(const std::string& path) {
  auto certs = read_certs(path);
  return certs.empty() ? nullptr : std::move(certs.front());
}

// X509_verify_cert of the leaf in `cert_path` against the PKI's CA, as a TLS server
// certificate, with a host name or an IP address check; X509_V_OK when it verifies.
int verify(const std::string& cert_path, const std::string& host, const std::string& ip = {}) {
  Owned<X509> leaf = read_cert(cert_path);
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!leaf || !store || !ctx ||
      X509_STORE_load_file(store.get(), test_pki().ca_file().c_str()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1) {
    ADD_FAILURE() << "cannot set up verification: " << openssl_error_text();
    return -1;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  int ok = X509_verify_cert(ctx.get());
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return ok == 1 ? X509_V_OK : error;
}

const char* const kGet = "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n";

// ---------------------------------------------------------------------------------------
// TestPki

TEST(TestPki, GoodLeafVerifiesForItsNames) {
  auto started = Clock::now();
  const TestPki& p = test_pki();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  std::printf("TestPki generated in %lld ms (or earlier in this process)\n",
              static_cast<long long>(ms.count()));

  EXPECT_EQ(verify(p.good.cert, "api.test"), X509_V_OK);
  EXPECT_EQ(verify(p.good.cert, "localhost"), X509_V_OK);
  Owned<X509> leaf = read_cert(p.good.cert);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_check_host(leaf.get(), "api.test", 0, 0, nullptr), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf.get())), EVP_PKEY_EC);
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER, XKU_SSL_SERVER);
}

TEST(TestPki, CaIsAnRsaCaWithTheAgreedSubject) {
  Owned<X509> ca = read_cert(test_pki().ca_file());
  ASSERT_TRUE(ca);
  std::array<char, 256> subject{};
  X509_NAME_oneline(X509_get_subject_name(ca.get()), subject.data(), subject.size());
  EXPECT_STREQ(subject.data(), "/CN=LB Test CA/O=load_balancer tests");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN, KU_KEY_CERT_SIGN);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(ca.get())), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(ca.get())), 2048);
  // Valid for about ten years from now.
  int days = 0;
  int secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(ca.get())), 1);
  EXPECT_GT(days, 3640);
  EXPECT_LT(days, 3660);
}

TEST(TestPki, ExpiredLeafFailsAsExpired) {
  EXPECT_EQ(verify(test_pki().expired.cert, "api.test"), X509_V_ERR_CERT_HAS_EXPIRED)
      << verify_result_text(verify(test_pki().expired.cert, "api.test"));
  // notAfter is exactly one day ago, which is the date the tests expect to see reported.
  std::time_t day_ago = std::time(nullptr) - 24 * 60 * 60;
  std::tm tm{};
  ::gmtime_r(&day_ago, &tm);
  std::array<char, 16> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%d", &tm);
  EXPECT_EQ(test_pki().expired_not_after_date, date.data());
  EXPECT_TRUE(
      std::regex_match(test_pki().expired_not_after_date, std::regex(R"(\d{4}-\d{2}-\d{2})")));
}

TEST(TestPki, WrongHostLeafFailsTheHostCheck) {
  int e = verify(test_pki().wrong_host.cert, "api.test");
  EXPECT_EQ(e, X509_V_ERR_HOSTNAME_MISMATCH) << verify_result_text(e);
  EXPECT_EQ(verify(test_pki().wrong_host.cert, "other.test"), X509_V_OK);  // only the name is wrong
  Owned<X509> leaf = read_cert(test_pki().wrong_host.cert);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_check_host(leaf.get(), "api.test", 0, 0, nullptr), 0);
}

TEST(TestPki, SelfSignedLeafFailsAsSelfSigned) {
  int e = verify(test_pki().self_signed.cert, "api.test");
  EXPECT_EQ(e, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) << verify_result_text(e);
  Owned<X509> leaf = read_cert(test_pki().self_signed.cert);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_self_signed(leaf.get(), 1), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(leaf.get())), EVP_PKEY_RSA);
}

TEST(TestPki, IpSanLeafPassesAnIpCheck) {
  EXPECT_EQ(verify(test_pki().ip_san.cert, "", "127.0.0.1"), X509_V_OK);
  EXPECT_EQ(verify(test_pki().ip_san.cert, "", "::1"), X509_V_OK);
  int e = verify(test_pki().ip_san.cert, "", "127.0.0.2");
  EXPECT_EQ(e, X509_V_ERR_IP_ADDRESS_MISMATCH) << verify_result_text(e);
  Owned<X509> leaf = read_cert(test_pki().ip_san.cert);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "127.0.0.1", 0), 1);
}

TEST(TestPki, SerialsDifferAndTheChainIsLeafThenCa) {
  const TestPki& p = test_pki();
  std::vector<Owned<X509>> all;
  for (const auto* path : {&p.ca_file(), &p.good.cert, &p.expired.cert, &p.wrong_host.cert,
                           &p.self_signed.cert, &p.ip_san.cert}) {
    all.push_back(read_cert(*path));
    ASSERT_TRUE(all.back()) << *path;
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(all[i].get()),
                                 X509_get0_serialNumber(all[j].get())),
                0)
          << i << " and " << j;
    }
  }
  auto chain = read_certs(p.good_chain);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(X509_cmp(chain[0].get(), all[1].get()), 0);
  EXPECT_EQ(X509_cmp(chain[1].get(), all[0].get()), 0);
}

TEST(TestPki, FingerprintIsColonSeparatedUpperHexOfTheDer) {
  std::string fp = test_pki().sha256_fingerprint(test_pki().good.cert);
  EXPECT_TRUE(std::regex_match(fp, std::regex(R"(([0-9A-F]{2}:){31}[0-9A-F]{2})"))) << fp;
  Owned<X509> leaf = read_cert(test_pki().good.cert);
  ASSERT_TRUE(leaf);
  unsigned char* der = nullptr;
  int len = i2d_X509(leaf.get(), &der);
  ASSERT_GT(len, 0);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  EVP_Digest(der, static_cast<std::size_t>(len), md.data(), &md_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  char first[3];
  std::snprintf(first, sizeof first, "%02X", md[0]);
  EXPECT_EQ(fp.substr(0, 2), first);
  EXPECT_NE(fp, test_pki().sha256_fingerprint(test_pki().expired.cert));
  EXPECT_EQ(fp, test_pki().sha256_fingerprint(test_pki().good_chain));  // the first certificate
  EXPECT_THROW(test_pki().sha256_fingerprint(test_pki().dir() + "/missing.pem"),
               std::runtime_error);
}

// ---------------------------------------------------------------------------------------
// ScriptedUpstream over TLS

TEST(TlsScriptedUpstream, AnswersAnOpensslClientAndResumesTheSession) {
  const TestPki& p = test_pki();
  std::string keylog = p.dir() + "/keylog.txt";
  std::filesystem::remove(keylog);  // the upstream appends (--gtest_repeat)
  std::mutex mu;
  std::vector<bool> resumed;
  std::vector<std::string> alpn;
  ScriptedUpstream up(
      [&](ScriptedConn& c) {
        {
          std::lock_guard lock(mu);
          resumed.push_back(c.resumed());
          alpn.push_back(c.alpn());
        }
        while (c.read_request()) {
          if (!c.send(ok_response("hello over tls", "Server-Id: scripted\r\n"))) return;
        }
      },
      TlsServerConfig{.cert_file = p.good_chain,
                      .key_file = p.good.key,
                      .alpn = {"http/1.1"},
                      .keylog_file = keylog});
  auto ctx = tls_client_ctx(p.ca_file(), {"h2", "http/1.1"});
  ASSERT_TRUE(ctx);

  Owned<SSL_SESSION> session;
  {
    TlsTestClient first(ctx.get(), up.port(), "api.test");
    ASSERT_TRUE(first.handshake()) << first.error();
    EXPECT_EQ(first.protocol_version(), TLS1_3_VERSION);
    EXPECT_EQ(first.alpn(), "http/1.1");
    EXPECT_FALSE(first.resumed());
    ASSERT_TRUE(first.send(kGet));
    auto rs = first.read_response();
    ASSERT_TRUE(rs);
    EXPECT_EQ(rs->status, 200);
    EXPECT_EQ(rs->body, "hello over tls");
    EXPECT_EQ(rs->header("Server-Id"), "scripted");
    // The TLS 1.3 tickets came before the response, so this session is resumable.
    session = first.session();
    ASSERT_TRUE(session);
    EXPECT_EQ(SSL_SESSION_is_resumable(session.get()), 1);
  }
  {
    TlsTestClient second(ctx.get(), up.port(), "api.test", session.get());
    ASSERT_TRUE(second.handshake()) << second.error();
    EXPECT_TRUE(second.resumed());
    ASSERT_TRUE(second.send(kGet));
    auto rs = second.read_response();
    ASSERT_TRUE(rs);
    EXPECT_EQ(rs->body, "hello over tls");
  }
  ASSERT_TRUE(up.wait_for_finished(2));
  up.stop();
  EXPECT_EQ(resumed, (std::vector<bool>{false, true}));
  EXPECT_EQ(alpn, (std::vector<std::string>{"http/1.1", "http/1.1"}));
  EXPECT_EQ(up.resumed_handshakes(), 1u);
  EXPECT_EQ(up.handshake_failures(), 0u);
  EXPECT_EQ(up.requests().size(), 2u);
  EXPECT_EQ(up.bytes_received(), 2 * std::string_view(kGet).size());  // plaintext

  std::string lines = read_text(keylog);
  EXPECT_EQ(count_of(lines, "CLIENT_TRAFFIC_SECRET_0 "), 2u) << lines;
  EXPECT_EQ(count_of(lines, "SERVER_HANDSHAKE_TRAFFIC_SECRET "), 2u) << lines;
}

TEST(TlsScriptedUpstream, ClientRejectingTheCertificateIsAHandshakeFailure) {
  const TestPki& p = test_pki();
  std::atomic<int> handled{0};
  ScriptedUpstream up(
      [&](ScriptedConn&) { ++handled; },
      TlsServerConfig{.cert_file = p.self_signed.cert, .key_file = p.self_signed.key});
  auto ctx = tls_client_ctx(p.ca_file());
  {
    TlsTestClient client(ctx.get(), up.port(), "api.test");
    EXPECT_FALSE(client.handshake());
    EXPECT_NE(client.error().find("self-signed"), std::string::npos) << client.error();
  }
  ASSERT_TRUE(up.wait_for_finished(1));
  EXPECT_EQ(up.handshake_failures(), 1u);
  EXPECT_EQ(up.connections(), 1u);
  EXPECT_EQ(handled.load(), 0);
  EXPECT_NE(up.last_handshake_error().find("unknown ca"), std::string::npos)
      << up.last_handshake_error();
}

TEST(TlsScriptedUpstream, NoCommonAlpnProtocolFailsTheHandshake) {
  const TestPki& p = test_pki();
  ScriptedUpstream up(
      ScriptedUpstream::reply_always(ok_response("x")),
      TlsServerConfig{.cert_file = p.good.cert, .key_file = p.good.key, .alpn = {"h2"}});
  auto ctx = tls_client_ctx(p.ca_file(), {"http/1.1"});
  TlsTestClient client(ctx.get(), up.port(), "api.test");
  EXPECT_FALSE(client.handshake());
  EXPECT_NE(client.error().find("no application protocol"), std::string::npos) << client.error();
  ASSERT_TRUE(up.wait_for_finished(1));
  EXPECT_EQ(up.handshake_failures(), 1u);
}

TEST(TlsScriptedUpstream, WithoutAlpnOrTicketsNothingIsSelectedOrResumed) {
  const TestPki& p = test_pki();
  std::mutex mu;
  std::vector<std::string> alpn;
  ScriptedUpstream up(
      [&](ScriptedConn& c) {
        {
          std::lock_guard lock(mu);
          alpn.push_back(c.alpn());
        }
        while (c.read_request()) c.send(ok_response("plain"));
      },
      TlsServerConfig{.cert_file = p.good.cert, .key_file = p.good.key, .tickets = false});
  auto ctx = tls_client_ctx(p.ca_file(), {"http/1.1"});
  Owned<SSL_SESSION> session;
  {
    TlsTestClient first(ctx.get(), up.port(), "api.test");
    ASSERT_TRUE(first.handshake()) << first.error();
    ASSERT_TRUE(first.send(kGet));
    ASSERT_TRUE(first.read_response());
    EXPECT_EQ(first.alpn(), "");
    session = first.session();
  }
  TlsTestClient second(ctx.get(), up.port(), "api.test", session.get());
  ASSERT_TRUE(second.handshake()) << second.error();
  EXPECT_FALSE(second.resumed());
  ASSERT_TRUE(second.send(kGet));
  ASSERT_TRUE(second.read_response());
  EXPECT_EQ(up.resumed_handshakes(), 0u);
  std::lock_guard lock(mu);
  EXPECT_EQ(alpn, (std::vector<std::string>{"", ""}));
}

TEST(TlsScriptedUpstream, CloseSendsCloseNotifyResetDoesNot) {
  const TestPki& p = test_pki();
  ScriptedUpstream up(
      [](ScriptedConn& c) {
        if (!c.read_request()) return;
        c.send(ok_response("bye"));
        if (c.index() == 0) return c.close();
        // Reset only once the client has read the response, so nothing of it is lost.
        if (!c.read_head()) return;
        c.reset();
      },
      TlsServerConfig{.cert_file = p.good.cert, .key_file = p.good.key});
  auto ctx = tls_client_ctx(p.ca_file());
  {
    TlsTestClient client(ctx.get(), up.port(), "api.test");
    ASSERT_TRUE(client.handshake()) << client.error();
    ASSERT_TRUE(client.send(kGet));
    ASSERT_TRUE(client.read_response());
    EXPECT_EQ(client.read_to_end(), SSL_ERROR_ZERO_RETURN);
  }
  ASSERT_TRUE(up.wait_for_finished(1));
  {
    TlsTestClient client(ctx.get(), up.port(), "api.test");
    ASSERT_TRUE(client.handshake()) << client.error();
    ASSERT_TRUE(client.send(kGet));
    ASSERT_TRUE(client.read_response());
    ASSERT_TRUE(client.send(kGet));
    EXPECT_EQ(client.read_to_end(), SSL_ERROR_SYSCALL);
    EXPECT_EQ(client.end_errno(), ECONNRESET);
  }
}

TEST(TlsScriptedUpstream, LargeBodiesBothWays) {
  const TestPki& p = test_pki();
  constexpr std::size_t kUp = 3 * 1024 * 1024 + 17;
  constexpr std::size_t kDown = 5 * 1024 * 1024 + 5;
  std::atomic<bool> upload_ok{false};
  ScriptedUpstream up(
      [&](ScriptedConn& c) {
        auto head = c.read_head();
        if (!head) return;
        std::vector<char> body(kUp);
        std::size_t got = 0;
        while (got < kUp) {
          std::size_t n = c.read_some(body.data() + got, kUp - got);
          if (n == 0) return;
          got += n;
        }
        upload_ok = matches_pattern(0, body.data(), kUp);
        std::string payload(kDown, '\0');
        fill_pattern(0, payload.data(), kDown);
        c.send(ok_response(payload));
      },
      TlsServerConfig{.cert_file = p.good.cert, .key_file = p.good.key});
  auto ctx = tls_client_ctx(p.ca_file());
  TlsTestClient client(ctx.get(), up.port(), "api.test");
  ASSERT_TRUE(client.handshake()) << client.error();
  std::string request =
      "POST /up HTTP/1.1\r\nHost: api.test\r\nContent-Length: " + std::to_string(kUp) + "\r\n\r\n";
  std::string body(kUp, '\0');
  fill_pattern(0, body.data(), kUp);
  ASSERT_TRUE(client.send(request + body));
  auto rs = client.read_response();
  ASSERT_TRUE(rs);
  EXPECT_TRUE(upload_ok.load());
  ASSERT_EQ(rs->body.size(), kDown);
  EXPECT_TRUE(matches_pattern(0, rs->body.data(), kDown));
  up.stop();
  EXPECT_EQ(up.bytes_received(), request.size() + kUp);
}

TEST(TlsScriptedUpstream, BadKeyFileThrowsWithOpensslText) {
  TlsServerConfig tls{.cert_file = test_pki().good.cert, .key_file = test_pki().self_signed.key};
  try {
    ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("x")), tls);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// NginxTls

TEST(NginxTlsFixture, AnswersATlsClientWithTheBody) {
  if (!NginxTls::available()) {
    GTEST_SKIP() << "nginx is not installed (" << NginxTls::kBinary << ")";
  }
  const TestPki& p = test_pki();
  const std::string body = "hello from nginx: $host \"quoted\" \\ done\n";
  std::uint16_t port = 0;
  {
    NginxTls nginx({.cert = p.good_chain, .key = p.good.key}, body);
    port = nginx.port();
    EXPECT_NE(nginx.error_log().find("using inherited sockets from \"3;\""), std::string::npos)
        << nginx.error_log();
    auto ctx = tls_client_ctx(p.ca_file(), {"http/1.1"});
    TlsTestClient client(ctx.get(), port, "api.test");
    ASSERT_TRUE(client.handshake()) << client.error();
    EXPECT_EQ(client.alpn(), "http/1.1");
    for (int i = 0; i < 2; ++i) {  // one keep-alive connection
      ASSERT_TRUE(client.send("GET /any/path?q=1 HTTP/1.1\r\nHost: api.test\r\n\r\n"));
      auto rs = client.read_response();
      ASSERT_TRUE(rs) << i;
      EXPECT_EQ(rs->status, 200);
      EXPECT_EQ(rs->body, body);
      EXPECT_EQ(rs->header("Server-Id"), "nginx");
    }
    ASSERT_TRUE(client.send("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3\r\n\r\nabc"));
    auto rs = client.read_response();
    ASSERT_TRUE(rs);
    EXPECT_EQ(rs->status, 200);
    EXPECT_EQ(rs->body, body);
  }
  // Master and worker are gone, and the inherited socket with them.
  EXPECT_THROW(RawClient{port}, std::runtime_error);
}

TEST(NginxTlsFixture, BadCertificateThrowsWithTheErrorLog) {
  if (!NginxTls::available()) {
    GTEST_SKIP() << "nginx is not installed (" << NginxTls::kBinary << ")";
  }
  try {
    // Another EC key: an RSA one would just sit beside the EC certificate unused.
    NginxTls nginx({.cert = test_pki().good.cert, .key = test_pki().wrong_host.key}, "x");
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("key values mismatch"), std::string::npos) << e.what();
  }
  // A key nginx accepts but cannot serve the certificate with: the handshake is refused,
  // which fails at once rather than at the deadline.
  auto started = Clock::now();
  try {
    NginxTls nginx({.cert = test_pki().good.cert, .key = test_pki().self_signed.key}, "x");
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("handshake refused"), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - started, 10s);
}

}  // namespace
}  // namespace it
