#pragma once

#include <string_view>

namespace lb::http1 {

// The RFC 9110 §15 reason phrase of `status`; "Unknown" for codes it does not define.
std::string_view reason_phrase(int status);

}  // namespace lb::http1
