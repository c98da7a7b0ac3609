// Wire debugging output: the --tls-trace report of each upstream handshake (and the
// handshake messages at -l debug), and the --trace hex dumps of both legs with
// --trace-max-bytes and --trace-file.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>

#include "tls_support.hpp"

namespace it {
namespace {

// "HH:MM:SS.ffffff " as the trace loggers' pattern "%H:%M:%S.%f %v" starts a record.
const std::string kStamp = R"(\d{2}:\d{2}:\d{2}\.\d{6} )";

std::string regex_escaped(std::string_view text) {
  static const std::regex kSpecial(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(std::string(text), kSpecial, R"(\$&)");
}

// Whether some line of `log` matches `pattern` as a whole.
bool has_line(const std::string& log, const std::string& pattern) {
  std::regex re(pattern);
  auto lines = split_lines(log);
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return std::regex_match(l, re); });
}

// The --trace block for `bytes`: its title after the time stamp, and the hex dump.
std::string trace_block(std::string_view title, std::string_view bytes) {
  return " " + std::string(title) + " " + std::to_string(bytes.size()) + " bytes\n" +
         hexdump_c(bytes);
}

std::string localhost_name(std::uint16_t port) { return "localhost:" + std::to_string(port); }

// --- --tls-trace ------------------------------------------------------------------------------

TEST(TlsTrace, ReportShowsTheNegotiationAndTheChainThenAResumption) {
  const TestPki& pki = test_pki();
  // One request per connection, so the second request needs a new handshake.
  ScriptedUpstream up(
      [](ScriptedConn& c) {
        if (c.read_request()) c.send(ok_response("traced", "Connection: close\r\n"));
      },
      TlsServerConfig{.cert_file = pki.good_chain, .key_file = pki.good.key, .alpn = {"http/1.1"}});
  auto lb = start_balancer({https_backend(up.port())}, {"--ca", pki.ca_file(), "--tls-trace"});
  const std::string name = localhost_name(up.port());
  const std::string address = "127.0.0.1:" + std::to_string(up.port());

  auto r = http_get(url(lb->port()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "traced");
  std::string log = lb->log();
  auto block = tls_block(log, "c1/u1 TLS handshake with ");
  ASSERT_GE(block.size(), 10u) << log;
  EXPECT_TRUE(std::regex_match(
      block[0], std::regex(kStamp + "c1/u1 TLS handshake with " + regex_escaped(name) + " \\(" +
                           regex_escaped(address) + "\\): ok in \\d+\\.\\d ms")))
      << block[0];
  // Both ends are OpenSSL with its defaults; any TLS 1.3 suite and ECDHE group would do.
  std::string cipher = block[5].substr(block[5].find(": ") + 2);
  std::string group = block[6].substr(block[6].find(": ") + 2);
  EXPECT_TRUE((std::set<std::string>{"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                     "TLS_CHACHA20_POLY1305_SHA256"}
                   .contains(cipher)))
      << block[5];
  EXPECT_TRUE(std::regex_match(group, std::regex("x25519|X25519|secp256r1|prime256v1|x448")))
      << block[6];
  const std::vector<std::string> expected{
      "  SNI: localhost",
      "  ALPN offered: h2,http/1.1",
      "  ALPN Protocol: http/1.1",
      "  version: TLSv1.3",
      "  cipher: " + cipher,
      "  key exchange group: " + group,
      "  server signature: ECDSA with SHA256",
      "  session: new (full handshake)",
      "  verification: ok (chain trusted, certificate matches localhost)",
      "  certificate chain (2):",
      "    0 subject: CN=api.test",
      "      issuer: CN=LB Test CA, O=load_balancer tests",
      "      SAN: DNS:api.test, DNS:localhost",
      "      valid: " + validity_text(pki.good.cert),
      "      key: EC 256 bits (prime256v1)",
      "      SHA-256: " + pki.sha256_fingerprint(pki.good.cert),
      "    1 subject: CN=LB Test CA, O=load_balancer tests",
      "      issuer: CN=LB Test CA, O=load_balancer tests",
      "      SAN: none",
      "      valid: " + validity_text(pki.ca_file()),
      "      key: RSA 2048 bits",
      "      SHA-256: " + pki.sha256_fingerprint(pki.ca_file()),
  };
  EXPECT_EQ(std::vector<std::string>(block.begin() + 1, block.end()), expected) << log;
  EXPECT_EQ(up.resumed_handshakes(), 0u);
  // Handshake messages are for -l debug only.
  EXPECT_EQ(log.find(" tls >>> "), std::string::npos) << log;

  // The upstream closed the first connection: a new one, resuming the session.
  auto again = http_get(url(lb->port()));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(up.connections(), 2u);
  EXPECT_EQ(up.resumed_handshakes(), 1u);
  log = lb->log();
  EXPECT_EQ(count_of(log, " TLS handshake with "), 2u) << log;
  auto resumed = tls_block(log, "c2/u2 TLS handshake with " + name + " (" + address + "): ok");
  ASSERT_FALSE(resumed.empty()) << log;
  EXPECT_NE(std::find(resumed.begin(), resumed.end(), "  session: resumed"), resumed.end()) << log;
  EXPECT_NE(std::find(resumed.begin(), resumed.end(),
                      "  verification: ok (chain trusted, certificate matches localhost)"),
            resumed.end())
      << log;
}

TEST(TlsTrace, ServerChoosingNoAlpnProtocolShowsNone) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "no alpn", "tls", {});
  auto lb = start_balancer({https_backend(up->port())}, {"--ca", pki.ca_file(), "--tls-trace"});
  auto r = http_get(url(lb->port()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "no alpn");
  auto block = tls_block(lb->log(), "c1/u1 TLS handshake with ");
  ASSERT_GE(block.size(), 4u) << lb->log();
  EXPECT_EQ(block[2], "  ALPN offered: h2,http/1.1");
  EXPECT_EQ(block[3], "  ALPN Protocol: none");
  // A certificate without the CA after it: a chain of one.
  EXPECT_NE(std::find(block.begin(), block.end(), "  certificate chain (1):"), block.end())
      << lb->log();
}

TEST(TlsTrace, DebugLevelShowsEachHandshakeMessage) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "debug");
  auto lb = start_balancer({https_backend(up->port())},
                           {"--ca", pki.ca_file(), "--tls-trace", "-l", "debug"});
  auto r = http_get(url(lb->port()));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string log = lb->log();
  for (const char* message :
       {"tls >>> ClientHello", "tls <<< ServerHello", "tls <<< EncryptedExtensions",
        "tls <<< Certificate", "tls <<< CertificateVerify", "tls <<< Finished",
        "tls >>> Finished"}) {
    EXPECT_TRUE(has_line(log, kStamp + "c1/u1 " + message + " \\(\\d+ bytes\\)")) << message << "\n"
                                                                                  << log;
  }
  auto hello = log.find("c1/u1 tls >>> ClientHello");
  auto server_hello = log.find("c1/u1 tls <<< ServerHello");
  auto report = log.find("c1/u1 TLS handshake with ");
  EXPECT_LT(hello, server_hello);
  EXPECT_LT(server_hello, report);
  EXPECT_NE(report, std::string::npos) << log;
}

