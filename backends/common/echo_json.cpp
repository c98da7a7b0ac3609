#include "echo_json.hpp"

namespace lb::backends {

bool valid_utf8(std::string_view s) {
  auto u = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = u(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    if (u(i + 1) < lo || u(i + 1) > hi) return false;
    for (std::size_t k = 2; k <= n; ++k) {
      if ((u(i + k) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(in[i]); };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = b(i) << 16 | (rest == 2 ? b(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

nlohmann::ordered_json echo_head(std::string_view server, const lb::http1::Head& head,
                                 std::string_view target, const char* base) {
  auto echo = nlohmann::ordered_json::object();
  echo["server"] = server;
  echo["method"] = head.method;
  echo["target"] = target;
  echo["version"] = head.is_http10() ? "HTTP/1.0" : "HTTP/1.1";
  auto& fields = echo["headers"] = nlohmann::ordered_json::array();
  for (const auto& f : head.fields) fields.push_back({f.name.in(base), f.value.in(base)});
  return echo;
}

nlohmann::ordered_json echo_request(
    std::string_view server, std::string_view method, std::string_view target,
    std::string_view version, const std::vector<std::pair<std::string, std::string>>& fields) {
  auto echo = nlohmann::ordered_json::object();
  echo["server"] = server;
  echo["method"] = method;
  echo["target"] = target;
  echo["version"] = version;
  auto& out = echo["headers"] = nlohmann::ordered_json::array();
  for (const auto& [name, value] : fields) out.push_back({name, value});
  return echo;
}

void finish_echo(nlohmann::ordered_json& echo, std::string& body, std::string& out) {
  bool utf8 = valid_utf8(body);
  std::size_t length = body.size();
  // The body moves into the document and back, so a large body is not copied.
  echo["body"] = utf8 ? std::move(body) : base64(body);
  echo["body_encoding"] = utf8 ? "utf-8" : "base64";
  echo["body_length"] = length;
  // Header bytes need not be UTF-8 (obs-text); the writer must not throw on them.
  out = echo.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  out += '\n';
  if (utf8) body = std::move(echo["body"].get_ref<std::string&>());
}

}  // namespace lb::backends
