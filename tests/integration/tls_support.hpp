#pragma once

// What the balancer's TLS and trace tests share: one generated PKI per test binary, TLS
// ScriptedUpstreams, temp dirs, and readers for the --trace and --tls-trace output.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "certs.hpp"
#include "harness.hpp"

namespace it {

// The PKI of this test binary, generated on first use (key generation is slow).
const TestPki& test_pki();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// The whole file; empty when it cannot be read.
std::string read_text(const std::string& path);
// `text` split at '\n' (no '\n' kept; no empty last line for a trailing '\n').
std::vector<std::string> split_lines(std::string_view text);
// Occurrences of `needle` in `text`.
std::size_t count_of(std::string_view text, std::string_view needle);
// Polls `done` every few milliseconds until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, Clock::duration timeout = kTimeout);

// "https://localhost:PORT" (the good leaf's SAN has localhost), plus ",OPTIONS" if given.
std::string https_backend(std::uint16_t port, std::string_view options = {});

// A TLS ScriptedUpstream answering every request with `body` and "Server-Id: <id>".
std::unique_ptr<ScriptedUpstream> https_upstream(const CertFiles& cert, const std::string& body,
                                                 const std::string& id = "tls",
                                                 std::vector<std::string> alpn = {"http/1.1"});

// The checks every reply the balancer makes itself passes: status, X-LB-Error, plain-text
// body starting with the status.
void expect_lb_error(const CurlResponse& r, long status, const std::string& code);

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
