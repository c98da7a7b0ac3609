#pragma once

// How fault_backend ends connections, the same for HTTP/1.1 and HTTP/2: a reset that lets the
// bytes already written arrive first, and a graceful close that drains the peer's input.

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>

#include "lb/net/stream.hpp"

namespace lb::fault {

// How long a graceful close waits for the peer (its close_notify, its FIN).
inline constexpr std::chrono::milliseconds kLinger{1000};

// TCP RST (SO_LINGER 0, no close_notify), once the bytes written so far have been
// acknowledged (at most 2 s), so the peer reads them and then the reset, every time. No-op
// when the socket is closed already.
asio::awaitable<void> reset_connection(lb::net::Stream& stream);

// Ends the connection gracefully: with `notify` (TLS only) a close_notify first; then a FIN,
// and input is read and discarded until the peer closes (both steps within kLinger), so the
// peer reads our last bytes instead of a reset caused by bytes we did not read; then the
// socket is closed. Returns the bytes discarded. No-op when the socket is closed already.
asio::awaitable<std::uint64_t> close_gracefully(lb::net::Stream& stream, bool notify);

}  // namespace lb::fault
