// The balancer speaking TLS to backends: certificate verification and its error replies,
// --insecure and ,verify=off, IP SANs and ,sni=, pooled TLS connections closed by the backend,
// a real TLS peer (nginx), start-up errors of --ca and --keylog, the handshake timeout, and
// the NSS key log.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <set>

#include "nginx_fixture.hpp"
#include "tls_support.hpp"

namespace it {
namespace {

// "backend localhost:PORT" as the balancer names a backend given as https://localhost:PORT.
std::string localhost_name(std::uint16_t port) { return "localhost:" + std::to_string(port); }

// --- verification --------------------------------------------------------------------------

TEST(TlsProxy, TrustedCertificateGives200FromTheTlsUpstream) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "hello over tls", "tls-good");
  auto lb = start_balancer({https_backend(up->port())}, {"--ca", pki.ca_file()});
  EXPECT_TRUE(lb->wait_for_log("backend " + localhost_name(up->port()) +
                               ": TLS, verifying the certificate for localhost"))
      << lb->log();
  auto r = http_get(url(lb->port(), "/x?y=1"));
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "hello over tls");
  EXPECT_EQ(r.header("Server-Id"), "tls-good");
  ASSERT_EQ(up->requests().size(), 1u);
  EXPECT_EQ(up->requests()[0].target, "/x?y=1");
  EXPECT_EQ(up->requests()[0].header("Host"), localhost_name(up->port()));
  EXPECT_EQ(up->handshake_failures(), 0u);
}

TEST(TlsProxy, BackendCaOptionTrustsTheCaForThatBackend) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "per-backend ca");
  auto lb = start_balancer({https_backend(up->port(), "ca=" + pki.ca_file())});
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "per-backend ca");
}

TEST(TlsProxy, WithoutCaTheTestCaIsUnknown) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "never");
  auto lb = start_balancer({https_backend(up->port())});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "tls_verify_failed");
  EXPECT_EQ(r.body, "502 Bad Gateway: backend " + localhost_name(up->port()) +
                        ": TLS certificate verification failed: unknown CA: no trusted "
                        "certificate for issuer CN=LB Test CA, O=load_balancer tests; add it "
                        "with --ca FILE or ,ca=FILE\n");
  EXPECT_TRUE(up->requests().empty());
  EXPECT_TRUE(wait_until([&] { return up->handshake_failures() == 1; }));
}

// A backend with a bad certificate: the reply names the problem, and the failure counts
// against the backend (--fall 1 marks it down at once).
void expect_verify_failure(const CertFiles& cert, const std::string& reason,
                           const std::vector<std::string>& extra = {}) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(cert, "never");
  std::vector<std::string> args{"--ca", pki.ca_file(), "--fall", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto lb = start_balancer({https_backend(up->port())}, args);
  const std::string name = localhost_name(up->port());
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "tls_verify_failed");
  EXPECT_EQ(r.body, "502 Bad Gateway: backend " + name +
                        ": TLS certificate verification failed: " + reason + "\n");
  EXPECT_TRUE(lb->wait_for_log("backend " + name +
                               " is down: 1 failure: TLS verification failed: " + reason +
                               " (state change 1)"))
      << lb->log();
  EXPECT_TRUE(up->requests().empty());
  // The balancer ended the handshake itself (with an alert): the upstream saw it fail.
  EXPECT_TRUE(wait_until([&] { return up->handshake_failures() == 1; }))
      << up->handshake_failures() << " " << up->last_handshake_error();
}

TEST(TlsVerify, ExpiredCertificateNamesItsNotAfterDate) {
  expect_verify_failure(test_pki().expired, "certificate has expired (notAfter " +
                                                test_pki().expired_not_after_date + ")");
}

TEST(TlsVerify, WrongHostNamesBothNames) {
  expect_verify_failure(test_pki().wrong_host,
                        "host name mismatch: certificate is for other.test, wanted localhost");
}

TEST(TlsVerify, SelfSignedCertificateIsAnUnknownCa) {
  expect_verify_failure(test_pki().self_signed,
                        "unknown CA: the certificate (CN=api.test) is self-signed and not "
                        "trusted; add it with --ca FILE or ,ca=FILE");
}

