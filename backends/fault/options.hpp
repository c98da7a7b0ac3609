#pragma once

// fault_backend's command line.

#include <string>
#include <string_view>
#include <vector>

#include "action.hpp"
#include "common/server_options.hpp"
#include "common/tls_options.hpp"
#include "decider.hpp"
#include "settings.hpp"

namespace lb::fault {

inline constexpr std::uint16_t kDefaultPort = 9003;
inline constexpr std::string_view kDefaultId = "fault_backend";

struct FaultOptions {
  enum class Command { run, help, version };
  Command command = Command::run;
  lb::backends::ServerOptions server;  // port 9003, id fault_backend
  lb::backends::TlsOptions tls;        // --tls, --cert, --key
  bool h2 = true;                      // false with --no-h2: HTTP/1.1 only
  Settings settings;                   // --mode, --latency-ms, --error-rate, --seed, --error,
                                       // --h2-goaway-after, --h2-max-streams, --h2-window
  std::vector<Action> script;          // --script
};

// Parses the arguments after the program name. Throws lb::backends::UsageError (one line
// naming the flag) for an unknown flag, a bad value, or TLS flags that do not go together.
FaultOptions parse_fault_options(lb::backends::ArgCursor args);

// The --help text.
std::string fault_usage();

}  // namespace lb::fault
