#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lb::config {

using Millis = std::chrono::milliseconds;

enum class Strategy { round_robin, weighted, random };
enum class Mode { sp, mp };
enum class LogLevel { err, warn, info, debug };

// How the balancer speaks TLS to one backend (when `enabled`).
struct BackendTls {
  bool enabled = false;  // https://, port 443 without a scheme, or ,tls=on
  std::string sni;       // name sent as SNI and checked against the certificate; empty = the
                         // backend's host (an IP literal is checked as an IP and sends no SNI)
  bool verify = true;    // chain and name checked; ,verify=off or --insecure turn it off
  std::string ca_file;   // PEM trust anchors added for this backend (beside --ca and the system's)
};

// Which HTTP version the balancer speaks to one backend.
enum class Protocol {
  automatic,  // TLS: ALPN offers h2 and http/1.1, the backend picks; plain: HTTP/1.1
  h1,         // HTTP/1.1 only (TLS offers only http/1.1)
  h2,         // HTTP/2 only: TLS offers only h2; plain TCP uses prior knowledge (h2c://)
};

// One upstream as the operator wrote it; resolved to addresses by the net layer.
struct BackendSpec {
  std::string host;  // DNS name or IP literal, without IPv6 brackets
  std::uint16_t port = 0;
  unsigned weight = 1;  // >= 1; used by the weighted and random strategies
  BackendTls tls{};
  Protocol protocol = Protocol::automatic;  // h2c://, or ,proto=auto|h1|h2

  // The ALPN list TLS offers for `protocol`: "h2,http/1.1", "http/1.1" or "h2".
  const char* alpn() const;
  // "host:port" ("[::1]:port" for IPv6 literals, port omitted when it is the scheme's
  // default, 80 or 443): the Host header value the balancer sends unless --preserve-host.
  std::string authority() const;
  // The name TLS verifies and sends as SNI: tls.sni, else host.
  const std::string& tls_name() const { return tls.sni.empty() ? host : tls.sni; }
  // "host:port" with brackets for IPv6, always with the port: for logs and errors.
  std::string name() const;
};

struct Timeouts {
  Millis connect{5000};    // TCP connect to a backend
  Millis response{60000};  // request fully sent -> backend response head received
  Millis client{10000};    // first byte -> complete request head from a client
  Millis idle{60000};      // keep-alive idle time, client side and pooled upstream side
  Millis drain{30000};     // graceful stop: longest wait for requests in flight
};

struct Limits {
  std::size_t max_request_line = 8 * 1024;   // bytes; longer -> 414
  std::size_t max_header_bytes = 32 * 1024;  // whole request head; larger -> 431
  std::uint64_t max_body = 0;                // bytes; 0 = unlimited; larger -> 413
  std::size_t max_idle_per_backend = 512;    // pooled idle upstream connections per backend
};

// Active health checks and the thresholds shared with passive health.
struct Health {
  bool active = true;      // probe every backend on an interval
  std::string path = "/";  // GET target of a probe; 2xx or 3xx within timeout passes
  Millis interval{5000};   // between two probes of one backend
  Millis timeout{2000};    // connect + response head of one probe
  unsigned fall = 3;       // consecutive failures (probes or requests) that mark it down
  unsigned rise = 2;       // consecutive successes that bring it back up
};

// TLS settings that apply to every TLS backend.
struct Tls {
  bool insecure = false;    // -k: no certificate verification anywhere (loud warnings)
  std::string ca_file;      // --ca: PEM trust anchors added to the system store
  std::string keylog_file;  // --keylog or SSLKEYLOGFILE: NSS key log of upstream TLS
};

// Wire debugging output, written through the "trace" and "tls_trace" loggers.
struct Trace {
  bool hex = false;              // --trace: hex dump of every byte on both legs
  bool tls = false;              // --tls-trace: one report per upstream handshake
  std::size_t max_bytes = 4096;  // bytes dumped per block; 0 = all
  std::string file;              // empty = stderr
};

// The whole configuration in force; immutable once built.
struct Config {
  std::string listen = "0.0.0.0";  // IPv4 or IPv6 literal (no brackets)
  std::uint16_t port = 8080;       // 0 = let the OS choose (tests)
  // --admin ADDR:PORT: /metrics is served there only (the main port proxies it like any
  // path); off = /metrics on the main port.
  bool admin = false;
  std::string admin_listen;  // IPv4 or IPv6 literal (no brackets)
  std::uint16_t admin_port = 0;
  std::vector<BackendSpec> backends;
  std::string config_file;        // -c FILE: where the rest came from (empty: flags only)
  bool default_backends = false;  // true when no -b was given and the bundled pair is used
  Strategy strategy = Strategy::round_robin;
  LogLevel log_level = LogLevel::info;
  unsigned workers = 0;  // 0 = number of CPU cores (mp mode)
  Mode mode = Mode::mp;
  Timeouts timeouts;
  Limits limits;
  Health health;
  unsigned retries = 2;        // extra attempts on other backends when that is safe (0..10)
  bool preserve_host = false;  // forward the client's Host instead of the backend authority
  Tls tls;
  Trace trace;
};

const char* to_string(Strategy s);
const char* to_string(LogLevel l);
const char* to_string(Mode m);
const char* to_string(Protocol p);

}  // namespace lb::config