TEST(TlsVerify, FailureIsRetriedOnAnotherBackend) {
  const TestPki& pki = test_pki();
  auto bad = https_upstream(pki.expired, "never", "expired");
  auto good = https_upstream(pki.good, "from the good one", "good");
  auto lb = start_balancer({https_backend(bad->port()), https_backend(good->port())},
                           {"--ca", pki.ca_file(), "--fall", "1"});
  // Round robin offers the expired backend first; the handshake fails before anything of
  // the request was sent, so even a POST may go to the next backend.
  auto r = http({.method = "POST", .url = url(lb->port(), "/p"), .body = "data"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "from the good one");
  EXPECT_TRUE(lb->wait_for_log("backend " + localhost_name(bad->port()) +
                               " is down: 1 failure: TLS verification failed: certificate has "
                               "expired"))
      << lb->log();
  for (int i = 0; i < 3; ++i) {
    auto again = http_get(url(lb->port()));
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.header("Server-Id"), "good");
  }
  EXPECT_EQ(good->requests().size(), 4u);
  EXPECT_TRUE(bad->requests().empty());
  EXPECT_EQ(bad->connections(), 1u) << "a down backend was tried again";
}

// --- handshake failures that are not about the certificate ---------------------------------

TEST(TlsHandshake, PlainHttpBackendWithTlsOnIsAWrongVersionNumber) {
  // A plain HTTP server answers the ClientHello with an HTTP error, which is no TLS record.
  ScriptedUpstream plain([](ScriptedConn& c) {
    char hello[512];
    if (c.read_some(hello, sizeof hello) == 0) return;
    c.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  auto lb = start_balancer({plain.backend() + ",tls=on"}, {"--fall", "1"});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "tls_handshake_failed");
  const std::string reason =
      "wrong version number (is it plain HTTP? write the backend as http://HOST:PORT or add "
      ",tls=off)";
  EXPECT_EQ(r.body, "502 Bad Gateway: backend " + plain.backend() +
                        ": TLS handshake failed: " + reason + "\n");
  EXPECT_TRUE(lb->wait_for_log("backend " + plain.backend() +
                               " is down: 1 failure: TLS handshake failed: " + reason))
      << lb->log();
}

TEST(TlsHandshake, SilentBackendIs504ConnectTimeout) {
  // TCP is accepted, but nothing ever answers the ClientHello.
  ScriptedUpstream silent([](ScriptedConn& c) { c.hang(); });
  auto lb =
      start_balancer({localhost_name(silent.port()) + ",tls=on"}, {"--connect-timeout", "300ms"});
  auto started = Clock::now();
  auto r = http_get(url(lb->port()));
  auto took = Clock::now() - started;
  expect_lb_error(r, 504, "connect_timeout");
  EXPECT_EQ(r.body, "504 Gateway Timeout: TLS handshake with backend " +
                        localhost_name(silent.port()) + " timed out after 300ms\n");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(silent.connections(), 1u);
}

// --- verification off -----------------------------------------------------------------------

TEST(TlsInsecure, AcceptsEveryBadCertificateAndSaysSo) {
  const TestPki& pki = test_pki();
  auto expired = https_upstream(pki.expired, "expired ok", "expired");
  auto wrong = https_upstream(pki.wrong_host, "wrong host ok", "wrong_host");
  auto self = https_upstream(pki.self_signed, "self-signed ok", "self_signed");
  auto lb = start_balancer(
      {https_backend(expired->port()), https_backend(wrong->port()), https_backend(self->port())},
      {"-k", "--tls-trace"});
  EXPECT_TRUE(lb->wait_for_log("--insecure: TLS certificates of backends are NOT verified"))
      << lb->log();
  for (auto* up : {expired.get(), wrong.get(), self.get()}) {
    EXPECT_TRUE(lb->log().find("backend " + localhost_name(up->port()) +
                               ": TLS, certificate NOT verified (--insecure)") != std::string::npos)
        << lb->log();
  }
  std::set<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(url(lb->port()));
    EXPECT_EQ(r.status, 200) << r.body;
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies, (std::set<std::string>{"expired ok", "wrong host ok", "self-signed ok"}));
  std::string log = lb->log();
  EXPECT_EQ(count_of(log, " TLS handshake with "), 3u) << log;
  EXPECT_EQ(count_of(log, "\n  verification: DISABLED (--insecure)"), 3u) << log;
  for (auto* up : {expired.get(), wrong.get(), self.get()}) {
    auto block = tls_block(log, "TLS handshake with " + localhost_name(up->port()) + " ");
    ASSERT_FALSE(block.empty()) << log;
    EXPECT_NE(block[0].find("): ok in "), std::string::npos) << block[0];
    auto v = std::find_if(block.begin(), block.end(),
                          [](const std::string& l) { return l.starts_with("  verification: "); });
    ASSERT_NE(v, block.end());
    // Nothing trusts the test CA here, so every one of them would have failed.
    EXPECT_TRUE(v->starts_with("  verification: DISABLED (--insecure); it would have failed: "))
        << *v;
  }
}