// --- --trace ------------------------------------------------------------------------------------

TEST(TraceHex, BothLegsOfATlsBackendAreDumpedByteExact) {
  const TestPki& pki = test_pki();
  const std::string response = ok_response("traced body\n", "Server-Id: hex\r\n");
  std::mutex mu;
  std::string upstream_head;  // what the upstream got, decrypted
  ScriptedUpstream up(
      [&](ScriptedConn& c) {
        auto head = c.read_head();
        if (!head) return;
        {
          std::lock_guard lock(mu);
          upstream_head = *head;
        }
        c.send(response);
        c.hang();
      },
      TlsServerConfig{.cert_file = pki.good.cert, .key_file = pki.good.key, .alpn = {"http/1.1"}});
  auto lb = start_balancer({https_backend(up.port())}, {"--ca", pki.ca_file(), "--trace"});
  const std::string peer =
      localhost_name(up.port()) + "(127.0.0.1:" + std::to_string(up.port()) + ")";

  const std::string request =
      "GET /trace/me?x=1 HTTP/1.1\r\nHost: lb.example\r\nUser-Agent: trace-test\r\n"
      "Connection: close\r\n\r\n";
  RawClient client(lb->port());
  ASSERT_TRUE(client.send(request));
  std::string got = client.read_until_close();
  ASSERT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  ASSERT_TRUE(lb->wait_for_log(" c1 lb->client ")) << lb->log();
  std::string head;
  {
    std::lock_guard lock(mu);
    head = upstream_head;
  }
  ASSERT_TRUE(head.starts_with("GET /trace/me?x=1 HTTP/1.1\r\n")) << head;

  std::string log = lb->log();
  EXPECT_NE(log.find(trace_block("c1 client->lb", request)), std::string::npos) << log;
  EXPECT_NE(log.find(trace_block("c1/u1 lb->" + peer, head)), std::string::npos) << log;
  EXPECT_NE(log.find(trace_block("c1/u1 " + peer + "->lb", response)), std::string::npos) << log;
  EXPECT_NE(log.find(trace_block("c1 lb->client", got)), std::string::npos) << log;
  // The upstream leg is plaintext: the request line shows in the ASCII column.
  EXPECT_NE(log.find("  |GET /trace/me?x=|\n"), std::string::npos) << log;
  for (const std::string& title :
       {"c1 client->lb " + std::to_string(request.size()) + " bytes",
        "c1/u1 lb->" + regex_escaped(peer) + " " + std::to_string(head.size()) + " bytes",
        "c1/u1 " + regex_escaped(peer) + "->lb " + std::to_string(response.size()) + " bytes",
        "c1 lb->client " + std::to_string(got.size()) + " bytes"}) {
    EXPECT_TRUE(has_line(log, kStamp + title)) << title << "\n" << log;
  }
  EXPECT_EQ(count_of(log, " c1 client->lb "), 1u) << log;
  EXPECT_EQ(count_of(log, " c1/u1 lb->"), 1u) << log;
}

