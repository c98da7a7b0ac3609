#pragma once

#include <openssl/ssl.h>
#include <spdlog/logger.h>

#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <string>
#include <string_view>

#include "lb/config/config.hpp"
#include "lb/net/stream.hpp"
#include "lb/trace/keylog.hpp"

namespace lb::net {

// Where a TLS client reports what it does; every member is optional.
struct TlsTracing {
  // --tls-trace: one block per handshake at info, each handshake message at debug.
  spdlog::logger* report = nullptr;
  trace::KeyLog* keylog = nullptr;  // --keylog / SSLKEYLOGFILE
};

// Adds the PEM CA certificates in `file` to ctx's trust store; throws std::runtime_error
// "<prefix><file>: cannot load CA certificates: <reason>" when it cannot.
void load_ca_file(asio::ssl::context& ctx, const std::string& file, std::string_view prefix);

// How a handshake ended.
struct TlsResult {
  enum class Status { ok, failed, verify_failed };
  Status status = Status::ok;
  std::string reason;    // in words when not ok: "certificate has expired (notAfter 2026-01-01)"
  std::string protocol;  // ALPN result: "http/1.1", or empty when the server chose none
  bool resumed = false;  // the session was resumed (abbreviated handshake)
};

// The TLS client side for one backend, on one worker loop: an SSL_CTX with its trust store
// (system store, --ca, the backend's ca=), SNI and certificate name checks for the backend's
// name (or IP), ALPN, and the session kept for resumption. Not thread-safe.
class TlsClient {
 public:
  // `alpn`: the protocols offered, comma-separated ("http/1.1"). Throws std::runtime_error
  // with one line ("--ca FILE: cannot load CA certificates: ...") when a CA file is bad.
  TlsClient(const config::BackendSpec& backend, const config::Tls& global, TlsTracing tracing,
            std::string_view alpn = "http/1.1");
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // Wraps the connected `stream` in TLS and runs the handshake; the caller bounds it with
  // a watchdog on stream.socket(). `label` names the connection in traces ("c7/u3").
  asio::awaitable<TlsResult> handshake(Stream& stream, std::string_view label);

  bool verifies() const { return verify_; }
  // Why verification is off ("--insecure" or "verify=off"); empty when it is on.
  std::string_view disabled_by() const { return disabled_by_; }
  const std::string& name() const { return name_; }

 private:
  friend struct TlsCallbacks;

  std::string backend_name_;  // "api.test:443", for traces
  std::string name_;          // checked against the certificate; SNI unless an IP
  bool name_is_ip_ = false;
  bool verify_ = true;
  std::string disabled_by_;
  std::string alpn_text_;  // "http/1.1"
  std::string alpn_wire_;  // length-prefixed, for SSL_set_alpn_protos
  TlsTracing tracing_;
  asio::ssl::context ctx_;
  SSL_SESSION* session_ = nullptr;  // the newest resumable session from this backend
};

}  // namespace lb::net