TEST(TlsInsecure, VerifyOffAppliesToThatBackendOnly) {
  const TestPki& pki = test_pki();
  auto self = https_upstream(pki.self_signed, "self-signed ok", "self_signed");
  auto expired = https_upstream(pki.expired, "never", "expired");
  auto lb =
      start_balancer({https_backend(self->port(), "verify=off"), https_backend(expired->port())},
                     {"--ca", pki.ca_file(), "--tls-trace", "--retries", "0"});
  std::string log = lb->log();
  EXPECT_EQ(log.find("--insecure"), std::string::npos) << log;
  EXPECT_NE(log.find("backend " + localhost_name(self->port()) +
                     ": TLS, certificate NOT verified (verify=off)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("backend " + localhost_name(expired->port()) +
                     ": TLS, verifying the certificate for localhost"),
            std::string::npos)
      << log;

  auto first = http_get(url(lb->port()));  // round robin: the verify=off backend
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, "self-signed ok");
  auto second = http_get(url(lb->port()));  // the verified one
  expect_lb_error(second, 502, "tls_verify_failed");
  EXPECT_NE(second.body.find("certificate has expired"), std::string::npos) << second.body;

  log = lb->log();
  auto off = tls_block(log, "TLS handshake with " + localhost_name(self->port()) + " ");
  ASSERT_FALSE(off.empty()) << log;
  EXPECT_NE(std::find(off.begin(), off.end(),
                      "  verification: DISABLED (verify=off); it would have failed: "
                      "self-signed certificate"),
            off.end())
      << log;
  auto on = tls_block(log, "TLS handshake with " + localhost_name(expired->port()) + " ");
  ASSERT_FALSE(on.empty()) << log;
  EXPECT_NE(on[0].find("): FAILED after "), std::string::npos) << on[0];
  EXPECT_NE(std::find(on.begin(), on.end(),
                      "  verification: FAILED: certificate has expired (notAfter " +
                          pki.expired_not_after_date + ")"),
            on.end())
      << log;
}

// --- names: IP SANs and sni= -----------------------------------------------------------------

TEST(TlsIpSan, IpLiteralBackendPassesWithAnIpSan) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.ip_san, "by address");
  const std::string backend = "https://" + up->backend();
  auto lb = start_balancer({backend}, {"--ca", pki.ca_file(), "--tls-trace"});
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "by address");
  auto block = tls_block(lb->log(), "TLS handshake with " + up->backend() + " ");
  ASSERT_FALSE(block.empty()) << lb->log();
  EXPECT_NE(std::find(block.begin(), block.end(), "  SNI: none (IP address)"), block.end());
  EXPECT_NE(std::find(block.begin(), block.end(),
                      "  verification: ok (chain trusted, certificate matches 127.0.0.1)"),
            block.end())
      << lb->log();
}

TEST(TlsIpSan, NameOnlyCertificateFailsForAnIpLiteral) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "never");
  auto lb = start_balancer({"https://" + up->backend()}, {"--ca", pki.ca_file()});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "tls_verify_failed");
  EXPECT_EQ(r.body, "502 Bad Gateway: backend " + up->backend() +
                        ": TLS certificate verification failed: IP address mismatch: "
                        "certificate is for api.test, localhost, wanted 127.0.0.1\n");
}

TEST(TlsIpSan, SniOptionNamesTheCertificateOfAnIpBackend) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "by sni");
  auto lb = start_balancer({"https://" + up->backend() + ",sni=api.test"},
                           {"--ca", pki.ca_file(), "--tls-trace"});
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "by sni");
  auto block = tls_block(lb->log(), "TLS handshake with " + up->backend() + " ");
  ASSERT_FALSE(block.empty()) << lb->log();
  EXPECT_NE(std::find(block.begin(), block.end(), "  SNI: api.test"), block.end()) << lb->log();
  EXPECT_NE(std::find(block.begin(), block.end(),
                      "  verification: ok (chain trusted, certificate matches api.test)"),
            block.end())
      << lb->log();
}

// --- a TLS peer that is not ours ----------------------------------------------------------

