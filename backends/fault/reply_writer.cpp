#include "reply_writer.hpp"

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "body_pattern.hpp"
#include "lb/util/strings.hpp"
#include "response_head.hpp"
#include "socket_end.hpp"

namespace lb::fault {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
// Bodies are produced and written in pieces of this size.
constexpr std::size_t kPiece = 64 * 1024;
// /drip sends at most this many pieces, whatever its byte count.
constexpr std::uint64_t kMaxDripPieces = 1000;

std::string_view connection_value(const ReplyContext& ctx) {
  if (!ctx.keep_alive) return "close";
  return ctx.http10 ? "keep-alive" : "";
}

HeadSpec base_spec(const ReplyPlan& plan, const ReplyContext& ctx, std::string_view fields) {
  HeadSpec s;
  s.status = plan.status;
  s.server = ctx.server_id;
  s.request_number = ctx.request_number;
  s.content_type = plan.content_type;
  s.extra = fields;
  return s;
}

// Offset of piece `i` (0 - pieces) of `total` spread evenly: total * i / pieces, without
// overflow for the sizes routes allow (total <= 2^40, pieces <= 1000).
std::uint64_t share(std::uint64_t total, std::uint64_t i, std::uint64_t pieces) {
  return total * i / pieces;
}

}  // namespace

asio::awaitable<bool> ReplyWriter::send(const ReplyPlan& plan, const ReplyContext& ctx) {
  fields_.clear();
  for (const auto& [name, value] : plan.fields) fields_ += name + ": " + value + "\r\n";
  co_await wait(plan.wait_ms);
  switch (plan.kind) {
    case ReplyKind::text:
      if (!plan.trailers.empty() && !ctx.http10) co_return co_await send_with_trailers(plan, ctx);
      co_return co_await send_text(plan, ctx);
    case ReplyKind::echo:
      co_return co_await send_text(plan, ctx);
    case ReplyKind::bytes:
      co_return co_await send_generated(plan, ctx);
    case ReplyKind::stream:
      co_return co_await send_stream(plan, ctx);
    case ReplyKind::drip:
      co_return co_await send_drip(plan, ctx);
    case ReplyKind::slow_headers:
      co_return co_await send_slow_headers(plan, ctx);
    default:
      break;
  }
  co_await send_broken(plan, ctx);
  co_return false;
}

asio::awaitable<bool> ReplyWriter::write(std::string_view bytes, bool counted) {
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), kToken);
  if (counted) stats_.add_sent(n);
  if (ec) failed_ = true;
  co_return !ec;
}

asio::awaitable<void> ReplyWriter::wait(std::uint32_t ms) {
  if (ms == 0) co_return;
  asio::steady_timer timer(stream_.get_executor(), std::chrono::milliseconds(ms));
  co_await timer.async_wait(kToken);
}

asio::awaitable<bool> ReplyWriter::send_text(const ReplyPlan& plan, const ReplyContext& ctx) {
  bool has_body = status_has_body(plan.status);
  HeadSpec s = base_spec(plan, ctx, fields_);
  s.connection = connection_value(ctx);
  if (has_body) {
    s.content_length = plan.body.size();
  } else {
    s.content_type = {};
  }
  std::string out = head_text(s);
  if (has_body && !ctx.head_only) out += plan.body;
  stats_.count_status(plan.status);
  bool ok = co_await write(out);
  co_return ok&& ctx.keep_alive;
}

// RFC 9112 §7.1.2: the body as one chunk, then the trailer section (announced in Trailer).
asio::awaitable<bool> ReplyWriter::send_with_trailers(const ReplyPlan& plan,
                                                      const ReplyContext& ctx) {
  std::string announce = "Trailer: ";
  for (std::size_t i = 0; i < plan.trailers.size(); ++i) {
    announce += (i == 0 ? "" : ", ") + plan.trailers[i].first;
  }
  fields_ += announce + "\r\n";
  HeadSpec s = base_spec(plan, ctx, fields_);
  s.chunked = true;
  s.connection = connection_value(ctx);
  std::string out = head_text(s);
  if (!ctx.head_only) {
    char hex[24];
    if (!plan.body.empty()) {
      out.append(hex, lb::util::format_hex(plan.body.size(), hex)).append("\r\n");
      out.append(plan.body).append("\r\n");
    }
    out.append("0\r\n");
    for (const auto& [name, value] : plan.trailers) out += name + ": " + value + "\r\n";
    out.append("\r\n");
  }
  stats_.count_status(plan.status);
  bool ok = co_await write(out);
  co_return ok&& ctx.keep_alive;
}

asio::awaitable<bool> ReplyWriter::write_pattern(std::optional<std::uint64_t> seed,
                                                 std::uint64_t n) {
  std::vector<char> piece(static_cast<std::size_t>(std::min<std::uint64_t>(n, kPiece)));
  for (std::uint64_t offset = 0; offset < n;) {
    auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n - offset, kPiece));
    fill_body(seed, offset, {piece.data(), k});
    bool ok = co_await write({piece.data(), k});
    if (!ok) co_return false;
    offset += k;
  }
  co_return true;
}

asio::awaitable<bool> ReplyWriter::send_generated(const ReplyPlan& plan, const ReplyContext& ctx) {
  HeadSpec s = base_spec(plan, ctx, fields_);
  s.content_length = plan.length;
  s.connection = connection_value(ctx);
  stats_.count_status(plan.status);
  bool ok = co_await write(head_text(s));
  if (ok && !ctx.head_only) ok = co_await write_pattern(plan.seed, plan.length);
  co_return ok&& ctx.keep_alive;
}

