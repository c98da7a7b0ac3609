#include "lb/config/config.hpp"

#include <string>

namespace lb::config {

namespace {

// IPv6 literals contain ':' and DNS names never do, so this decides bracketing (RFC 3986 §3.2.2).
std::string bracketed_host(const std::string& host) {
  if (host.find(':') == std::string::npos) return host;
  return "[" + host + "]";
}

}  // namespace

std::string BackendSpec::authority() const {
  // RFC 9110 §7.2: the scheme's default port may be omitted from Host; origin servers
  // expect it so.
  if (port == (tls.enabled ? 443 : 80)) return bracketed_host(host);
  return name();
}

const char* BackendSpec::alpn() const {
  switch (protocol) {
    case Protocol::h1:
      return "http/1.1";
    case Protocol::h2:
      return "h2";
    case Protocol::automatic:
      break;
  }
  return "h2,http/1.1";
}

std::string BackendSpec::name() const { return bracketed_host(host) + ":" + std::to_string(port); }

const char* to_string(Strategy s) {
  switch (s) {
    case Strategy::round_robin:
      return "round_robin";
    case Strategy::weighted:
      return "weighted";
    case Strategy::random:
      return "random";
  }
  return "unknown";
}

const char* to_string(LogLevel l) {
  switch (l) {
    case LogLevel::err:
      return "err";
    case LogLevel::warn:
      return "warn";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "unknown";
}

const char* to_string(Mode m) {
  switch (m) {
    case Mode::sp:
      return "sp";
    case Mode::mp:
      return "mp";
  }
  return "unknown";
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::automatic:
      return "auto";
    case Protocol::h1:
      return "h1";
    case Protocol::h2:
      return "h2";
  }
  return "unknown";
}

}  // namespace lb::config
