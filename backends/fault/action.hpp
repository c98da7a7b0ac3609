#pragma once

// What fault_backend does with one request, as a script entry, a mode or the error_rate
// outcome names it. The vocabulary is shared by --script, --error, the control API and logs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parsed.hpp"

namespace lb::fault {

enum class ActionKind {
  ok,              // the path's normal behaviour
  status,          // a complete response with this status and a short text body
  reset,           // TCP RST before any byte
  close,           // FIN without any byte
  hang,            // never answer; keep reading until the client gives up
  garbage,         // bytes that are not HTTP, then FIN
  truncate,        // head with Content-Length 100, 10 body bytes, then FIN
  reset_mid_body,  // head with Content-Length 100, 10 body bytes, then RST
  bad_chunk,       // chunked head, then an invalid chunk size line, then FIN
  delay,           // wait `value` ms, then the path's normal behaviour
};

struct Action {
  ActionKind kind = ActionKind::ok;
  std::uint32_t value = 0;  // status: 200-599; delay: milliseconds; otherwise 0

  bool operator==(const Action&) const = default;
};

// Longest wait any setting or path accepts, in milliseconds (one hour).
inline constexpr std::uint32_t kMaxMs = 3'600'000;

// Parses one entry: ok, a status 200-599, reset, close, hang, garbage, truncate,
// reset-mid-body, bad-chunk, delay:<ms>.
Parsed<Action> parse_action(std::string_view text);
// The entry's text, as parse_action reads it ("503", "delay:50", "reset-mid-body").
std::string action_text(const Action& action);
// A comma-separated list ("ok,503,reset"); spaces around entries are ignored, an empty list
// is valid. The error names the first bad entry and its position.
Parsed<std::vector<Action>> parse_action_list(std::string_view list);

// Parses a decimal integer in [min, max]; the error names `what`.
Parsed<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max,
                                 std::string_view what);

}  // namespace lb::fault
