#pragma once

// The run-time settings of fault_backend: what every request gets when no script entry is
// left. Set by start-up flags and by PUT /_fault/config.

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

  bool operator==(const Settings&) const = default;
};

Parsed<Mode> parse_mode(std::string_view text);
std::string_view mode_text(Mode mode);
// 0 - 1, as a decimal number ("0.25", "1", ".5").
Parsed<double> parse_error_rate(std::string_view text);
// An action other than ok and delay (what an error_rate failure can be).
Parsed<Action> parse_error_action(std::string_view text);

// {"mode": "up", "latency_ms": 0, "error_rate": 0.0, "seed": 0, "error": "503"}
nlohmann::ordered_json to_json(const Settings& s);

// `base` with the fields present in `patch` (a JSON object with any subset of to_json's
// fields) replaced. Unknown fields, wrong types and values out of range fail, and then
// nothing is applied. "error" also takes a status as a number.
Parsed<Settings> apply_patch(const Settings& base, const nlohmann::json& patch);

}  // namespace lb::fault
