#pragma once

// One HTTP/2 stream of a fault_backend connection: the request as it arrives, the reply plan
// decided when its headers were complete, and the source nghttp2 pulls the response body
// from (under flow control, so a body is produced piece by piece and never held whole).

#include <nghttp2/nghttp2.h>

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reply_plan.hpp"
#include "stats.hpp"

namespace lb::fault {

// Where the response body of a stream comes from, and how it ends.
struct BodySource {
  enum class Fill { text, pattern, stars };
  enum class End {
    eof,       // END_STREAM on the last DATA frame
    trailers,  // the last DATA frame without END_STREAM, then `trailers` as HEADERS
    reset,     // RST_STREAM(INTERNAL_ERROR) instead of END_STREAM
  };

  Fill fill = Fill::text;
  std::string text;                   // Fill::text
  std::optional<std::uint64_t> seed;  // Fill::pattern (body_pattern's bytes)
  std::uint64_t total = 0;            // body bytes to send
  std::uint64_t offset = 0;           // sent so far
  std::uint64_t released = 0;         // may be sent so far (drip raises it over time)
  std::uint64_t chunk = 0;            // DATA frames end at multiples of this (0 = anywhere)
  End end = End::eof;
  std::vector<Field> trailers;  // End::trailers
  Stats* stats = nullptr;       // bytes sent are counted here (null: control replies)
};

// What happens right after the response HEADERS of a stream went out.
enum class AfterHeaders {
  nothing,
  rst_stream,  // RST_STREAM(plan.h2_code)
  malformed,   // a malformed DATA frame on the connection, then it ends
};

struct H2Stream {
  H2Stream(const asio::any_io_executor& ex, std::int32_t stream_id) : id(stream_id), timer(ex) {}

  std::int32_t id;
  // The request.
  std::string method;
  std::string target;            // :path
  std::vector<Field> fields;     // in the order received, pseudo-header fields included
  std::vector<Field> trailers;   // request trailers
  std::size_t header_bytes = 0;  // fields and trailers, as RFC 9113 §6.5.2 counts them
  std::string body;              // kept for /echo and control calls, up to body_limit
  std::size_t body_limit = 0;    // 0 = the body is discarded
  bool body_too_large = false;
  bool control = false;
  std::string control_path;  // control calls: the target's path
  std::uint64_t number = 0;  // X-Fault-Request
  ReplyPlan plan;            // decided when the request headers were complete
  // Where it is.
  bool refused = false;   // above the last-stream-id of our GOAWAY: never processed
  bool complete = false;  // the request ended (END_STREAM received)
  bool closed = false;    // nghttp2 closed the stream
  AfterHeaders after_headers = AfterHeaders::nothing;
  BodySource out;
  asio::steady_timer timer;  // the reply's waits; cancelled when the stream closes
};

// A data provider reading `stream.out`; the stream must stay alive while nghttp2 may call it
// (until the stream closes).
nghttp2_data_provider body_provider(H2Stream& stream);

// The response header fields: :status, server, x-fault-request (unless 0), content-type
// (unless empty), content-length (when given), then `extra`.
std::vector<Field> response_fields(int status, std::string_view server, std::uint64_t number,
                                   std::string_view content_type,
                                   std::optional<std::uint64_t> content_length,
                                   const std::vector<Field>& extra);

// nghttp2's view of `fields` (pointing into them; nghttp2 copies what it keeps).
std::vector<nghttp2_nv> to_nv(const std::vector<Field>& fields);

// What /bad-chunk sends over HTTP/2 after its HEADERS: a DATA frame on `stream_id` whose pad
// length is larger than its payload (RFC 9113 §6.1: a connection error PROTOCOL_ERROR).
std::string malformed_data_frame(std::int32_t stream_id);

}  // namespace lb::fault
