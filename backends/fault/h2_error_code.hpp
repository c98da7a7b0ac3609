#pragma once

// HTTP/2 error codes (RFC 9113 §7) by name and number, for /h2/rst-stream?code=... and logs.
// Pure: no nghttp2 here, so it is unit-tested with the rest of lb_fault.

#include <cstdint>
#include <string>
#include <string_view>

#include "parsed.hpp"

namespace lb::fault {

// RFC 9113 §7: INTERNAL_ERROR, what /h2/rst-stream sends without ?code=.
inline constexpr std::uint32_t kH2InternalError = 0x2;

// A code as a name from RFC 9113 §7 (NO_ERROR ... HTTP_1_1_REQUIRED, in any letter case, as
// nghttp2_http2_strerror prints them) or a number: decimal 0-4294967295 or hex with 0x (codes
// without a name are allowed: RFC 9113 §7 says unknown codes must not trigger special
// behaviour, so a peer has to cope with them).
Parsed<std::uint32_t> parse_h2_error_code(std::string_view text);

// "PROTOCOL_ERROR", ...; "0x1f" style hex for codes without a name.
std::string h2_error_code_text(std::uint32_t code);

}  // namespace lb::fault
