#include "server_skeleton.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>

#include "lb/net/endpoint.hpp"

namespace lb::backends {

namespace {

using asio::ip::tcp;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, spdlog::logger& log,
                                  const ServeConnection& serve) {
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kToken);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Typically out of file descriptors: retrying at once would spin.
      log.warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kToken);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                            spdlog::level::level_enum level) {
  auto log = spdlog::stderr_color_st(name);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log->set_level(level);
  log->flush_on(spdlog::level::info);
  return log;
}

int run_server(asio::io_context& io, const ServerOptions& opt, spdlog::logger& log,
               const ServeConnection& serve, bool always_announce, std::string_view note) {
  tcp::acceptor acceptor(io);
  try {
    acceptor = lb::net::listen(io, opt.listen, opt.port);
  } catch (const std::system_error& e) {
    log.error("cannot listen on {} port {}: {}", opt.listen, opt.port, e.code().message());
    return 1;
  }
  auto level = log.level();
  if (always_announce && level > spdlog::level::info) log.set_level(spdlog::level::info);
  log.info("{} listening on {}{}", opt.id, lb::net::endpoint_text(acceptor.local_endpoint()), note);
  log.set_level(level);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    log.info("signal {}: exiting", sig);
    io.stop();
  });
  asio::co_spawn(io, accept_loop(acceptor, log, serve), asio::detached);
  io.run();
  return 0;
}

}  // namespace lb::backends
