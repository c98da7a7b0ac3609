#pragma once

// The control API under /_fault/: JSON in and out, never affected by modes or scripts.
//
//   GET          /_fault/config  current settings
//   PUT, POST    /_fault/config  change any subset of them
//   GET          /_fault/script  entries not consumed yet
//   PUT, POST    /_fault/script  replace the script: {"responses": [...]}
//   DELETE       /_fault/script  empty it
//   GET          /_fault/stats   counters (Stats::to_json)
//   POST         /_fault/reset   start-up settings and script again, counters zeroed
//
// HEAD is accepted wherever GET is.

#include <string>
#include <string_view>

#include "decider.hpp"
#include "stats.hpp"

namespace lb::fault {

// Largest control request body.
inline constexpr std::size_t kMaxControlBody = 1 << 20;

struct ControlReply {
  int status = 200;
  std::string body;   // one JSON document and a newline
  std::string allow;  // the Allow header value for 405 replies, else empty
};

// Handles one control call. `path` is the target's path (no query).
ControlReply handle_control(std::string_view method, std::string_view path, std::string_view body,
                            Decider& decider, Stats& stats);

// A JSON error reply: {"error": message}.
ControlReply control_error(int status, std::string_view message);

}  // namespace lb::fault