TEST(TlsNginx, RealTlsPeerAnswersAndTheConnectionIsPooled) {
  if (!NginxTls::available()) {
    GTEST_SKIP() << "nginx is not installed (" << NginxTls::kBinary << ")";
  }
  const TestPki& pki = test_pki();
  NginxTls nginx({.cert = pki.good_chain, .key = pki.good.key}, "hello from nginx\n");
  auto lb = start_balancer({https_backend(nginx.port())}, {"--ca", pki.ca_file(), "--tls-trace"});
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(url(lb->port(), "/n" + std::to_string(i)));
    EXPECT_EQ(r.curl_code, 0) << r.error;
    EXPECT_EQ(r.status, 200) << i << ": " << r.body;
    EXPECT_EQ(r.body, "hello from nginx\n");
    EXPECT_EQ(r.header("Server-Id"), "nginx");
  }
  std::string log = lb->log();
  // Three clients, one upstream connection: one handshake.
  EXPECT_EQ(count_of(log, " TLS handshake with "), 1u) << log;
  auto block = tls_block(log, "c1/u1 TLS handshake with " + localhost_name(nginx.port()));
  ASSERT_FALSE(block.empty()) << log;
  EXPECT_NE(std::find(block.begin(), block.end(), "  ALPN Protocol: http/1.1"), block.end());
  EXPECT_NE(std::find(block.begin(), block.end(),
                      "  verification: ok (chain trusted, certificate matches localhost)"),
            block.end())
      << log;
  EXPECT_NE(std::find(block.begin(), block.end(), "  certificate chain (2):"), block.end());
}

// --- pooled TLS connections the backend closed -----------------------------------------------

// The first connection serves two GETs (proving it is pooled and reused), then waits for
// the test and ends itself while idle in the balancer's pool: `reset` false with close_notify
// and FIN, true with RST. A POST after that is not replayable, so it only succeeds if the
// balancer notices the dead connection before reusing it.
void idle_close_test(bool reset) {
  const TestPki& pki = test_pki();
  std::promise<void> go;
  std::shared_future<void> go_signal = go.get_future().share();
  ScriptedUpstream up(
      [&, go_signal](ScriptedConn& c) {
        if (c.index() == 0) {
          for (int i = 0; i < 2; ++i) {
            if (!c.read_request()) return;
            c.send(ok_response("first connection", "Server-Id: conn0\r\n"));
          }
          go_signal.wait_for(kTimeout);
          reset ? c.reset() : c.close();
          return;
        }
        while (auto rq = c.read_request()) {
          if (!c.send(ok_response("got " + rq->method + " " + rq->body))) return;
        }
      },
      TlsServerConfig{.cert_file = pki.good.cert, .key_file = pki.good.key, .alpn = {"http/1.1"}});
  auto lb = start_balancer({https_backend(up.port())}, {"--ca", pki.ca_file()});
  for (int i = 0; i < 2; ++i) {
    auto r = http_get(url(lb->port()));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "first connection");
  }
  EXPECT_EQ(up.connections(), 1u) << "the TLS connection was not reused";
  go.set_value();
  ASSERT_TRUE(up.wait_for_finished(1));

  auto r = http({.method = "POST", .url = url(lb->port(), "/once"), .body = "the body"});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "got POST the body");
  EXPECT_EQ(up.connections(), 2u);
  auto requests = up.requests();
  EXPECT_EQ(std::count_if(requests.begin(), requests.end(),
                          [](const Message& m) { return m.method == "POST"; }),
            1);
  EXPECT_EQ(requests.size(), 3u);
}

TEST(TlsPool, IdleConnectionClosedWithCloseNotifyIsNotReused) { idle_close_test(false); }

TEST(TlsPool, IdleConnectionResetIsNotReused) { idle_close_test(true); }

// --- start-up errors ----------------------------------------------------------------------------

// Runs the balancer in front of one TLS backend (never contacted) with `extra` and expects
// the one-line start-up error (expect_one_line_error) that contains `must_mention`, ended
// by a '\n'.
void expect_startup_error(const std::vector<std::string>& extra, const std::string& must_mention,
                          const SpawnOptions& options = {}) {
  std::vector<std::string> args{
      "-p", "0", "--listen", "127.0.0.1", "--no-active-health", "-b", "https://localhost:9"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_program("load_balancer", args, kTimeout, options);
  expect_one_line_error(r, must_mention);
  EXPECT_TRUE(r.err.ends_with('\n')) << r.err;
}

TEST(TlsStartup, MissingCaFileExits2WithOneLine) {
  TempDir dir;
  const std::string missing = dir.file("no-such-ca.pem");
  expect_startup_error({"--ca", missing}, "load_balancer: --ca " + missing +
                                              ": cannot load CA certificates: No such file or "
                                              "directory");
}

TEST(TlsStartup, CaFileIsCheckedEvenWithoutTlsBackends) {
  TempDir dir;
  const std::string missing = dir.file("no-such-ca.pem");
  auto r = run_program("load_balancer", {"-p", "0", "--listen", "127.0.0.1", "--no-active-health",
                                         "-b", "localhost:9", "--ca", missing});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "load_balancer: --ca " + missing +
                       ": cannot load CA certificates: No such file or directory\n");
}

