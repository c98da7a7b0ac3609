#include "route.hpp"

#include "action.hpp"

namespace lb::fault {

namespace {

struct Fixed {
  std::string_view path;
  Endpoint endpoint;
};

constexpr Fixed kFixed[] = {
    {"/echo", Endpoint::echo},
    {"/health", Endpoint::health},
    {"/reset", Endpoint::reset},
    {"/close", Endpoint::close},
    {"/hang", Endpoint::hang},
    {"/truncate", Endpoint::truncate},
    {"/reset-mid-body", Endpoint::reset_mid_body},
    {"/garbage", Endpoint::garbage},
    {"/bad-chunk", Endpoint::bad_chunk},
    {"/slow-headers", Endpoint::slow_headers},
    {"/drip", Endpoint::drip},
    {"/trailers", Endpoint::trailers},
    {"/cookies", Endpoint::cookies},
    {"/h2/rst-stream", Endpoint::h2_rst_stream},
    {"/h2/goaway", Endpoint::h2_goaway},
    {"/h2/slow-window", Endpoint::h2_slow_window},
};

// The value of `key` in a query string ("a=1&b=2"), or nullopt.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Reads query parameter `key` into `out` when present; false (with route.error set) when
// its value is not an integer in [min, max].
template <typename T>
bool read_param(Route& route, std::string_view query, std::string_view key, std::uint64_t min,
                std::uint64_t max, T& out) {
  auto text = query_value(query, key);
  if (!text) return true;
  auto v = parse_uint(*text, min, max, key);
  if (!v) {
    route.error = v.error;
    return false;
  }
  out = static_cast<T>(*v);
  return true;
}

bool read_seed(Route& route, std::string_view query) {
  if (!query_value(query, "seed")) return true;
  std::uint64_t seed = 0;
  if (!read_param(route, query, "seed", 0, UINT64_MAX, seed)) return false;
  route.seed = seed;
  return true;
}

// The number after `prefix` in the path ("/status/503" -> 503).
bool read_segment(Route& route, std::string_view rest, std::uint64_t min, std::uint64_t max,
                  std::string_view what, std::uint64_t& out) {
  auto v = parse_uint(rest, min, max, what);
  if (!v) {
    route.error = v.error;
    return false;
  }
  out = *v;
  return true;
}

void route_parameters(Route& r, std::string_view query) {
  std::uint64_t n = 0;
  switch (r.endpoint) {
    case Endpoint::status:
      if (read_segment(r, r.path.substr(8), 200, 599, "status", n)) r.status = static_cast<int>(n);
      break;
    case Endpoint::delay:
      if (read_segment(r, r.path.substr(7), 0, kMaxMs, "delay", n)) {
        r.ms = static_cast<std::uint32_t>(n);
      }
      break;
    case Endpoint::bytes:
      if (read_segment(r, r.path.substr(7), 0, kMaxBodyBytes, "bytes", r.bytes)) {
        read_seed(r, query);
      }
      break;
    case Endpoint::stream:
      if (read_segment(r, r.path.substr(8), 0, kMaxBodyBytes, "stream", r.bytes) &&
          read_param(r, query, "chunk_size", 1, kMaxChunkSize, r.chunk_size)) {
        read_seed(r, query);
      }
      break;
    case Endpoint::drip:
      r.bytes = kDefaultDripBytes;
      r.ms = kDefaultDripMs;
      if (read_param(r, query, "bytes", 0, kMaxDripBytes, r.bytes)) {
        read_param(r, query, "duration_ms", 0, kMaxMs, r.ms);
      }
      break;
    case Endpoint::truncate:
    case Endpoint::reset_mid_body:
      r.bytes = kDefaultTruncateLength;
      r.sent = kDefaultTruncateSent;
      if (read_param(r, query, "length", 1, kMaxBodyBytes, r.bytes) &&
          read_param(r, query, "sent", 0, kMaxBodyBytes, r.sent) && r.sent >= r.bytes) {
        r.error = "sent: must be less than length (" + std::to_string(r.bytes) + ")";
      }
      break;
    case Endpoint::slow_headers:
      r.ms = kDefaultSlowHeadersMs;
      read_param(r, query, "delay_ms", 0, kMaxMs, r.ms);
      break;
    case Endpoint::h2_rst_stream:
      if (auto code = query_value(query, "code")) {
        auto c = parse_h2_error_code(*code);
        if (!c) {
          r.error = c.error;
          break;
        }
        r.h2_code = *c;
      }
      read_param(r, query, "after_headers", 0, 1, r.after_headers);
      break;
    default:
      break;
  }
}

}  // namespace

Route route_request(std::string_view target) {
  // RFC 9112 §3.2.2: absolute-form, as a client sends it to a forward proxy.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      auto slash = target.find('/', scheme.size());
      auto query = target.find('?', scheme.size());
      target = slash == std::string_view::npos || slash > query ? std::string_view("/")
                                                                : target.substr(slash);
    }
  }
  Route r;
  auto q = target.find('?');
  r.path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);

  if (r.path == "/_fault" || r.path.starts_with("/_fault/")) {
    r.endpoint = Endpoint::control;
    return r;
  }
  for (const auto& f : kFixed) {
    if (r.path == f.path) r.endpoint = f.endpoint;
  }
  if (r.path.starts_with("/status/")) r.endpoint = Endpoint::status;
  if (r.path.starts_with("/delay/")) r.endpoint = Endpoint::delay;
  if (r.path.starts_with("/bytes/")) r.endpoint = Endpoint::bytes;
  if (r.path.starts_with("/stream/")) r.endpoint = Endpoint::stream;
  route_parameters(r, query);
  return r;
}

}  // namespace lb::fault