TEST(TraceHex, BackendNamedByItsAddressHasNoParensAndReuseRelabels) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("plain")));
  auto lb = start_balancer({up.backend()}, {"--trace"});
  const std::string name = up.backend();  // 127.0.0.1:PORT, the address it connects to
  for (int i = 0; i < 2; ++i) {
    auto r = http_get(url(lb->port(), "/r" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(lb->wait_for_log(" c2 lb->client ")) << lb->log();
  EXPECT_EQ(up.connections(), 1u);
  std::string log = lb->log();
  for (const std::string& title : {"c1/u1 lb->" + name, "c1/u1 " + name + "->lb",
                                   "c2/u1 lb->" + name, "c2/u1 " + name + "->lb"}) {
    EXPECT_TRUE(has_line(log, kStamp + regex_escaped(title) + " \\d+ bytes")) << title << "\n"
                                                                              << log;
  }
  EXPECT_EQ(log.find(name + "("), std::string::npos) << log;
  EXPECT_EQ(log.find("/u2 "), std::string::npos) << log;
  // The pooled connection carries the second client's request under its new label.
  auto second = log.find(" c2/u1 lb->" + name + " ");
  ASSERT_NE(second, std::string::npos) << log;
  auto lines = split_lines(std::string_view(log).substr(second));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(lines[1].ends_with("  |GET /r1 HTTP/1.1|")) << lines[1];
}

std::string post_request(std::size_t body_size) {
  std::string body(body_size, '\0');
  fill_pattern(0, body.data(), body.size());
  return "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body_size) +
         "\r\nConnection: close\r\n\r\n" + body;
}

// Sends `request` through a balancer started with `extra` and returns its log once the
// reply went out.
std::string trace_of(const std::string& request, const std::vector<std::string>& extra) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("ok")));
  std::vector<std::string> args{"--trace"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto lb = start_balancer({up.backend()}, args);
  RawClient client(lb->port());
  EXPECT_TRUE(client.send(request));
  std::string got = client.read_until_close();
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_TRUE(lb->wait_for_log(" c1 lb->client ")) << lb->log();
  return lb->log();
}

