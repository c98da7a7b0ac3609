#include "config_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lb/config/cli.hpp"

namespace lb::config {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail_at(const std::string& file, const std::string& pointer,
                          const std::string& what) {
  throw UsageError(file + ": " + pointer + ": " + what);
}

// ` (did you mean "x"?)` for the nearest of `known`, or "" when none is near.
std::string suggestion(std::string_view key, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (auto k : known) {
    std::size_t d = detail::edit_distance(key, k);
    if (d < best_distance) best = k, best_distance = d;
  }
  return best.empty() ? std::string() : ", did you mean \"" + std::string(best) + "\"?";
}

[[noreturn]] void unknown_key(const std::string& file, const std::string& pointer,
                              std::string_view key, const std::vector<std::string_view>& known) {
  fail_at(file, pointer, "unknown key" + suggestion(key, known));
}

// A scalar as the text a flag would have been given.
std::string as_text(const json& v, const std::string& file, const std::string& pointer) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  fail_at(file, pointer, v.dump() + " is not a string or a whole number");
}

// One entry of "backends": a SPEC string as for -b, or an object of its parts.
BackendSpec backend_from(const json& b, const std::string& file, const std::string& pointer) {
  std::string spec;
  if (b.is_string()) {
    spec = b.get<std::string>();
  } else if (b.is_object()) {
    static const std::vector<std::string_view> kKeys = {"host",   "port", "weight", "tls", "sni",
                                                        "verify", "ca",   "proto",  "h2c"};
    for (const auto& [key, value] : b.items()) {
      if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
        unknown_key(file, pointer + "/" + key, key, kKeys);
      }
    }
    if (!b.contains("host") || !b["host"].is_string() || b["host"].get<std::string>().empty()) {
      fail_at(file, pointer + "/host", "missing (expected a host name or IP address)");
    }
    std::string host = b["host"].get<std::string>();
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
    auto flag = [&](const char* key) -> std::optional<bool> {
      if (!b.contains(key)) return std::nullopt;
      if (!b[key].is_boolean())
        fail_at(file, pointer + "/" + key, b[key].dump() + " is not true or false");
      return b[key].get<bool>();
    };
    auto number = [&](const char* key, long lo, long hi) -> std::optional<long> {
      if (!b.contains(key)) return std::nullopt;
      const json& v = b[key];
      if (!v.is_number_integer())
        fail_at(file, pointer + "/" + key, v.dump() + " is not a whole number");
      long n = v.get<long>();
      if (n < lo || n > hi) {
        fail_at(file, pointer + "/" + key,
                std::to_string(n) + " is out of range " + std::to_string(lo) + ".." +
                    std::to_string(hi));
      }
      return n;
    };
    auto text = [&](const char* key) -> std::optional<std::string> {
      if (!b.contains(key)) return std::nullopt;
      if (!b[key].is_string())
        fail_at(file, pointer + "/" + key, b[key].dump() + " is not a string");
      return b[key].get<std::string>();
    };
    auto port = number("port", 1, 65535);
    auto weight = number("weight", 1, 1000);
    auto h2c = flag("h2c");
    spec = (h2c.value_or(false) ? "h2c://" : "") + host;
    if (port) spec += ":" + std::to_string(*port);
    if (weight) spec += ",weight=" + std::to_string(*weight);
    if (auto tls = flag("tls")) spec += std::string(",tls=") + (*tls ? "on" : "off");
    if (auto verify = flag("verify")) spec += std::string(",verify=") + (*verify ? "on" : "off");
    if (auto sni = text("sni")) spec += ",sni=" + *sni;
    if (auto ca = text("ca")) spec += ",ca=" + *ca;
    if (auto proto = text("proto")) spec += ",proto=" + *proto;
  } else {
    fail_at(file, pointer,
            "expected an object such as {\"host\": \"10.0.0.7\", \"port\": 8080} or a "
            "string such as \"10.0.0.7:8080\"");
  }
  try {
    return parse_backend(spec);
  } catch (const UsageError& e) {
    fail_at(file, pointer, e.what());
  }
}

json read_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError(file + ": cannot read the config file: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // Line and column of the byte where parsing stopped (1-based), as editors count them.
    std::size_t upto = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    std::size_t line =
        1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + upto, '\n'));
    std::size_t last_nl = text.rfind('\n', upto == 0 ? 0 : upto - 1);
    std::size_t column = last_nl == std::string::npos || upto == 0 ? upto + 1 : upto - last_nl;
    std::string why = e.what();
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 3, column 5:
    // syntax error while parsing ..."; keep what follows the position.
    if (auto colon = why.find(": ", why.find("column")); colon != std::string::npos) {
      why = why.substr(colon + 2);
    }
    throw UsageError(file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                     ": JSON syntax error: " + why);
  }
}

}  // namespace

void apply_config_file(Config& cfg, const std::set<std::string, std::less<>>& given) {
  const std::string file = cfg.config_file;
  json doc = read_json(file);
  if (!doc.is_object()) {
    throw UsageError(file + ": expected a JSON object ({\"backends\": [...], ...}) at the top");
  }
  auto options = detail::file_options();
  std::vector<std::string_view> keys{"backends"};
  for (const auto& o : options) keys.push_back(o.name);
  for (const auto& [key, value] : doc.items()) {
    const std::string pointer = "/" + key;
    if (key == "backends") {
      if (!value.is_array()) fail_at(file, pointer, "expected a list of backends");
      if (value.empty()) fail_at(file, pointer, "is empty (expected at least one backend)");
      if (!cfg.backends.empty()) {
        throw UsageError(file + ": " + pointer +
                         ": backends come from -b or from the config file, not both (remove "
                         "the -b options or the file's \"backends\")");
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        cfg.backends.push_back(backend_from(value[i], file, pointer + "/" + std::to_string(i)));
      }
      detail::check_unique_backends(file + ": " + pointer, cfg.backends);
      continue;
    }
    auto it =
        std::find_if(options.begin(), options.end(), [&](const auto& o) { return o.name == key; });
    if (it == options.end()) unknown_key(file, pointer, key, keys);
    if (given.contains(it->name)) continue;  // the command line wins
    const std::string label = file + ": " + pointer;
    if (!it->takes_value) {
      if (!value.is_boolean()) fail_at(file, pointer, value.dump() + " is not true or false");
      if (value.get<bool>()) it->apply(cfg, label, {});
      continue;
    }
    std::string text = as_text(value, file, pointer);
    if (text.empty()) fail_at(file, pointer, "is empty");
    it->apply(cfg, label, text);
  }
}

}  // namespace lb::config
