#pragma once

// The reply to one non-control request, decided from its route and the Decider's decision,
// before any byte is written. Protocol-neutral: the HTTP/1.1 writer (reply_writer) and the
// HTTP/2 connection (h2_reply) carry out the same plan, each in its own framing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "action.hpp"
#include "decider.hpp"
#include "route.hpp"

namespace lb::fault {

enum class ReplyKind {
  text,            // status + text body (hello, /status, /delay, /health, 400s, script statuses)
  echo,            // the request as JSON
  bytes,           // Content-Length body of `length` pattern bytes
  stream,          // chunked body of `length` pattern bytes in `chunk_size` chunks
  drip,            // Content-Length body of `length` '*' bytes spread over `spread_ms`
  slow_headers,    // the head one line at a time over `spread_ms`, then the text body
  truncate,        // Content-Length `length`, `sent` pattern bytes, FIN
  reset_mid_body,  // Content-Length `length`, `sent` pattern bytes, RST
  bad_chunk,       // chunked head, an invalid chunk-size line, FIN
  garbage,         // kGarbage, FIN
  reset,           // RST, nothing sent
  close,           // FIN, nothing sent
  hang,            // nothing, ever
  rst_stream,      // HTTP/2: RST_STREAM(h2_code), before or after the response HEADERS
};

// A header or trailer field of a reply; names in lower case (RFC 9113 §8.2.1).
using Field = std::pair<std::string, std::string>;

// What /garbage sends: 28 bytes (NUL included) that no HTTP/1.x client can take for a
// status line.
inline constexpr char kGarbageBytes[] = "NOT HTTP\x00\x01\x02\x03\xfe\xff garbage \x7f\r\n\r\n";
inline constexpr std::string_view kGarbage{kGarbageBytes, sizeof kGarbageBytes - 1};
// What /bad-chunk sends after its head: "zz" is not a hex chunk size (RFC 9112 §7.1).
inline constexpr std::string_view kBadChunk = "zz\r\nthis is not a chunk\r\n0\r\n\r\n";

struct ReplyPlan {
  ReplyKind kind = ReplyKind::text;
  ActionKind fault = ActionKind::ok;  // the broken behaviour, for the stats (else ok)
  DecisionSource source = DecisionSource::path;
  std::uint32_t wait_ms = 0;  // before the first byte (or the RST/FIN)
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;                   // text, slow_headers
  std::uint64_t length = 0;           // bytes, stream, drip, truncate, reset_mid_body
  std::uint64_t sent = 0;             // truncate, reset_mid_body
  std::uint64_t chunk_size = 0;       // stream
  std::uint32_t spread_ms = 0;        // drip, slow_headers
  std::optional<std::uint64_t> seed;  // bytes, stream content
  std::vector<Field> fields;          // more response header fields (e.g. set-cookie)
  std::vector<Field> trailers;        // text: response trailers (chunked over HTTP/1.1)
  std::uint32_t h2_code = 0;          // rst_stream: the RST_STREAM error code
  bool after_headers = false;         // rst_stream: reset after sending the response HEADERS
  bool goaway = false;                // /h2/goaway: the connection ends after this reply
  bool slow_window = false;           // /h2/slow-window: the request body gets no credit

  // Whether an HTTP/1.1 connection ends after this reply whatever the request asked.
  bool ends_connection() const;
};

// "text", "echo", "bytes", "reset-mid-body", ... (for logs).
std::string_view reply_kind_text(ReplyKind kind);
// For the log: "503", "503 after 100 ms", "reset", "bytes".
std::string reply_summary(const ReplyPlan& plan);

ReplyPlan plan_reply(const Route& route, const Decision& decision, std::string_view server_id);

// What an HTTP/1.1 connection does instead of an HTTP/2-only plan: rst_stream becomes a TCP
// reset (reset), or with after_headers a head with Content-Length 100 and then a reset
// (reset_mid_body with nothing sent); every other plan comes back unchanged.
ReplyPlan http1_equivalent(ReplyPlan plan);

// "Hello from <id>\n"
std::string hello_body(std::string_view server_id);
// "503 Service Unavailable\n"
std::string status_body(int status);

}  // namespace lb::fault
