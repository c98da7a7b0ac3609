#pragma once

// Decides what each request gets: the next script entry if one is left, else the mode, else
// the seeded error_rate draw. The only state shared between connections; it lives on the
// server's single loop, so it needs no locks.

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "action.hpp"
#include "prng.hpp"
#include "settings.hpp"

namespace lb::fault {

// Who chose the action.
enum class DecisionSource { path, script, mode, error_rate };
std::string_view source_text(DecisionSource source);

struct Decision {
  Action action;          // never delay (folded into wait_ms); ok = the path's behaviour
  std::uint32_t wait_ms;  // before acting: latency_ms plus a delay:<ms> entry; 0 for hang
  DecisionSource source;
};

// Longest script accepted from the control API or --script.
inline constexpr std::size_t kMaxScript = 100'000;

class Decider {
 public:
  Decider(const Settings& startup, std::vector<Action> startup_script);

  // The decision for the next non-control request. Consumes one script entry; with the
  // script empty and mode up and error_rate > 0, consumes one draw of the generator.
  Decision decide();

  const Settings& settings() const { return settings_; }
  // Replaces the settings and restarts the generator from their seed.
  void set_settings(const Settings& s);
  // Replaces what is left of the script.
  void set_script(std::vector<Action> script);
  // The entries not consumed yet, next first.
  const std::deque<Action>& script() const { return script_; }
  // Back to the start-up settings and script; the generator restarts.
  void reset();

 private:
  Settings startup_;
  std::vector<Action> startup_script_;
  Settings settings_;
  std::deque<Action> script_;
  Prng prng_;
};

}  // namespace lb::fault
