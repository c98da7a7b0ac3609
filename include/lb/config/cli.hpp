#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lb/config/config.hpp"

namespace lb::config {

// A bad flag or value; what() is one line saying what is wrong and how to fix it.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class CliAction { run, help, version, check };

struct CliResult {
  CliAction action = CliAction::run;
  Config config;
};

// Parses argv[1..] of load_balancer. Throws UsageError on any bad flag or value.
// With no -b, backends are 127.0.0.1:9001 and 127.0.0.1:9002 and default_backends is set.
CliResult parse_cli(std::span<const char* const> args);

// The --help text (also the README's CLI reference).
std::string_view help_text();

// "250ms", "2s", "1m", "1h"; a bare number is seconds. nullopt when malformed or negative.
std::optional<Millis> parse_duration(std::string_view text);

// "512", "64k", "10m", "1g" (binary multiples, case-insensitive). nullopt when malformed.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "[http[s]://]host[:port]" or "[v6]:port", then optional ",key=value" options (weight, tls,
// sni, verify, ca). The port defaults to the scheme's (80, or 443 for https://); TLS is on
// for https://, for port 443 without a scheme, or with tls=on. Throws UsageError naming the
// value for anything else.
BackendSpec parse_backend(std::string_view text);

}  // namespace lb::config
