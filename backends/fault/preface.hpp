#pragma once

// Telling HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) from HTTP/1.x on a plain
// connection by its first bytes. Pure.

#include <string_view>

namespace lb::fault {

// RFC 9113 §3.4: the client connection preface starts with these 24 bytes.
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class PrefaceMatch {
  need_more,  // every byte so far agrees with the preface, which is not complete yet
  h2,         // the bytes start with the whole preface
  other,      // they differ from it (HTTP/1.x, TLS sent to the plain port, noise)
};

// What the first bytes a client sent are; `bytes` is everything received so far.
PrefaceMatch match_preface(std::string_view bytes);

}  // namespace lb::fault