asio::awaitable<bool> ReplyWriter::send_stream(const ReplyPlan& plan, const ReplyContext& ctx) {
  HeadSpec s = base_spec(plan, ctx, fields_);
  stats_.count_status(plan.status);
  if (ctx.http10) {
    // RFC 9112 §7: no chunked coding for HTTP/1.0; the body ends at the close.
    s.connection = "close";
    bool ok = co_await write(head_text(s));
    if (ok && !ctx.head_only) co_await write_pattern(plan.seed, plan.length);
    co_return false;
  }
  s.chunked = true;
  s.connection = connection_value(ctx);
  std::string out = head_text(s);
  if (ctx.head_only) {
    bool ok = co_await write(out);
    co_return ok&& ctx.keep_alive;
  }
  for (std::uint64_t offset = 0; offset < plan.length;) {
    auto k = static_cast<std::size_t>(std::min(plan.length - offset, plan.chunk_size));
    char hex[24];
    out.append(hex, lb::util::format_hex(k, hex)).append("\r\n");
    std::size_t at = out.size();
    out.resize(at + k);
    fill_body(plan.seed, offset, {out.data() + at, k});
    out.append("\r\n");
    offset += k;
    if (out.size() >= kPiece) {
      bool ok = co_await write(out);
      if (!ok) co_return false;
      out.clear();
    }
  }
  out.append("0\r\n\r\n");
  bool ok = co_await write(out);
  co_return ok&& ctx.keep_alive;
}

asio::awaitable<bool> ReplyWriter::send_drip(const ReplyPlan& plan, const ReplyContext& ctx) {
  HeadSpec s = base_spec(plan, ctx, fields_);
  s.content_length = plan.length;
  s.connection = connection_value(ctx);
  stats_.count_status(plan.status);
  bool ok = co_await write(head_text(s));
  if (!ok) co_return false;
  if (ctx.head_only || plan.length == 0) co_return ctx.keep_alive;
  // Piece i of P goes out at start + duration * i / P, so the last byte leaves at duration.
  std::uint64_t pieces = std::min(plan.length, kMaxDripPieces);
  std::string stars(static_cast<std::size_t>(std::min<std::uint64_t>(plan.length, kPiece)), '*');
  asio::steady_timer timer(stream_.get_executor());
  auto start = Clock::now();
  for (std::uint64_t i = 1; i <= pieces; ++i) {
    timer.expires_at(start + std::chrono::milliseconds(share(plan.spread_ms, i, pieces)));
    co_await timer.async_wait(kToken);
    std::uint64_t n = share(plan.length, i, pieces) - share(plan.length, i - 1, pieces);
    while (n > 0) {
      auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n, stars.size()));
      ok = co_await write({stars.data(), k});
      if (!ok) co_return false;
      n -= k;
    }
  }
  co_return ctx.keep_alive;
}

asio::awaitable<bool> ReplyWriter::send_slow_headers(const ReplyPlan& plan,
                                                     const ReplyContext& ctx) {
  HeadSpec s = base_spec(plan, ctx, fields_);
  s.content_length = plan.body.size();
  s.connection = connection_value(ctx);
  auto lines = head_lines(s);
  stats_.count_status(plan.status);
  // Line k of L goes out at start + delay * k / (L - 1): the head is complete at delay.
  asio::steady_timer timer(stream_.get_executor());
  auto start = Clock::now();
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) {
      timer.expires_at(start +
                       std::chrono::milliseconds(share(plan.spread_ms, k, lines.size() - 1)));
      co_await timer.async_wait(kToken);
    }
    bool ok = co_await write(lines[k]);
    if (!ok) co_return false;
  }
  if (!ctx.head_only) {
    bool ok = co_await write(plan.body);
    if (!ok) co_return false;
  }
  co_return ctx.keep_alive;
}

asio::awaitable<void> ReplyWriter::send_broken(const ReplyPlan& plan, const ReplyContext& ctx) {
  stats_.count_fault(plan.fault);
  HeadSpec s = base_spec(plan, ctx, fields_);
  switch (plan.kind) {
    case ReplyKind::reset:
      co_await reset_connection(stream_);
      co_return;
    case ReplyKind::hang:
      co_await hang();
      co_return;
    case ReplyKind::garbage:
      co_await write(kGarbage);
      break;
    case ReplyKind::bad_chunk: {
      s.chunked = true;
      std::string out = head_text(s);
      if (!ctx.head_only) out += kBadChunk;
      stats_.count_status(plan.status);
      co_await write(out);
      break;
    }
    case ReplyKind::truncate:
    case ReplyKind::reset_mid_body: {
      s.content_length = plan.length;
      stats_.count_status(plan.status);
      bool ok = co_await write(head_text(s));
      if (ok && !ctx.head_only) co_await write_pattern(std::nullopt, plan.sent);
      if (plan.kind == ReplyKind::reset_mid_body) {
        co_await reset_connection(stream_);
        co_return;
      }
      break;
    }
    default:  // close
      break;
  }
  co_await finish(true);
}

asio::awaitable<void> ReplyWriter::hang() {
  std::array<char, 16 * 1024> sink;
  for (;;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), kToken);
    if (ec || n == 0) break;
    stats_.add_received(n);
  }
  std::error_code ec;
  stream_.socket().close(ec);
}

asio::awaitable<void> ReplyWriter::finish(bool graceful) {
  if (!stream_.socket().is_open()) co_return;
  if (graceful) {
    std::uint64_t drained = co_await close_gracefully(stream_, !failed_);
    stats_.add_received(drained);
  }
  std::error_code ec;
  stream_.socket().close(ec);
}

}  // namespace lb::fault
