#include "lb/config/cli.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config_file.hpp"

namespace lb::config {

namespace {

// Timers add the timeout to steady_clock::now() in nanoseconds; a day keeps far from overflow
// and no sane timeout is longer.
constexpr Millis kMaxTimeout = std::chrono::hours(24);
constexpr std::uint64_t kMinHeaderSize = 1024;
constexpr unsigned kMaxWorkers = 1024;
constexpr unsigned kMaxWeight = 1000;

constexpr std::string_view kDurationHint = "a duration like 500ms, 5s, 1m or 1h, at most 24h";
constexpr std::string_view kSizeHint = "a size like 512, 64k, 10m or 1g";
constexpr std::string_view kHeaderSizeHint = "a size like 16k or 64k, at least 1k";

constexpr std::string_view kHelp = R"(Usage: load_balancer [options]

HTTP/1.1 load balancer and debugging proxy: accepts client connections and
forwards each request to one of the backends, picked by the strategy, over
HTTP/1.1 or HTTP/2 (ALPN h2, or h2c://), plain or TLS.

Listening:
  -p, --port N                port to listen on; 0 = any free port
                              (default 8080)
      --listen ADDR           IPv4 or IPv6 address to listen on; brackets
                              are allowed: [::] (default 0.0.0.0)
      --admin ADDR:PORT       answer GET /metrics (Prometheus) there instead
                              of on the main port, e.g. 127.0.0.1:9100

Backends:
  -b, --backend SPEC          add a backend; repeat for more (default
                              127.0.0.1:9001 and 127.0.0.1:9002)
  -s, --strategy NAME         round_robin, weighted or random
                              (default round_robin)
      --preserve-host         forward the client's Host header instead of
                              the backend's HOST:PORT

TLS to backends (https://, port 443 or ,tls=on):
  -k, --insecure              do not verify backend certificates (warns at
                              start-up and in every --tls-trace report)
      --ca FILE               PEM CA certificates to trust, beside the
                              system store
      --keylog FILE           append TLS secrets in NSS key log format, for
                              Wireshark (also taken from $SSLKEYLOGFILE)

Wire debugging:
      --trace                 hex dump of every byte both ways, client side
                              and backend side (decrypted)
      --tls-trace             one report per backend TLS handshake: version,
                              cipher, ALPN, certificates, verification
      --trace-max-bytes SIZE  bytes dumped per block; 0 = all (default 4k)
      --trace-file FILE       trace output to FILE instead of stderr

Health and retries:
      --health-path PATH      GET target of active probes (default /)
      --health-interval D     time between probes of a backend (default 5s)
      --health-timeout D      connect + response head of a probe (default 2s)
      --no-active-health      no probes: only real traffic judges backends;
                              a down backend gets a trial request after
                              --health-interval
      --fall N                consecutive failures that mark a backend down
                              (default 3)
      --rise N                consecutive successes that bring it back
                              (default 2)
      --retries N             extra attempts on other backends when the
                              request never reached one, or reached one but
                              got no answer and is idempotent (default 2)

Timeouts (D: 250ms, 5s, 1m, 1h, or a bare number of seconds; 1ms..24h):
      --connect-timeout D     TCP connect (and TLS handshake) to a backend
                              (default 5s)
      --response-timeout D    request sent -> backend response head
                              (default 60s)
      --client-timeout D      client's first byte -> full request head
                              (default 10s)
      --idle-timeout D        keep-alive idle time, client and backend side
                              (default 60s)
      --drain-timeout D       on SIGTERM or SIGINT: longest wait for requests
                              in flight before exiting (default 30s)

Limits (SIZE: 512, 64k, 10m, 1g; k, m and g are multiples of 1024):
      --max-body-size SIZE    largest request body; 0 = unlimited (default 0)
      --max-header-size SIZE  largest request head, at least 1k (default 32k)

Process and logging:
      --mode sp|mp            mp = a master process and worker processes
                              sharing health and metrics; sp = everything
                              in one process (default mp)
  -w, --workers N             worker processes in mp mode, 1..1024
                              (default: number of CPU cores)
  -l, --loglevel LEVEL        err, warn, info or debug (default info)

Config file:
  -c, --config FILE           JSON file with backends and any of the long
                              options above as keys; options given on the
                              command line win; -b and the file's
                              "backends" do not mix
      --check                 check the options (and the file), say so and
                              exit: 0 if valid, 2 if not

  -h, --help                  print this help and exit
      --version               print the version and exit

Long options take their value as --opt VALUE or --opt=VALUE; short ones as
-p 8080 or -p8080.

Backend SPEC: [SCHEME://]HOST[:PORT][,OPTION,...]
  SCHEME is http (default port 80), https (TLS, default port 443) or h2c
  (HTTP/2 over plain TCP, default port 80); with no scheme, port 443 means
  TLS. IPv6 literals need brackets: [::1]:9001.
  OPTIONs:
    weight=N                  1..1000, for -s weighted and random (default 1)
    tls=on|off                TLS or not, whatever the scheme and port say
    sni=NAME                  name sent as SNI and checked against the
                              certificate (default HOST; none for an IP)
    verify=off                do not verify this backend's certificate
    ca=FILE                   extra PEM CA certificates for this backend
    proto=auto|h1|h2          HTTP version: auto = TLS lets ALPN choose h2 or
                              http/1.1, plain is HTTP/1.1; h2 on plain TCP is
                              prior knowledge, same as h2c:// (default auto)
  e.g. 10.0.0.7:8080   app.internal   http://app.internal:8080/
       [::1]:9001   10.0.0.8:8080,weight=3   api.example.com:443
       https://127.0.0.1:8443,sni=api.test,ca=test-ca.pem   h2c://127.0.0.1:9003

Examples:
  load_balancer -p 8080 -b 10.0.0.7:8080 -b 10.0.0.8:8080
  load_balancer -s weighted -b app1:9000,weight=3 -b app2:9000
  load_balancer --listen :: -p 0 -b [::1]:9001 -b http://localhost:9002/
  load_balancer -p 8080 -b api.example.com:443 --tls-trace

Exit codes:
  0  success, including --help and --version
  1  start-up failure, e.g. the port is already in use
  2  usage error: a bad option or value, or a backend host that does not
     resolve; the message says which and how to fix
)";

// Values are echoed in one-line errors, so control bytes must not break the line.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

[[noreturn]] void fail(std::string_view flag, const std::string& what) {
  throw UsageError(std::string(flag) + ": " + what);
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// Only plain ASCII digits: from_chars alone would accept a leading '-' for signed types and
// we want "+1" and " 1" refused too.
std::optional<std::uint64_t> parse_uint(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

// Splits "123suffix" and scales by the unit the suffix names; nullopt on overflow.
template <typename UnitOf>
std::optional<std::uint64_t> parse_scaled(std::string_view text, UnitOf unit_of) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  auto n = parse_uint(text.substr(0, digits));
  std::optional<std::uint64_t> unit = unit_of(lowered(text.substr(digits)));
  if (!n || !unit) return std::nullopt;
  if (*n > std::numeric_limits<std::int64_t>::max() / *unit) return std::nullopt;
  return *n * *unit;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 §2.1 host names (underscore tolerated: internal DNS often has it) or IPv4 literals.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// Same backend written two ways ("::1" / "0::1", "App" / "app.") must still count as one.
std::string backend_key(const BackendSpec& b) {
  std::string host = lowered(b.host);
  std::array<char, INET6_ADDRSTRLEN> buf{};
  in6_addr a6{};
  in_addr a4{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    host = inet_ntop(AF_INET6, &a6, buf.data(), buf.size());
  } else if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    host = inet_ntop(AF_INET, &a4, buf.data(), buf.size());
  } else if (!host.empty() && host.back() == '.') {
    host.pop_back();
  }
  return host + ":" + std::to_string(b.port);
}

// Optimal string alignment distance: a swapped pair ("prot") counts as one edit.
std::size_t osa_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::uint16_t port_value(std::string_view flag, std::string_view value) {
  auto n = parse_uint(value);
  if (!n || *n > 65535) fail(flag, quoted(value) + " is not a port number (expected 0..65535)");
  return static_cast<std::uint16_t>(*n);
}

std::string listen_value(std::string_view flag, std::string_view value) {
  std::string addr(value);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') {
    addr = addr.substr(1, addr.size() - 2);
  }
  if (!is_ipv4(addr) && !is_ipv6(addr)) {
    fail(flag, quoted(value) +
                   " is not an IP address (expected an IPv4 or IPv6 literal such as 0.0.0.0, "
                   "127.0.0.1 or ::)");
  }
  return addr;
}

// --admin ADDR:PORT, IPv6 in brackets: [::1]:9100.
void set_admin(Config& c, std::string_view flag, std::string_view value) {
  std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || (value.starts_with('[') && value[colon - 1] != ']')) {
    fail(flag, quoted(value) + " is not ADDR:PORT (e.g. 127.0.0.1:9100 or [::1]:9100)");
  }
  c.admin_listen = listen_value(flag, value.substr(0, colon));
  c.admin_port = port_value(flag, value.substr(colon + 1));
  c.admin = true;
}

Millis timeout_value(std::string_view flag, std::string_view value) {
  auto d = parse_duration(value);
  std::string hint = " (expected " + std::string(kDurationHint) + ")";
  if (!d && value.front() == '-') fail(flag, quoted(value) + " is negative" + hint);
  if (!d) fail(flag, quoted(value) + " is not a duration" + hint);
  if (d->count() == 0) fail(flag, quoted(value) + " is zero; a timeout must be at least 1ms");
  if (*d > kMaxTimeout) fail(flag, quoted(value) + " is too long" + hint);
  return *d;
}

std::uint64_t size_value(std::string_view flag, std::string_view value, std::string_view hint) {
  auto n = parse_size(value);
  if (!n) fail(flag, quoted(value) + " is not a size (expected " + std::string(hint) + ")");
  return *n;
}

template <typename Enum>
Enum choice_value(std::string_view flag, std::string_view value, std::string_view what,
                  std::initializer_list<std::pair<std::string_view, Enum>> choices) {
  std::string names;
  std::size_t i = 0;
  for (const auto& [name, e] : choices) {
    if (name == value) return e;
    if (i++ > 0) names += i == choices.size() ? " or " : ", ";
    names += name;
  }
  fail(flag, quoted(value) + " is not a " + std::string(what) + " (expected " + names + ")");
}

void set_backend(Config& c, std::string_view flag, std::string_view value) {
  try {
    c.backends.push_back(parse_backend(value));
  } catch (const UsageError& e) {
    fail(flag, e.what());
  }
}

void set_workers(Config& c, std::string_view flag, std::string_view value) {
  auto n = parse_uint(value);
  if (!n || *n < 1 || *n > kMaxWorkers) {
    fail(flag, quoted(value) + " is not a worker count (expected 1..1024)");
  }
  c.workers = static_cast<unsigned>(*n);
}

template <Millis Timeouts::*field>
void set_timeout(Config& c, std::string_view flag, std::string_view value) {
  c.timeouts.*field = timeout_value(flag, value);
}

void set_max_header(Config& c, std::string_view flag, std::string_view value) {
  std::uint64_t n = size_value(flag, value, kHeaderSizeHint);
  if (n < kMinHeaderSize) fail(flag, quoted(value) + " is too small (expected at least 1k)");
  c.limits.max_header_bytes = static_cast<std::size_t>(n);
}

void set_count(unsigned& out, std::string_view flag, std::string_view value, unsigned min,
               unsigned max) {
  auto n = parse_uint(value);
  if (!n || *n < min || *n > max) {
    fail(flag, quoted(value) + " is not a count (expected " + std::to_string(min) + ".." +
                   std::to_string(max) + ")");
  }
  out = static_cast<unsigned>(*n);
}

void set_health_path(Config& c, std::string_view flag, std::string_view value) {
  bool ok = !value.empty() && value.front() == '/';
  for (char ch : value) ok = ok && ch > ' ' && ch < 0x7f;
  if (!ok) fail(flag, quoted(value) + " is not a request path (expected e.g. / or /healthz)");
  c.health.path = std::string(value);
}

// A path as given; it is opened at start-up, where a bad one is reported.
std::string file_value(std::string_view flag, std::string_view value) {
  for (char ch : value) {
    if (static_cast<unsigned char>(ch) < 0x20) fail(flag, quoted(value) + " is not a file name");
  }
  return std::string(value);
}

using Flag = std::string_view;
using Value = std::string_view;

struct OptionInfo {
  std::string_view long_name;
  char short_name;            // '\0' when there is none
  std::string_view expected;  // what the value looks like; empty for flags without a value
  void (*apply)(Config&, Flag, Value);  // nullptr for --help and --version
};

constexpr OptionInfo kOptions[] = {
    {"port", 'p', "0..65535", [](Config& c, Flag f, Value v) { c.port = port_value(f, v); }},
    {"listen", '\0', "an IPv4 or IPv6 address such as 0.0.0.0 or ::",
     [](Config& c, Flag f, Value v) { c.listen = listen_value(f, v); }},
    {"backend", 'b', "HOST:PORT", set_backend},
    {"config", 'c', "FILE", [](Config& c, Flag, Value v) { c.config_file = std::string(v); }},
    {"admin", '\0', "ADDR:PORT", set_admin},
    {"strategy", 's', "round_robin, weighted or random",
     [](Config& c, Flag f, Value v) {
       c.strategy = choice_value<Strategy>(f, v, "strategy",
                                           {{"round_robin", Strategy::round_robin},
                                            {"weighted", Strategy::weighted},
                                            {"random", Strategy::random}});
     }},
    {"loglevel", 'l', "err, warn, info or debug",
     [](Config& c, Flag f, Value v) {
       c.log_level = choice_value<LogLevel>(f, v, "log level",
                                            {{"err", LogLevel::err},
                                             {"warn", LogLevel::warn},
                                             {"info", LogLevel::info},
                                             {"debug", LogLevel::debug}});
     }},
    {"workers", 'w', "1..1024", set_workers},
    {"mode", '\0', "sp or mp",
     [](Config& c, Flag f, Value v) {
       c.mode = choice_value<Mode>(f, v, "mode", {{"sp", Mode::sp}, {"mp", Mode::mp}});
     }},
    {"connect-timeout", '\0', kDurationHint, set_timeout<&Timeouts::connect>},
    {"response-timeout", '\0', kDurationHint, set_timeout<&Timeouts::response>},
    {"client-timeout", '\0', kDurationHint, set_timeout<&Timeouts::client>},
    {"idle-timeout", '\0', kDurationHint, set_timeout<&Timeouts::idle>},
    {"drain-timeout", '\0', kDurationHint, set_timeout<&Timeouts::drain>},
    {"max-body-size", '\0', kSizeHint,
     [](Config& c, Flag f, Value v) { c.limits.max_body = size_value(f, v, kSizeHint); }},
    {"max-header-size", '\0', kHeaderSizeHint, set_max_header},
    {"preserve-host", '\0', "", [](Config& c, Flag, Value) { c.preserve_host = true; }},
    {"retries", '\0', "0..10",
     [](Config& c, Flag f, Value v) { set_count(c.retries, f, v, 0, 10); }},
    {"health-path", '\0', "a path such as /healthz", set_health_path},
    {"health-interval", '\0', kDurationHint,
     [](Config& c, Flag f, Value v) { c.health.interval = timeout_value(f, v); }},
    {"health-timeout", '\0', kDurationHint,
     [](Config& c, Flag f, Value v) { c.health.timeout = timeout_value(f, v); }},
    {"no-active-health", '\0', "", [](Config& c, Flag, Value) { c.health.active = false; }},
    {"fall", '\0', "1..100",
     [](Config& c, Flag f, Value v) { set_count(c.health.fall, f, v, 1, 100); }},
    {"rise", '\0', "1..100",
     [](Config& c, Flag f, Value v) { set_count(c.health.rise, f, v, 1, 100); }},
    {"insecure", 'k', "", [](Config& c, Flag, Value) { c.tls.insecure = true; }},
    {"ca", '\0', "a PEM file of CA certificates",
     [](Config& c, Flag f, Value v) { c.tls.ca_file = file_value(f, v); }},
    {"keylog", '\0', "a file name",
     [](Config& c, Flag f, Value v) { c.tls.keylog_file = file_value(f, v); }},
    {"trace", '\0', "", [](Config& c, Flag, Value) { c.trace.hex = true; }},
    {"tls-trace", '\0', "", [](Config& c, Flag, Value) { c.trace.tls = true; }},
    {"trace-max-bytes", '\0', kSizeHint,
     [](Config& c, Flag f, Value v) {
       c.trace.max_bytes = static_cast<std::size_t>(size_value(f, v, kSizeHint));
     }},
    {"trace-file", '\0', "a file name",
     [](Config& c, Flag f, Value v) { c.trace.file = file_value(f, v); }},
    {"help", 'h', "", nullptr},
    {"check", '\0', "", nullptr},
    {"version", '\0', "", nullptr},
};

void check_unique(std::string_view flag, const std::vector<BackendSpec>& backends) {
  std::set<std::string> seen;
  for (const auto& b : backends) {
    if (!seen.insert(backend_key(b)).second) {
      fail(flag, "backend " + b.name() +
                     " is given twice (list each HOST:PORT once; use ,weight=N to send it more)");
    }
  }
}

[[noreturn]] void unknown_option(std::string_view arg, std::string_view name) {
  const OptionInfo* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& o : kOptions) {
    std::size_t dist = osa_distance(lowered(name), o.long_name);
    if (dist < best_distance) best = &o, best_distance = dist;
  }
  std::string msg = "unknown option " + quoted(arg);
  if (best) throw UsageError(msg + " (did you mean --" + std::string(best->long_name) + "?)");
  throw UsageError(msg + " (see --help for the list of options)");
}

struct Matched {
  const OptionInfo* option;
  std::string_view flag;                  // as typed, for messages: "-p" or "--port"
  std::optional<std::string_view> value;  // "--port=1" or "-p1"
};

Matched match_option(std::string_view arg) {
  if (arg.size() > 2 && arg.starts_with("--")) {
    std::string_view body = arg.substr(2);
    std::size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    for (const auto& o : kOptions) {
      if (o.long_name != name) continue;
      Matched m{&o, arg.substr(0, 2 + name.size()), std::nullopt};
      if (eq != std::string_view::npos) m.value = body.substr(eq + 1);
      return m;
    }
    unknown_option(arg.substr(0, 2 + name.size()), name);
  }
  if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
    // "-port 80" would otherwise read as -p with value "ort".
    std::string_view name = arg.substr(1, arg.find('=') - 1);
    for (const auto& o : kOptions) {
      if (name.size() > 1 && o.long_name == name) {
        throw UsageError("unknown option " + quoted(arg.substr(0, 1 + name.size())) +
                         " (did you mean --" + std::string(name) + "?)");
      }
    }
    for (const auto& o : kOptions) {
      if (o.short_name != arg[1]) continue;
      Matched m{&o, arg.substr(0, 2), std::nullopt};
      if (arg.size() > 2) m.value = arg.substr(2);
      return m;
    }
    throw UsageError("unknown option " + quoted(arg.substr(0, 2)) +
                     " (see --help for the list of options)");
  }
  std::string msg = "unexpected argument " + quoted(arg) + " (load_balancer takes only options";
  if (arg.find(':') != std::string_view::npos) {
    try {
      parse_backend(arg);
      throw UsageError(msg + "; to add a backend write -b " + std::string(arg) + ")");
    } catch (const UsageError& e) {
      if (std::string_view(e.what()).starts_with("unexpected")) throw;
    }
  }
  throw UsageError(msg + "; see --help)");
}

// "-b -p 80" is a forgotten value, but "-p -1" is a (bad) value to report as such.
bool looks_like_option(std::string_view arg) {
  return arg.size() >= 2 && arg[0] == '-' && !(arg[1] >= '0' && arg[1] <= '9');
}

}  // namespace

