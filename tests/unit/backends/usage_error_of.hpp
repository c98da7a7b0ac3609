#pragma once

// For the unit tests of the backends' command lines (backend1/2, fault_backend).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/server_options.hpp"

namespace lb::backends {

// The text of the UsageError that `parse(args)` throws; "" when the arguments parse. Any
// other exception passes through (and fails the test).
template <class Parse>
std::string usage_error_of(Parse parse, std::vector<std::string_view> args) {
  try {
    parse(std::move(args));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace lb::backends
