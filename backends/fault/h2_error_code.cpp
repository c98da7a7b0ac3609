#include "h2_error_code.hpp"

#include <charconv>
#include <cstdio>

namespace lb::fault {

namespace {

// RFC 9113 §7, indexed by code.
constexpr std::string_view kNames[] = {"NO_ERROR",
                                       "PROTOCOL_ERROR",
                                       "INTERNAL_ERROR",
                                       "FLOW_CONTROL_ERROR",
                                       "SETTINGS_TIMEOUT",
                                       "STREAM_CLOSED",
                                       "FRAME_SIZE_ERROR",
                                       "REFUSED_STREAM",
                                       "CANCEL",
                                       "COMPRESSION_ERROR",
                                       "CONNECT_ERROR",
                                       "ENHANCE_YOUR_CALM",
                                       "INADEQUATE_SECURITY",
                                       "HTTP_1_1_REQUIRED"};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 'a' + 'A') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

Parsed<std::uint32_t> parse_h2_error_code(std::string_view text) {
  using P = Parsed<std::uint32_t>;
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (equal_ignoring_case(text, kNames[i])) return P::ok(static_cast<std::uint32_t>(i));
  }
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return P::fail(
        "code: expected an HTTP/2 error code name (PROTOCOL_ERROR, CANCEL, "
        "REFUSED_STREAM, ...) or a number 0-4294967295, got '" +
        std::string(text) + "'");
  }
  return P::ok(v);
}

std::string h2_error_code_text(std::uint32_t code) {
  if (code < std::size(kNames)) return std::string(kNames[code]);
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%x", code);
  return hex;
}

}  // namespace lb::fault
