#include "control_api.hpp"

namespace lb::fault {

namespace {

ControlReply json_reply(const nlohmann::ordered_json& j) {
  return {200, j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n", {}};
}

nlohmann::ordered_json script_json(const Decider& decider) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& a : decider.script()) list.push_back(action_text(a));
  return {{"responses", std::move(list)}};
}

Parsed<nlohmann::json> parse_body(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Parsed<nlohmann::json>::fail("body is not valid JSON");
  if (!j.is_object()) return Parsed<nlohmann::json>::fail("body must be a JSON object");
  return Parsed<nlohmann::json>::ok(std::move(j));
}

Parsed<std::vector<Action>> parse_script(const nlohmann::json& j) {
  using P = Parsed<std::vector<Action>>;
  for (const auto& [key, v] : j.items()) {
    if (key != "responses") return P::fail("unknown field '" + key + "' (expected responses)");
  }
  auto it = j.find("responses");
  if (it == j.end() || !it->is_array()) return P::fail("responses: expected an array");
  if (it->size() > kMaxScript) {
    return P::fail("responses: more than " + std::to_string(kMaxScript) + " entries");
  }
  std::vector<Action> out;
  std::size_t index = 0;
  for (const auto& entry : *it) {
    ++index;
    std::string text;
    if (entry.is_number_unsigned()) {
      text = std::to_string(entry.get<std::uint64_t>());
    } else if (entry.is_string()) {
      text = entry.get<std::string>();
    } else {
      return P::fail("responses[" + std::to_string(index - 1) + "]: expected a string");
    }
    auto a = parse_action(text);
    if (!a) return P::fail("responses[" + std::to_string(index - 1) + "]: " + a.error);
    out.push_back(*a);
  }
  return P::ok(std::move(out));
}

bool is_get(std::string_view method) { return method == "GET" || method == "HEAD"; }
bool is_write(std::string_view method) { return method == "PUT" || method == "POST"; }

ControlReply not_allowed(std::string_view method, std::string_view path, std::string allow) {
  ControlReply r = control_error(405, std::string(method) + " is not allowed on " +
                                          std::string(path) + " (allowed: " + allow + ")");
  r.allow = std::move(allow);
  return r;
}

ControlReply config_call(std::string_view method, std::string_view path, std::string_view body,
                         Decider& decider) {
  if (is_get(method)) return json_reply(to_json(decider.settings()));
  if (!is_write(method)) return not_allowed(method, path, "GET, HEAD, PUT, POST");
  auto j = parse_body(body);
  if (!j) return control_error(400, j.error);
  auto s = apply_patch(decider.settings(), *j);
  if (!s) return control_error(400, s.error);
  decider.set_settings(*s);
  return json_reply(to_json(decider.settings()));
}

ControlReply script_call(std::string_view method, std::string_view path, std::string_view body,
                         Decider& decider) {
  if (is_get(method)) return json_reply(script_json(decider));
  if (method == "DELETE") {
    decider.set_script({});
    return json_reply(script_json(decider));
  }
  if (!is_write(method)) return not_allowed(method, path, "GET, HEAD, PUT, POST, DELETE");
  auto j = parse_body(body);
  if (!j) return control_error(400, j.error);
  auto script = parse_script(*j);
  if (!script) return control_error(400, script.error);
  decider.set_script(std::move(*script.value));
  return json_reply(script_json(decider));
}

}  // namespace

ControlReply control_error(int status, std::string_view message) {
  nlohmann::ordered_json j;
  j["error"] = message;
  ControlReply r = json_reply(j);
  r.status = status;
  return r;
}

ControlReply handle_control(std::string_view method, std::string_view path, std::string_view body,
                            Decider& decider, Stats& stats) {
  if (path == "/_fault/config") return config_call(method, path, body, decider);
  if (path == "/_fault/script") return script_call(method, path, body, decider);
  if (path == "/_fault/stats") {
    if (!is_get(method)) return not_allowed(method, path, "GET, HEAD");
    return json_reply(stats.to_json());
  }
  if (path == "/_fault/reset") {
    if (method != "POST") return not_allowed(method, path, "POST");
    decider.reset();
    stats.reset();
    nlohmann::ordered_json j;
    j["config"] = to_json(decider.settings());
    j["responses"] = script_json(decider)["responses"];
    return json_reply(j);
  }
  return control_error(404, "no control endpoint " + std::string(path) +
                                " (expected /_fault/config, /_fault/script, /_fault/stats or "
                                "/_fault/reset)");
}

}  // namespace lb::fault
