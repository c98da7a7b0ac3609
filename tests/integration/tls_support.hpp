#pragma once

// What the TLS and trace tests share: one generated PKI per test binary, TLS
// ScriptedUpstreams, an OpenSSL client, and readers for the --trace and --tls-trace output.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs.hpp"
#include "harness.hpp"
#include "openssl_owned.hpp"

namespace it {

// The PKI of this test binary, generated on first use (key generation is slow).
const TestPki& test_pki();

// Polls `done` every few milliseconds until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, Clock::duration timeout = kTimeout);

// "https://localhost:PORT" (the good leaf's SAN has localhost), plus ",OPTIONS" if given.
std::string https_backend(std::uint16_t port, std::string_view options = {});

// A TLS ScriptedUpstream answering every request with `body` and "Server-Id: <id>".
std::unique_ptr<ScriptedUpstream> https_upstream(const CertFiles& cert, const std::string& body,
                                                 const std::string& id = "tls",
                                                 std::vector<std::string> alpn = {"http/1.1"});

// ---------------------------------------------------------------------------------------
// A plain OpenSSL client, for what libcurl does not let a test choose or see: the ALPN list
// offered, the protocol version, session resumption, how the server ends the connection.

// "N (OpenSSL's text for N)" for an X509_V_* verification result.
std::string verify_result_text(int error);

// A client SSL_CTX that verifies the server against `ca_file` (empty: no verification) and
// offers `alpn`, in order (empty: no ALPN extension). `max_version` (e.g. TLS1_1_VERSION)
// caps the protocol version and also lowers this side's floor to TLS 1.0 and its security
// level to 0, so that refusing an old version is up to the server; 0 = OpenSSL's defaults.
// Null when OpenSSL cannot make one.
Owned<SSL_CTX> tls_client_ctx(const std::string& ca_file, const std::vector<std::string>& alpn = {},
                              int max_version = 0);

// A blocking TLS client connection to 127.0.0.1:port; each read and write gives up after
// kTimeout (socket timeouts), so a broken server fails the test instead of hanging it. Not
// thread-safe; one request at a time.
class TlsTestClient {
 public:
  // Connects (throws std::runtime_error when it cannot); the handshake waits for
  // handshake(). `host`, unless empty, is sent as SNI and checked against the certificate;
  // `session`, when given, is offered for resumption. The connection holds its own
  // reference to `ctx` and to `session`.
  TlsTestClient(SSL_CTX* ctx, std::uint16_t port, const std::string& host,
                SSL_SESSION* session = nullptr);
  // Sends close_notify first unless the connection failed: OpenSSL marks the session of a
  // connection freed without one as not resumable (ssl_clear_bad_session), which would
  // spoil a session taken from it.
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // True once the handshake succeeded; else error() says why: OpenSSL's error queue and
  // the verification result (verify_result_text).
  bool handshake();
  const std::string& error() const { return error_; }

  // Writes all of `bytes`; false when a write fails.
  bool send(std::string_view bytes);
  // The next complete response (a close-delimited body ends when the connection does);
  // nullopt when the connection ends or a read times out first.
  std::optional<Message> read_response();
  // Reads until the connection ends; returns the SSL_get_error of the read that ended it:
  // SSL_ERROR_ZERO_RETURN after a close_notify, SSL_ERROR_SYSCALL (end_errno() ECONNRESET)
  // after a reset.
  int read_to_end();
  // errno after the read that ended the connection (e.g. ECONNRESET); 0 while it is open.
  int end_errno() const { return end_errno_; }

  bool resumed() const;
  // The protocol ALPN selected; empty when none was.
  std::string alpn() const;
  // The session, for resumption by another connection; null before a handshake.
  Owned<SSL_SESSION> session() const;
  // TLS1_2_VERSION, TLS1_3_VERSION, ...
  int protocol_version() const;

 private:
  // Appends what one SSL_read returns to buf_; false (and end_ set) when the connection has
  // ended or the read failed.
  bool read_more();

  int fd_ = -1;
  Owned<SSL> ssl_;
  std::string buf_;
  std::string error_;
  int end_ = 0;  // SSL_get_error of the read that ended the connection; 0 while open
  int end_errno_ = 0;
};

// ---------------------------------------------------------------------------------------
// --tls-trace and --trace output

// The certificate's validity as the TLS trace prints it: "2026-01-01 12:00:00 UTC ..
// 2026-01-31 12:00:00 UTC", read with OpenSSL from the PEM file.
std::string validity_text(const std::string& cert_path);

// The --tls-trace block whose title line contains `title` (first match): the title line and
// the indented lines after it, each without its line end; empty when there is none.
std::vector<std::string> tls_block(const std::string& log, std::string_view title);

// What `hexdump -C -v` prints for `bytes`, without its final offset-only line; computed
// with /usr/bin/hexdump when installed, else by an equivalent formatter here.
std::string hexdump_c(std::string_view bytes);

}  // namespace it
