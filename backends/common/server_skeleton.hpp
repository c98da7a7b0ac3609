#pragma once

// The part every bundled backend shares around its connection handler: the logger, the
// listening socket, the accept loop and the signals that end the program.

#include <spdlog/spdlog.h>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "server_options.hpp"

namespace lb::backends {

// A single-threaded stderr logger named `name` at `level` (flushed at info and above), with
// the project's line format.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                            spdlog::level::level_enum level);

// Serves one accepted connection; runs on the server's io_context.
using ServeConnection = std::function<asio::awaitable<void>(asio::ip::tcp::socket)>;

// Listens on opt.listen:opt.port, logs "<id> listening on ADDR:PORT" at info, followed by
// `note` (e.g. " (TLS)"; tests and scripts find the port by that line, so the note goes after
// it), spawns `serve` for every accepted connection and runs `io` until SIGINT or SIGTERM.
// With `always_announce` the line is logged even when the logger's level is above info.
// Returns the exit status: 0 after a signal, 1 when it cannot listen. Connections still open
// at the signal are abandoned to io's destructor, so whatever `serve` references must
// outlive `io`.
int run_server(asio::io_context& io, const ServerOptions& opt, spdlog::logger& log,
               const ServeConnection& serve, bool always_announce = false,
               std::string_view note = {});

}  // namespace lb::backends
