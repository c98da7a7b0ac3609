#include "settings.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

namespace lb::fault {

namespace {

constexpr std::string_view kModes[] = {"up", "down", "reset", "hang"};

std::string type_error(std::string_view field, std::string_view expected,
                       const nlohmann::json& got) {
  return std::string(field) + ": expected " + std::string(expected) + ", got " +
         got.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Parsed<Mode> parse_mode(std::string_view text) {
  for (std::size_t i = 0; i < std::size(kModes); ++i) {
    if (text == kModes[i]) return Parsed<Mode>::ok(static_cast<Mode>(i));
  }
  return Parsed<Mode>::fail("expected up, down, reset or hang, got '" + std::string(text) + "'");
}

std::string_view mode_text(Mode mode) { return kModes[static_cast<std::size_t>(mode)]; }

Parsed<double> parse_error_rate(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  // strtod also takes "inf", "nan" and hex floats; only plain decimals are meant here.
  bool plain = s.find_first_not_of("0123456789.") == std::string::npos;
  if (!plain || end != s.c_str() + s.size() || !(v >= 0 && v <= 1)) {
    return Parsed<double>::fail("expected a number 0-1, got '" + s + "'");
  }
  return Parsed<double>::ok(v);
}

Parsed<Action> parse_error_action(std::string_view text) {
  auto a = parse_action(text);
  if (a && (a->kind == ActionKind::ok || a->kind == ActionKind::delay)) {
    return Parsed<Action>::fail("'" + std::string(text) + "' is not a failure");
  }
  return a;
}

nlohmann::ordered_json to_json(const Settings& s) {
  nlohmann::ordered_json j;
  j["mode"] = mode_text(s.mode);
  j["latency_ms"] = s.latency_ms;
  j["error_rate"] = s.error_rate;
  j["seed"] = s.seed;
  j["error"] = action_text(s.error);
  j["h2_goaway_after"] = s.h2_goaway_after;
  j["h2_max_streams"] = s.h2_max_streams;
  j["h2_window"] = s.h2_window;
  return j;
}

Parsed<Settings> apply_patch(const Settings& base, const nlohmann::json& patch) {
  using P = Parsed<Settings>;
  if (!patch.is_object()) return P::fail(type_error("config", "a JSON object", patch));
  Settings s = base;
  for (const auto& [key, v] : patch.items()) {
    if (key == "mode") {
      if (!v.is_string()) return P::fail(type_error(key, "a string", v));
      auto m = parse_mode(v.get_ref<const std::string&>());
      if (!m) return P::fail("mode: " + m.error);
      s.mode = *m;
    } else if (key == "latency_ms") {
      if (!v.is_number_unsigned() || v.get<std::uint64_t>() > kMaxMs) {
        return P::fail(type_error(key, "an integer 0-" + std::to_string(kMaxMs), v));
      }
      s.latency_ms = v.get<std::uint32_t>();
    } else if (key == "error_rate") {
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1)) {
        return P::fail(type_error(key, "a number 0-1", v));
      }
      s.error_rate = v.get<double>();
    } else if (key == "seed") {
      if (!v.is_number_unsigned()) return P::fail(type_error(key, "an unsigned integer", v));
      s.seed = v.get<std::uint64_t>();
    } else if (key == "error") {
      std::string text;
      if (v.is_number_unsigned()) {
        text = std::to_string(v.get<std::uint64_t>());
      } else if (v.is_string()) {
        text = v.get<std::string>();
      } else {
        return P::fail(type_error(key, "a string or a status number", v));
      }
      auto a = parse_error_action(text);
      if (!a) return P::fail("error: " + a.error);
      s.error = *a;
    } else if (key == "h2_goaway_after" || key == "h2_max_streams" || key == "h2_window") {
      std::uint64_t max = key == "h2_window" ? kMaxH2Window : kMaxH2Setting;
      if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max) {
        return P::fail(type_error(key, "an integer 0-" + std::to_string(max), v));
      }
      auto n = v.get<std::uint32_t>();
      (key == "h2_goaway_after"  ? s.h2_goaway_after
       : key == "h2_max_streams" ? s.h2_max_streams
                                 : s.h2_window) = n;
    } else {
      return P::fail("unknown field '" + key +
                     "' (expected mode, latency_ms, error_rate, seed, error, h2_goaway_after, "
                     "h2_max_streams, h2_window)");
    }
  }
  return P::ok(s);
}

}  // namespace lb::fault
