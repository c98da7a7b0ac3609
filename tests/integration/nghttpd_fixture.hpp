#pragma once

// nghttpd (Debian's nghttp2-server) as a real HTTP/2 peer that is not ours.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "certs.hpp"
#include "harness.hpp"

namespace it {

// nghttpd serving the files of `docroot` on 127.0.0.1: over TLS with ALPN h2 when `cert`
// is given, else HTTP/2 over plain TCP (prior knowledge). nghttpd cannot be handed a socket
// or report the port it got, so a port the OS just gave out is used; if nghttpd cannot
// bind it (another program took it meanwhile), another one is tried.
class Nghttpd {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nghttpd";

  // Whether kBinary exists and is executable; tests GTEST_SKIP when it is not.
  static bool available();

  // Returns once nghttpd accepts connections. `extra` adds flags (e.g. "--trailer=x: y").
  // Throws std::runtime_error with nghttpd's output when it does not start.
  Nghttpd(const std::string& docroot, const CertFiles* cert,
          const std::vector<std::string>& extra = {});

  std::uint16_t port() const { return port_; }
  std::string log() const { return process_->log(); }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace it
