#pragma once

#include <optional>
#include <string>
#include <utility>

namespace lb::fault {

// A value parsed from user input (flag, control API body, request target), or the reason it
// could not be: one line that names the input. Used instead of exceptions because control
// calls and request targets are parsed on the request path.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // set when value is empty

  static Parsed ok(T v) { return {std::move(v), {}}; }
  static Parsed fail(std::string why) { return {std::nullopt, std::move(why)}; }

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

}  // namespace lb::fault
