// fault_backend: an HTTP/1.1 and HTTP/2 backend whose misbehaviour is chosen per request (by
// path or by a script of the next responses) or switched at run time (a mode for every
// request), with a JSON control API under /_fault/ on the same port. See README.md,
// "fault_backend".

#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "common/server_skeleton.hpp"
#include "common/tls_server_context.hpp"
#include "connection.hpp"
#include "options.hpp"

#ifndef LB_VERSION
#define LB_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  lb::fault::FaultOptions opt;
  try {
    opt = lb::fault::parse_fault_options(lb::backends::ArgCursor(argc, argv));
  } catch (const lb::backends::UsageError& e) {
    std::fprintf(stderr, "fault_backend: %s (see --help)\n", e.what());
    return 2;
  }
  if (opt.command == lb::fault::FaultOptions::Command::help) {
    std::fputs(lb::fault::fault_usage().c_str(), stdout);
    return 0;
  }
  if (opt.command == lb::fault::FaultOptions::Command::version) {
    std::printf("fault_backend %s\n", LB_VERSION);
    return 0;
  }

  // Declared before the io_context: connections still open at exit are destroyed with it
  // and update the stats on the way out.
  lb::fault::FaultServer srv{
      opt.server.id, nullptr, lb::fault::Decider(opt.settings, opt.script), {}, nullptr, opt.h2};
  if (opt.tls.enabled) {
    auto alpn =
        opt.h2 ? lb::backends::AlpnPolicy::h2_then_http11 : lb::backends::AlpnPolicy::http11_only;
    try {
      srv.tls = std::make_unique<asio::ssl::context>(
          lb::backends::make_tls_server_context(opt.tls, alpn));
    } catch (const std::exception& e) {
      // Like a usage error: the command line names something that cannot work.
      std::fprintf(stderr, "fault_backend: %s\n", e.what());
      return 2;
    }
  }
  srv.log = lb::backends::make_logger(opt.server.id, opt.server.level);
  std::string script;
  for (const auto& a : opt.script) script += (script.empty() ? "" : ",") + action_text(a);
  srv.log->info("mode {}, latency {} ms, error rate {} (seed {}, error {}), script [{}]",
                mode_text(opt.settings.mode), opt.settings.latency_ms, opt.settings.error_rate,
                opt.settings.seed, action_text(opt.settings.error), script);
  if (opt.h2) {
    srv.log->info("HTTP/2: max streams {}, window {}, GOAWAY after {} streams (0 = never)",
                  opt.settings.h2_max_streams, opt.settings.h2_window,
                  opt.settings.h2_goaway_after);
  } else {
    srv.log->info("HTTP/2 off (--no-h2)");
  }

  asio::io_context io(1);
  return lb::backends::run_server(
      io, opt.server, *srv.log,
      [&srv](asio::ip::tcp::socket socket) {
        return lb::fault::serve_connection(srv, std::move(socket));
      },
      /*always_announce=*/true, srv.tls ? " (TLS)" : "");
}
