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
    if (flag == "--mode") {
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
  return opt;
}

std::string fault_usage() {
  return "usage: fault_backend [options]\n"
         "An HTTP/1.1 backend that misbehaves on request: by path (/status/503, /delay/200,\n"
         "/drip, /bytes/N, /stream/N, /echo, /health, /reset, /close, /hang, /truncate,\n"
         "/reset-mid-body, /garbage, /bad-chunk, /slow-headers), by a script of the next\n"
         "responses, or by a mode for every request. Control API on the same port: /_fault/.\n"
         "\n" +
         lb::backends::server_flags_help(kDefaultPort, kDefaultId) +
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