TEST(TraceHex, MaxBytes16ShowsOneLineAndCountsTheRest) {
  const std::string request =
      "GET /sixteen-and-more HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string log = trace_of(request, {"--trace-max-bytes", "16"});
  std::string expected = " c1 client->lb " + std::to_string(request.size()) + " bytes\n" +
                         hexdump_c(request.substr(0, 16)) + "... " +
                         std::to_string(request.size() - 16) + " more bytes not shown\n";
  EXPECT_NE(log.find(expected), std::string::npos) << expected << "\n" << log;
}

TEST(TraceHex, MaxBytes0ShowsEverything) {
  const std::string request = post_request(5000);
  std::string log = trace_of(request, {"--trace-max-bytes", "0"});
  EXPECT_NE(log.find(trace_block("c1 client->lb", request)), std::string::npos) << log;
  EXPECT_EQ(log.find("more bytes not shown"), std::string::npos) << log;
}

TEST(TraceHex, DefaultShowsTheFirst4k) {
  const std::string request = post_request(5000);
  std::string log = trace_of(request, {});
  std::string expected = " c1 client->lb " + std::to_string(request.size()) + " bytes\n" +
                         hexdump_c(std::string_view(request).substr(0, 4096)) + "... " +
                         std::to_string(request.size() - 4096) + " more bytes not shown\n";
  EXPECT_NE(log.find(expected), std::string::npos) << log;
}

TEST(TraceHex, TraceFileGetsBothTracesAndStderrNeither) {
  const TestPki& pki = test_pki();
  auto up = https_upstream(pki.good, "to a file");
  TempDir dir;
  const std::string file = dir.file("trace.log");
  auto lb = start_balancer({https_backend(up->port())},
                           {"--ca", pki.ca_file(), "--trace", "--tls-trace", "--trace-file", file});
  auto r = http_get(url(lb->port()));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(wait_until([&] {
    return read_text(file).find(" c1 lb->client ") != std::string::npos;
  })) << read_text(file);
  std::string trace = read_text(file);
  EXPECT_TRUE(has_line(trace, kStamp + "c1 client->lb \\d+ bytes")) << trace;
  EXPECT_TRUE(has_line(trace, kStamp + "c1/u1 lb->" + regex_escaped(localhost_name(up->port())) +
                                  "\\(127\\.0\\.0\\.1:\\d+\\) \\d+ bytes"))
      << trace;
  EXPECT_NE(trace.find("c1/u1 TLS handshake with " + localhost_name(up->port())), std::string::npos)
      << trace;
  // The access log line is written once the reply is out; after it nothing more is traced.
  ASSERT_TRUE(lb->wait_for_log("\"GET / HTTP/1.1\" 200")) << lb->log();
  std::string log = lb->log();
  EXPECT_EQ(log.find("client->lb"), std::string::npos) << log;
  EXPECT_EQ(log.find("TLS handshake with"), std::string::npos) << log;
  EXPECT_NE(log.find("listening on"), std::string::npos) << log;
}

TEST(TraceStartup, UnwritableTraceFileExits2WithOneLine) {
  // The parent is a regular file.
  TempDir dir;
  std::ofstream(dir.file("plain-file")) << "x";
  const std::string path = dir.file("plain-file/trace.log");
  auto r = run_program("load_balancer", {"-p", "0", "--listen", "127.0.0.1", "--no-active-health",
                                         "-b", "127.0.0.1:9", "--trace", "--trace-file", path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_of(r.err, "\n"), 1u) << r.err;
  EXPECT_TRUE(r.err.starts_with("load_balancer: --trace-file " + path + ": ")) << r.err;
  EXPECT_NE(r.err.find("Not a directory"), std::string::npos) << r.err;
}

TEST(TraceStartup, MissingTraceFileDirectoryIsAnErrorNotCreated) {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/trace.log");
  auto r = run_program("load_balancer", {"-p", "0", "--listen", "127.0.0.1", "--no-active-health",
                                         "-b", "127.0.0.1:9", "--tls-trace", "--trace-file", path});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err, "load_balancer: --trace-file " + path + ": No such file or directory\n");
  EXPECT_FALSE(std::filesystem::exists(dir.file("no-such-dir")));
}

}  // namespace
}  // namespace it
