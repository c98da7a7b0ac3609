#pragma once

// The output side of one fault_backend HTTP/1.1 connection: carries out a ReplyPlan on the
// stream (HTTP/1.1 framing, timed drips, partial bodies, resets), and ends the connection.
// Runs on the server's single loop; whoever owns the stream owns this too.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "lb/net/stream.hpp"
#include "reply_plan.hpp"
#include "stats.hpp"

namespace lb::fault {

// What the writer needs to know about the request being answered.
struct ReplyContext {
  std::string_view server_id;
  std::uint64_t request_number = 0;  // X-Fault-Request (0 = none)
  bool head_only = false;            // HEAD: the head as for GET, no body
  bool http10 = false;               // HTTP/1.0 client: no chunked bodies
  bool keep_alive = true;            // the request allows another one on the connection
};

class ReplyWriter {
 public:
  ReplyWriter(lb::net::Stream& stream, Stats& stats) : stream_(stream), stats_(stats) {}

  // Carries out `plan` (an HTTP/2-only plan as http1_equivalent says): waits plan.wait_ms,
  // then writes (or resets, closes, hangs). Response heads, faults and bytes go into the
  // stats. Returns true when the connection may carry another request; when false the caller
  // ends the connection with finish().
  asio::awaitable<bool> send(const ReplyPlan& plan, const ReplyContext& ctx);

  // Writes all of `bytes`; counted in bytes_sent unless `counted` is false (control replies).
  // False when the peer is gone.
  asio::awaitable<bool> write(std::string_view bytes, bool counted = true);

  // Ends the connection: with `graceful`, as close_gracefully does (a close_notify first on
  // TLS unless the session failed); otherwise just closed. No-op once the socket is closed.
  asio::awaitable<void> finish(bool graceful);

 private:
  asio::awaitable<void> wait(std::uint32_t ms);
  asio::awaitable<bool> send_text(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<bool> send_with_trailers(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<bool> send_generated(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<bool> send_stream(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<bool> send_drip(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<bool> send_slow_headers(const ReplyPlan& plan, const ReplyContext& ctx);
  asio::awaitable<void> send_broken(const ReplyPlan& plan, const ReplyContext& ctx);
  // Pattern bytes [0, n) of a body, in pieces.
  asio::awaitable<bool> write_pattern(std::optional<std::uint64_t> seed, std::uint64_t n);
  // Reads and discards until the peer closes or fails.
  asio::awaitable<void> hang();

  lb::net::Stream& stream_;
  Stats& stats_;
  std::string fields_;   // the plan's extra header fields as lines
  bool failed_ = false;  // a write failed: no close_notify any more
};

}  // namespace lb::fault
