#include "decider.hpp"

#include <algorithm>

namespace lb::fault {

std::string_view source_text(DecisionSource source) {
  switch (source) {
    case DecisionSource::script:
      return "script";
    case DecisionSource::mode:
      return "mode";
    case DecisionSource::error_rate:
      return "error_rate";
    case DecisionSource::path:
      break;
  }
  return "path";
}

Decider::Decider(const Settings& startup, std::vector<Action> startup_script)
    : startup_(startup), startup_script_(std::move(startup_script)) {
  reset();
}

Decision Decider::decide() {
  Decision d{{ActionKind::ok, 0}, settings_.latency_ms, DecisionSource::path};
  if (!script_.empty()) {
    d.action = script_.front();
    d.source = DecisionSource::script;
    script_.pop_front();
    if (d.action.kind == ActionKind::delay) {
      d.wait_ms += d.action.value;
      d.action = {ActionKind::ok, 0};
    }
  } else if (settings_.mode == Mode::down) {
    d.action = {ActionKind::status, 503};
    d.source = DecisionSource::mode;
  } else if (settings_.mode == Mode::reset) {
    d.action = {ActionKind::reset, 0};
    d.source = DecisionSource::mode;
  } else if (settings_.mode == Mode::hang) {
    d.action = {ActionKind::hang, 0};
    d.source = DecisionSource::mode;
  } else if (settings_.error_rate > 0 && prng_.next_unit() < settings_.error_rate) {
    d.action = settings_.error;
    d.source = DecisionSource::error_rate;
  }
  if (d.action.kind == ActionKind::hang) d.wait_ms = 0;
  return d;
}

void Decider::set_settings(const Settings& s) {
  settings_ = s;
  prng_.reseed(s.seed);
}

void Decider::set_script(std::vector<Action> script) {
  script_.assign(script.begin(), script.end());
}

void Decider::reset() {
  set_settings(startup_);
  set_script(startup_script_);
}

}  // namespace lb::fault