namespace detail {

std::size_t edit_distance(std::string_view a, std::string_view b) { return osa_distance(a, b); }

std::vector<FileOption> file_options() {
  std::vector<FileOption> out;
  for (const auto& o : kOptions) {
    if (o.apply == nullptr || o.apply == set_backend || o.long_name == "config") continue;
    out.push_back({o.long_name, !o.expected.empty(), o.apply});
  }
  return out;
}

void check_unique_backends(std::string_view label, const std::vector<BackendSpec>& backends) {
  check_unique(label, backends);
}

}  // namespace detail

CliResult parse_cli(std::span<const char* const> args) {
  CliResult result;
  Config& cfg = result.config;
  std::string_view last_backend_flag = "-b";
  std::set<std::string, std::less<>> given;  // long names of the options on the command line
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i] ? args[i] : "";
    Matched m = match_option(arg);
    const OptionInfo& o = *m.option;
    if (o.expected.empty()) {
      if (m.value) fail(m.flag, "takes no value (remove " + quoted(*m.value) + ")");
      // Stop at --help/--version: the user asked to read, not to be told what else is wrong.
      if (o.long_name == "help") return {CliAction::help, cfg};
      if (o.long_name == "version") return {CliAction::version, cfg};
      if (o.long_name == "check") {
        result.action = CliAction::check;
        continue;
      }
      o.apply(cfg, m.flag, {});
      given.emplace(o.long_name);
      continue;
    }
    std::string_view value;
    if (m.value) {
      value = *m.value;
    } else if (i + 1 < args.size() && args[i + 1] && !looks_like_option(args[i + 1])) {
      value = args[++i];
    }
    if (value.empty()) fail(m.flag, "missing value (expected " + std::string(o.expected) + ")");
    if (o.apply == set_backend) last_backend_flag = m.flag;
    o.apply(cfg, m.flag, value);
    given.emplace(o.long_name);
  }
  if (!cfg.config_file.empty()) apply_config_file(cfg, given);
  if (cfg.backends.empty()) {
    cfg.backends = {{"127.0.0.1", 9001, 1}, {"127.0.0.1", 9002, 1}};
    cfg.default_backends = true;
  }
  check_unique(last_backend_flag, cfg.backends);
  return result;
}

