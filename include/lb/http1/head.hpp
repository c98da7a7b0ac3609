#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace lb::http1 {

// A range of bytes in the buffer a message is parsed from, as offsets from the buffer's
// base so that the buffer may grow while a head is still arriving.
struct Span {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;

  std::string_view in(const char* base) const { return {base + offset, length}; }
  std::uint32_t end() const { return offset + length; }
};

struct HeaderField {
  Span name;   // as received: case preserved
  Span value;  // OWS already stripped by the parser
};

// A parsed request or response head. Fields keep the order, case and duplicates of the
// wire; framing facts come from the parser so they cannot disagree with it.
struct Head {
  // Request line (requests only).
  std::string_view method;  // static string from llhttp, e.g. "GET"
  Span target;
  // Status line (responses only).
  int status = 0;
  Span reason;

  int version_major = 1;
  int version_minor = 1;
  std::vector<HeaderField> fields;

  bool chunked = false;  // Transfer-Encoding: chunked (the only coding accepted)
  bool has_content_length = false;
  std::uint64_t content_length = 0;  // valid when has_content_length
  bool keep_alive = true;            // the sender allows another message on this connection
  bool expect_continue = false;      // Expect: 100-continue (requests)
  bool has_body = false;             // a body follows the head (for responses: unless HEAD etc.)

  bool is_http10() const { return version_major == 1 && version_minor == 0; }
  // RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
  bool idempotent() const {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
           method == "PUT" || method == "DELETE";
  }

  void clear() {
    method = {};
    target = {};
    status = 0;
    reason = {};
    version_major = version_minor = 1;
    fields.clear();
    chunked = has_content_length = expect_continue = has_body = false;
    content_length = 0;
    keep_alive = true;
  }
};

}  // namespace lb::http1
