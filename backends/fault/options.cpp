#include "options.hpp"

namespace lb::fault {

namespace {

using lb::backends::UsageError;

// The value, or a UsageError "<flag>: <why>".
template <typename T>
T need(Parsed<T> p, std::string_view flag) {
  if (!p) throw UsageError(std::string(flag) + ": " + p.error);
  return *p;
}

// parse_uint's errors already start with the name they are given.
std::uint64_t need_uint(std::string_view text, std::uint64_t max, std::string_view flag) {
  auto p = parse_uint(text, 0, max, flag);
  if (!p) throw UsageError(p.error);
  return *p;
}

}  // namespace

FaultOptions parse_fault_options(lb::backends::ArgCursor args) {
  FaultOptions opt;
  opt.server.port = kDefaultPort;
  opt.server.id = kDefaultId;
  while (args.next()) {
    std::string_view flag = args.flag();
    if (flag == "-h" || flag == "--help") {
      opt.command = FaultOptions::Command::help;
      return opt;
    }
    if (flag == "--version") {
      opt.command = FaultOptions::Command::version;
      return opt;
    }
    if (lb::backends::parse_server_flag(args, opt.server)) continue;
    if (lb::backends::parse_tls_flag(args, opt.tls)) continue;
    if (flag == "--no-h2") {
      if (args.raw() != "--no-h2") throw UsageError("--no-h2 takes no value");
      opt.h2 = false;
    } else if (flag == "--h2-goaway-after") {
      opt.settings.h2_goaway_after =
          static_cast<std::uint32_t>(need_uint(args.value(), kMaxH2Setting, flag));
    } else if (flag == "--h2-max-streams") {
      opt.settings.h2_max_streams =
          static_cast<std::uint32_t>(need_uint(args.value(), kMaxH2Setting, flag));
    } else if (flag == "--h2-window") {
      opt.settings.h2_window =
          static_cast<std::uint32_t>(need_uint(args.value(), kMaxH2Window, flag));
    } else if (flag == "--mode") {
      opt.settings.mode = need(parse_mode(args.value()), flag);
    } else if (flag == "--latency-ms") {
      opt.settings.latency_ms = static_cast<std::uint32_t>(need_uint(args.value(), kMaxMs, flag));
    } else if (flag == "--error-rate") {
      opt.settings.error_rate = need(parse_error_rate(args.value()), flag);
    } else if (flag == "--seed") {
      opt.settings.seed = need_uint(args.value(), UINT64_MAX, flag);
    } else if (flag == "--error") {
      opt.settings.error = need(parse_error_action(args.value()), flag);
    } else if (flag == "--script") {
      opt.script = need(parse_action_list(args.value()), flag);
      if (opt.script.size() > kMaxScript) {
        throw UsageError("--script: more than " + std::to_string(kMaxScript) + " entries");
      }
    } else {
      throw UsageError("unknown option '" + std::string(args.raw()) + "'");
    }
  }
  lb::backends::check_tls_options(opt.tls);
  return opt;
}

std::string fault_usage() {
  return "usage: fault_backend [options]\n"
         "An HTTP/1.1 and HTTP/2 backend that misbehaves on request: by path (/status/503,\n"
         "/delay/200, /drip, /bytes/N, /stream/N, /echo, /health, /trailers, /cookies, /reset,\n"
         "/close, /hang, /truncate, /reset-mid-body, /garbage, /bad-chunk, /slow-headers,\n"
         "/h2/rst-stream, /h2/goaway, /h2/slow-window), by a script of the next responses, or\n"
         "by a mode for every request. Control API on the same port: /_fault/. HTTP/2 is h2c\n"
         "with prior knowledge on a plain port, ALPN h2 with --tls.\n"
         "\n" +
         lb::backends::server_flags_help(kDefaultPort, kDefaultId) +
         lb::backends::tls_flags_help("h2 or http/1.1") +
         "  --no-h2             HTTP/1.1 only: ALPN selects http/1.1, no h2c preface detection\n"
         "  --h2-max-streams N  SETTINGS_MAX_CONCURRENT_STREAMS (default 100)\n"
         "  --h2-window N       SETTINGS_INITIAL_WINDOW_SIZE in bytes, 0-2147483647 (default\n"
         "                      65535); the connection window is raised to N when larger\n"
         "  --h2-goaway-after N every HTTP/2 connection sends GOAWAY after its N-th stream\n"
         "                      (default 0 = never)\n" +
         "  --mode MODE         up|down|reset|hang for every request (default up)\n"
         "  --latency-ms N      wait N ms before every reply (default 0)\n"
         "  --error-rate P      share 0-1 of requests that get the --error reply (default 0)\n"
         "  --seed N            seed of the error-rate generator (default 0)\n"
         "  --error KIND        what error-rate failures get: a status 200-599, reset, close,\n"
         "                      hang, garbage, truncate, reset-mid-body, bad-chunk (default 503)\n"
         "  --script LIST       the next responses, comma-separated: ok, a status, reset,\n"
         "                      close, hang, garbage, truncate, reset-mid-body, bad-chunk,\n"
         "                      delay:MS (e.g. ok,ok,503,reset)\n"
         "  -h, --help          this text\n"
         "  --version           print the version\n";
}

}  // namespace lb::fault