std::string_view help_text() { return kHelp; }

std::optional<Millis> parse_duration(std::string_view text) {
  auto ms = parse_scaled(text, [](const std::string& unit) -> std::optional<std::uint64_t> {
    if (unit == "ms") return 1;
    if (unit.empty() || unit == "s") return 1000;
    if (unit == "m") return 60'000;
    if (unit == "h") return 3'600'000;
    return std::nullopt;
  });
  if (!ms) return std::nullopt;
  return Millis(static_cast<Millis::rep>(*ms));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  return parse_scaled(text, [](std::string unit) -> std::optional<std::uint64_t> {
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    if (unit.empty()) return 1;
    if (unit == "k") return 1ULL << 10;
    if (unit == "m") return 1ULL << 20;
    if (unit == "g") return 1ULL << 30;
    return std::nullopt;
  });
}

namespace {

bool on_off(std::string_view value, std::string_view key, const std::string& prefix) {
  if (value == "on") return true;
  if (value == "off") return false;
  throw UsageError(prefix + std::string(key) + " " + quoted(value) +
                   " is not valid (expected on or off)");
}

// The ",key=value" options after the address; `tls_set` says whether tls= was given.
void apply_backend_options(std::string_view options, BackendSpec& spec, bool& tls_set,
                           const std::string& prefix) {
  std::set<std::string_view> seen;
  for (;;) {
    std::size_t comma = options.find(',');
    std::string_view option = options.substr(0, comma);
    std::size_t eq = option.find('=');
    std::string_view key = option.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : option.substr(eq + 1);
    constexpr std::string_view kKeys[] = {"weight", "tls", "sni", "verify", "ca", "proto"};
    if (eq == std::string_view::npos ||
        std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      throw UsageError(prefix + "unknown option " + quoted(option) +
                       " (expected weight=N, tls=on|off, sni=NAME, verify=on|off, ca=FILE or "
                       "proto=auto|h1|h2)");
    }
    if (!seen.insert(key).second) {
      throw UsageError(prefix + "option " + quoted(key) + " is given twice");
    }
    if (key == "weight") {
      auto w = parse_uint(value);
      if (!w || *w < 1 || *w > kMaxWeight) {
        throw UsageError(prefix + "weight " + quoted(value) + " is not valid (expected 1..1000)");
      }
      spec.weight = static_cast<unsigned>(*w);
    } else if (key == "tls") {
      spec.tls.enabled = on_off(value, "tls", prefix);
      tls_set = true;
    } else if (key == "proto") {
      if (value == "auto") {
        spec.protocol = Protocol::automatic;
      } else if (value == "h1") {
        spec.protocol = Protocol::h1;
      } else if (value == "h2") {
        spec.protocol = Protocol::h2;
      } else {
        throw UsageError(prefix + "proto " + quoted(value) +
                         " is not valid (expected auto, h1 or h2)");
      }
    } else if (key == "verify") {
      spec.tls.verify = on_off(value, "verify", prefix);
    } else if (key == "sni") {
      if (!is_host_name(value) || is_ipv4(std::string(value))) {
        throw UsageError(prefix + "sni " + quoted(value) +
                         " is not a host name (expected e.g. sni=api.example.com)");
      }
      spec.tls.sni = std::string(value);
    } else {
      if (value.empty()) throw UsageError(prefix + "ca is empty (expected ca=FILE, PEM)");
      spec.tls.ca_file = std::string(value);
    }
    if (comma == std::string_view::npos) return;
    options.remove_prefix(comma + 1);
  }
}

}  // namespace

