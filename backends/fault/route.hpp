#pragma once

// What a request target asks fault_backend for (httpbin-style paths, any method).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "h2_error_code.hpp"

namespace lb::fault {

enum class Endpoint {
  hello,           // any other path: 200 "Hello from <id>"
  status,          // /status/{code}
  delay,           // /delay/{ms}
  drip,            // /drip?bytes=N&duration_ms=M
  bytes,           // /bytes/{n}[?seed=S]
  stream,          // /stream/{n}[?chunk_size=C&seed=S]
  echo,            // /echo
  health,          // /health
  reset,           // /reset
  close,           // /close
  hang,            // /hang
  truncate,        // /truncate[?length=L&sent=S]
  reset_mid_body,  // /reset-mid-body[?length=L&sent=S]
  garbage,         // /garbage
  bad_chunk,       // /bad-chunk
  slow_headers,    // /slow-headers[?delay_ms=M]
  trailers,        // /trailers: 200 "trailers" with response trailers
  cookies,         // /cookies: 200 "cookies" with three Set-Cookie fields
  h2_rst_stream,   // /h2/rst-stream[?code=C&after_headers=1]
  h2_goaway,       // /h2/goaway
  h2_slow_window,  // /h2/slow-window
  control,         // /_fault and everything under /_fault/
};

// Defaults and limits of the path parameters.
inline constexpr std::uint64_t kDefaultDripBytes = 10;
inline constexpr std::uint32_t kDefaultDripMs = 1000;
inline constexpr std::uint64_t kMaxDripBytes = 1ull << 30;
inline constexpr std::uint64_t kDefaultChunkSize = 1024;
inline constexpr std::uint64_t kMaxChunkSize = 1 << 20;
inline constexpr std::uint64_t kDefaultTruncateLength = 100;
inline constexpr std::uint64_t kDefaultTruncateSent = 10;
inline constexpr std::uint32_t kDefaultSlowHeadersMs = 1000;
// Largest body /bytes, /stream and /truncate produce (1 TiB): no real client wants more, and
// it keeps every size computation far from overflow.
inline constexpr std::uint64_t kMaxBodyBytes = 1ull << 40;

struct Route {
  Endpoint endpoint = Endpoint::hello;
  std::string_view path;    // the target's path (no query, no scheme or authority)
  int status = 200;         // status
  std::uint64_t bytes = 0;  // drip/bytes/stream body length; truncate/reset-mid-body length
  std::uint64_t sent = 0;   // truncate/reset-mid-body: body bytes actually sent
  std::uint64_t chunk_size = kDefaultChunkSize;  // stream
  std::uint32_t ms = 0;                          // delay wait, drip and slow-headers spread
  std::optional<std::uint64_t> seed;             // bytes/stream content
  std::uint32_t h2_code = kH2InternalError;      // h2_rst_stream: RST_STREAM error code
  bool after_headers = false;                    // h2_rst_stream: reset after the HEADERS
  std::string error;  // bad parameters: the request gets 400 with this text
};

// Routes an origin-form target ("/bytes/10?seed=1"); absolute-form targets
// ("http://host/bytes/10") are routed by their path. Unknown query parameters are ignored.
// The returned views point into `target`.
Route route_request(std::string_view target);

}  // namespace lb::fault
