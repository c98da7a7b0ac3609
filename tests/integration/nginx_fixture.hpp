#pragma once

// nginx as a real TLS peer for interoperability tests: an HTTPS server that is not ours.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "certs.hpp"
#include "harness.hpp"

namespace it {

// nginx serving HTTPS on 127.0.0.1, on a port the OS picked, in the foreground with one
// worker, its own temp prefix, TLS 1.2 and 1.3, keep-alive on and access logging off.
// Every request gets 200 with `body` (text/plain) and the header "Server-Id: nginx". The
// listening socket is bound in the test process and inherited by nginx (its NGINX variable,
// as in a binary upgrade), so there is no window in which another program could take the
// port.
class NginxTls {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nginx";

  // Whether kBinary exists and is executable; tests GTEST_SKIP when it is not.
  static bool available();

  // Returns once nginx completes a TLS handshake on port(). `cert` may hold a chain. With
  // `http2`, ALPN selects h2 when offered (nginx 1.22's "listen ... ssl http2"). Throws
  // std::runtime_error with nginx's error log when it exits or is not ready in kTimeout.
  NginxTls(const CertFiles& cert, std::string_view body, bool http2 = false);
  // Stops nginx (SIGTERM, then SIGKILL to its process group), reaps it and removes its
  // temp dir.
  ~NginxTls();
  NginxTls(const NginxTls&) = delete;
  NginxTls& operator=(const NginxTls&) = delete;

  std::uint16_t port() const { return port_; }
  std::string backend() const { return backend_arg(port_); }  // "127.0.0.1:PORT"
  // nginx's error log so far, at level info (which has the reasons for failed handshakes).
  std::string error_log() const;

 private:
  void wait_ready();

  TempDir dir_;  // nginx's prefix: configuration, logs, temp paths
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;  // declared after dir_: stopped before dir_ is removed
};

}  // namespace it
