// load_balancer: parse the command line, then hand over to the proxy.
#include <csignal>
#include <cstdio>
#include <memory>

#include "lb/config/cli.hpp"
#include "lb/process/master.hpp"
#include "lb/proxy/server.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // SIGHUP means "reload", never "die": ignored until the loop's handler is installed.
  std::signal(SIGHUP, SIG_IGN);
  lb::config::CliResult cli;
  try {
    cli = lb::config::parse_cli({argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0)});
  } catch (const lb::config::UsageError& e) {
    // One line: the message already says what is wrong and how to fix it.
    std::fprintf(stderr, "load_balancer: %s\n", e.what());
    return 2;
  }
  switch (cli.action) {
    case lb::config::CliAction::help:
      std::fwrite(lb::config::help_text().data(), 1, lb::config::help_text().size(), stdout);
      return 0;
    case lb::config::CliAction::version:
      std::printf("load_balancer %s\n", LB_VERSION);
      return 0;
    case lb::config::CliAction::check:
      std::printf("load_balancer: configuration OK (%zu backends)\n", cli.config.backends.size());
      return 0;
    case lb::config::CliAction::run:
      break;
  }
  auto config = std::make_shared<const lb::config::Config>(cli.config);
  if (config->mode == lb::config::Mode::mp) return lb::process::run_master(config);
  return lb::proxy::run_single_process(config);
}
