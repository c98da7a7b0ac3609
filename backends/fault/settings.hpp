#pragma once

// The run-time settings of fault_backend: what every request gets when no script entry is
// left, and how HTTP/2 connections behave. Set by start-up flags and by PUT /_fault/config.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "action.hpp"
#include "parsed.hpp"

namespace lb::fault {

enum class Mode {
  up,     // requests get their path's behaviour (subject to error_rate)
  down,   // every request gets 503, /health included
  reset,  // every request gets a TCP RST
  hang,   // no request is ever answered
};

struct Settings {
  Mode mode = Mode::up;
  std::uint32_t latency_ms = 0;           // before every reply (0 - kMaxMs)
  double error_rate = 0;                  // 0 - 1: share of requests that get `error`
  std::uint64_t seed = 0;                 // error_rate generator seed
  Action error{ActionKind::status, 503};  // what an error_rate failure gets (never ok)
  // HTTP/2: once a connection has received this many streams (0 = never), it sends GOAWAY
  // with the last of them as last-stream-id (RFC 9113 §6.8). Applies to open connections.
  std::uint32_t h2_goaway_after = 0;
  // HTTP/2 SETTINGS of new connections: MAX_CONCURRENT_STREAMS (0 - kMaxH2Setting) and
  // INITIAL_WINDOW_SIZE in bytes (0 - kMaxH2Window, RFC 9113 §6.5.2).
  std::uint32_t h2_max_streams = 100;
  std::uint32_t h2_window = 65535;

  bool operator==(const Settings&) const = default;
};

// Largest h2_goaway_after and h2_max_streams; largest h2_window (2^31 - 1, RFC 9113 §6.9.1).
inline constexpr std::uint32_t kMaxH2Setting = 0x7fffffff;
inline constexpr std::uint32_t kMaxH2Window = 0x7fffffff;

Parsed<Mode> parse_mode(std::string_view text);
std::string_view mode_text(Mode mode);
// 0 - 1, as a decimal number ("0.25", "1", ".5").
Parsed<double> parse_error_rate(std::string_view text);
// An action other than ok and delay (what an error_rate failure can be).
Parsed<Action> parse_error_action(std::string_view text);

// {"mode": "up", "latency_ms": 0, "error_rate": 0.0, "seed": 0, "error": "503",
//  "h2_goaway_after": 0, "h2_max_streams": 100, "h2_window": 65535}
nlohmann::ordered_json to_json(const Settings& s);

// `base` with the fields present in `patch` (a JSON object with any subset of to_json's
// fields) replaced. Unknown fields, wrong types and values out of range fail, and then
// nothing is applied. "error" also takes a status as a number.
Parsed<Settings> apply_patch(const Settings& base, const nlohmann::json& patch);

}  // namespace lb::fault
