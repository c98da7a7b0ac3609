#pragma once

#include <string_view>

namespace lb::util {

// ASCII case-insensitive comparison, as HTTP field names require (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b);

// Strips spaces and horizontal tabs (HTTP's OWS) from both ends.
std::string_view trim_ows(std::string_view s);

// Calls fn(token) for each non-empty, OWS-trimmed element of a comma-separated list
// (RFC 9110 §5.6.1). fn returns false to stop early.
template <typename Fn>
void for_each_list_item(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim_ows(list.substr(0, comma));
    if (!item.empty() && !fn(item)) return;
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// Appends the lower-case hex form of n (no prefix) to out; returns the digits written.
std::size_t format_hex(std::size_t n, char* out);

}  // namespace lb::util