BackendSpec parse_backend(std::string_view text) {
  const std::string prefix = "backend " + quoted(text) + ": ";
  auto bad = [&](const std::string& why) -> UsageError { return UsageError(prefix + why); };

  BackendSpec spec;
  std::string_view rest = text;
  bool tls_set = false;
  if (std::size_t comma = rest.find(','); comma != std::string_view::npos) {
    apply_backend_options(rest.substr(comma + 1), spec, tls_set, prefix);
    rest = rest.substr(0, comma);
  }
  std::optional<bool> scheme_tls;  // set when a scheme was written
  if (std::size_t sep = rest.find("://"); sep != std::string_view::npos) {
    std::string scheme = lowered(rest.substr(0, sep));
    if (scheme != "http" && scheme != "https" && scheme != "h2c") {
      throw bad("scheme " + quoted(rest.substr(0, sep)) +
                " is not supported (use http://, https://, h2c:// or none)");
    }
    scheme_tls = scheme == "https";
    if (scheme == "h2c") {
      // HTTP/2 over plain TCP with prior knowledge (RFC 9113 §3.3).
      if (spec.protocol == Protocol::h1) throw bad("h2c:// and proto=h1 contradict each other");
      if (tls_set && spec.tls.enabled) {
        throw bad(
            "h2c:// is HTTP/2 without TLS (for HTTP/2 over TLS write https://, ALPN "
            "picks h2)");
      }
      spec.protocol = Protocol::h2;
    }
    rest = rest.substr(sep + 3);
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) {
      throw bad("paths are not supported (expected " + scheme + "://HOST:PORT)");
    }
  }

  std::string_view port_text;
  bool has_port = false;
  if (rest.starts_with('[')) {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) throw bad("missing ']' after the IPv6 address");
    spec.host = std::string(rest.substr(1, close - 1));
    if (!is_ipv6(spec.host)) throw bad(quoted(spec.host) + " is not an IPv6 address");
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      throw bad("unexpected " + quoted(after) + " after ']' (expected [IPV6]:PORT)");
    }
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
  } else {
    std::size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      throw bad("IPv6 addresses need brackets (expected [IPV6]:PORT, e.g. [::1]:8080)");
    }
    spec.host = std::string(rest.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = rest.substr(colon + 1);
    if (spec.host.empty()) throw bad("host is empty (expected HOST:PORT)");
    if (spec.host.find_first_not_of("0123456789") == std::string::npos) {
      // getaddrinfo() would take "9001" as the address 0.0.35.41, which nobody means.
      throw bad(quoted(spec.host) +
                " looks like a port (expected HOST:PORT, e.g. 127.0.0.1:" + spec.host + ")");
    }
    if (spec.host.find_first_not_of("0123456789.") == std::string::npos && !is_ipv4(spec.host)) {
      throw bad(quoted(spec.host) + " is not a valid IPv4 address");
    }
    if (!is_host_name(spec.host)) {
      throw bad(quoted(spec.host) + " is not a valid host name (expected HOST:PORT)");
    }
  }

  spec.port = scheme_tls.value_or(false) ? 443 : 80;
  if (has_port) {
    auto port = parse_uint(port_text);
    if (!port || *port < 1 || *port > 65535) {
      throw bad("port " + quoted(port_text) + " is not a port number (expected 1..65535)");
    }
    spec.port = static_cast<std::uint16_t>(*port);
  }
  // An explicit scheme wins over the port; without one, 443 means TLS (as curl's default
  // ports do); tls= wins over both.
  if (!tls_set) spec.tls.enabled = scheme_tls.value_or(spec.port == 443);
  return spec;
}

}  // namespace lb::config