TEST(TlsStartup, CaFileWithoutCertificatesExits2WithOneLine) {
  TempDir dir;
  const std::string junk = dir.file("junk.pem");
  std::ofstream(junk) << "this is not PEM\n";
  expect_startup_error({"--ca", junk},
                       "load_balancer: --ca " + junk + ": cannot load CA certificates");
}

TEST(TlsStartup, BadBackendCaFileExits2WithOneLine) {
  TempDir dir;
  const std::string missing = dir.file("no-such-ca.pem");
  std::vector<std::string> args{"-p",
                                "0",
                                "--listen",
                                "127.0.0.1",
                                "--no-active-health",
                                "-b",
                                "https://localhost:9,ca=" + missing};
  auto r = run_program("load_balancer", args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_NE(r.err.find("backend localhost:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": ca=" + missing + ": cannot load CA certificates: No such file"),
            std::string::npos)
      << r.err;
}

TEST(TlsStartup, BadKeylogPathExits2WithOneLine) {
  TempDir dir;
  const std::string path = dir.file("missing-dir/keys.log");
  expect_startup_error({"--keylog", path},
                       "load_balancer: --keylog " + path + ": No such file or directory");
}

TEST(TlsStartup, BadSslKeyLogFileExits2WithOneLine) {
  TempDir dir;
  const std::string path = dir.file("missing-dir/keys.log");
  expect_startup_error({}, "load_balancer: SSLKEYLOGFILE " + path + ": No such file or directory",
                       {.env = {"SSLKEYLOGFILE=" + path}});
}

// --- NSS key log
// ----------------------------------------------------------------------------------

// label -> "CLIENT_RANDOM SECRET" of a key log; every label once.
std::map<std::string, std::string> keylog_entries(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : split_lines(text)) {
    auto sp = line.find(' ');
    EXPECT_NE(sp, std::string::npos) << line;
    if (sp == std::string::npos) continue;
    EXPECT_TRUE(out.emplace(line.substr(0, sp), line.substr(sp + 1)).second)
        << "label twice: " << line;
  }
  return out;
}

// One TLS 1.3 request through a balancer that logs keys to `lb_keys` (via `extra` flags or
// `options`); its lines must be the ones the upstream's OpenSSL logged for the same
// connection. Decrypting a capture with them (tshark) is the point of the file, but needs a
// capture: not done here.
void expect_keylog(const std::string& lb_keys, const std::string& upstream_keys,
                   const std::vector<std::string>& extra, const SpawnOptions& options = {}) {
  const TestPki& pki = test_pki();
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("keys")),
                      TlsServerConfig{.cert_file = pki.good.cert,
                                      .key_file = pki.good.key,
                                      .alpn = {"http/1.1"},
                                      .keylog_file = upstream_keys});
  std::vector<std::string> args{"--ca", pki.ca_file()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto lb = start_balancer({https_backend(up.port())}, args, options);
  EXPECT_TRUE(lb->wait_for_log("writing TLS session secrets of backend connections to " + lb_keys))
      << lb->log();
  auto r = http_get(url(lb->port()));
  ASSERT_EQ(r.status, 200) << r.body;

  struct stat st {};
  ASSERT_EQ(::stat(lb_keys.c_str(), &st), 0) << lb_keys;
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto ours = keylog_entries(read_text(lb_keys));
  auto theirs = keylog_entries(read_text(upstream_keys));
  const std::set<std::string> kTls13Labels{
      "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"};
  std::set<std::string> labels;
  for (const auto& [label, value] : ours) labels.insert(label);
  EXPECT_EQ(labels, kTls13Labels);
  EXPECT_EQ(ours, theirs);
  // One connection: one client_random (64 hex digits) shared by all lines.
  std::set<std::string> randoms;
  for (const auto& [label, value] : ours) {
    randoms.insert(value.substr(0, value.find(' ')));
    EXPECT_EQ(value.find(' '), 64u) << value;
  }
  EXPECT_EQ(randoms.size(), 1u);
}

TEST(TlsKeylog, FlagWritesTheSecretsTheServerUsed) {
  TempDir dir;
  expect_keylog(dir.file("lb.keys"), dir.file("server.keys"), {"--keylog", dir.file("lb.keys")});
}

TEST(TlsKeylog, SslKeyLogFileVariableWritesTheSecretsTheServerUsed) {
  TempDir dir;
  expect_keylog(dir.file("env.keys"), dir.file("server.keys"), {},
                {.env = {"SSLKEYLOGFILE=" + dir.file("env.keys")}});
}

}  // namespace
}  // namespace it
