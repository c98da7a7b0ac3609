#include "action.hpp"

#include <charconv>

namespace lb::fault {

namespace {

struct Named {
  std::string_view name;
  ActionKind kind;
};

constexpr Named kNames[] = {
    {"ok", ActionKind::ok},
    {"reset", ActionKind::reset},
    {"close", ActionKind::close},
    {"hang", ActionKind::hang},
    {"garbage", ActionKind::garbage},
    {"truncate", ActionKind::truncate},
    {"reset-mid-body", ActionKind::reset_mid_body},
    {"bad-chunk", ActionKind::bad_chunk},
};

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Parsed<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max,
                                 std::string_view what) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Parsed<std::uint64_t>::fail(std::string(what) + ": expected an integer " +
                                       std::to_string(min) + "-" + std::to_string(max) + ", got '" +
                                       std::string(text) + "'");
  }
  return Parsed<std::uint64_t>::ok(v);
}

Parsed<Action> parse_action(std::string_view text) {
  for (const auto& n : kNames) {
    if (text == n.name) return Parsed<Action>::ok({n.kind, 0});
  }
  if (text.starts_with("delay:")) {
    auto ms = parse_uint(text.substr(6), 0, kMaxMs, "delay");
    if (!ms) return Parsed<Action>::fail(ms.error);
    return Parsed<Action>::ok({ActionKind::delay, static_cast<std::uint32_t>(*ms)});
  }
  if (!text.empty() && text.front() >= '0' && text.front() <= '9') {
    auto code = parse_uint(text, 200, 599, "status");
    if (!code) return Parsed<Action>::fail(code.error);
    return Parsed<Action>::ok({ActionKind::status, static_cast<std::uint32_t>(*code)});
  }
  return Parsed<Action>::fail(
      "unknown response '" + std::string(text) +
      "' (expected ok, a status 200-599, reset, close, hang, garbage, truncate, "
      "reset-mid-body, bad-chunk or delay:<ms>)");
}

std::string action_text(const Action& action) {
  switch (action.kind) {
    case ActionKind::status:
      return std::to_string(action.value);
    case ActionKind::delay:
      return "delay:" + std::to_string(action.value);
    default:
      break;
  }
  for (const auto& n : kNames) {
    if (n.kind == action.kind) return std::string(n.name);
  }
  return "ok";
}

Parsed<std::vector<Action>> parse_action_list(std::string_view list) {
  std::vector<Action> out;
  if (trim_spaces(list).empty()) return Parsed<std::vector<Action>>::ok(std::move(out));
  for (std::size_t index = 1;; ++index) {
    auto comma = list.find(',');
    auto entry = parse_action(trim_spaces(list.substr(0, comma)));
    if (!entry) {
      return Parsed<std::vector<Action>>::fail("entry " + std::to_string(index) + ": " +
                                               entry.error);
    }
    out.push_back(*entry);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return Parsed<std::vector<Action>>::ok(std::move(out));
}

}  // namespace lb::fault
