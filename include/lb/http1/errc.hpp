#pragma once

#include <system_error>

namespace lb::http1 {

// Why a message was refused. Request errors map to the status the balancer answers with.
enum class errc {
  bad_request = 1,        // 400: malformed syntax, smuggling attempt, bad framing
  uri_too_long,           // 414
  headers_too_large,      // 431
  not_implemented,        // 501: unknown method, CONNECT, transfer coding other than chunked
  version_not_supported,  // 505
  bad_response,           // a backend sent something that is not a valid HTTP/1.1 response
  response_too_large,     // a backend's response head exceeds the limit
};

const std::error_category& category();

inline std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

// The status code the balancer answers a client with for this error (400 for others).
int status_for(errc e);

}  // namespace lb::http1

template <>
struct std::is_error_code_enum<lb::http1::errc> : std::true_type {};
