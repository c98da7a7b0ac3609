#pragma once

// HTTP/1.1 response heads as fault_backend writes them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http1/status.hpp"

namespace lb::fault {

struct HeadSpec {
  int status = 200;
  std::string_view server;           // Server header value
  std::uint64_t request_number = 0;  // X-Fault-Request; 0 = none (control replies)
  std::string_view content_type;     // empty = none
  std::optional<std::uint64_t> content_length;
  bool chunked = false;         // Transfer-Encoding: chunked
  std::string_view connection;  // Connection value ("close", "keep-alive") or empty
  std::string_view extra;       // more header lines, each ending in CRLF
};

using lb::http1::reason_phrase;
// RFC 9110 §6.4.1: 1xx, 204 and 304 responses end at the head.
bool status_has_body(int status);

// The head as lines, each ending in CRLF: the status line, Server, X-Fault-Request,
// Content-Type, Content-Length or Transfer-Encoding, Connection, the extra lines, and the
// empty line that ends the head.
std::vector<std::string> head_lines(const HeadSpec& spec);
// The same lines joined.
std::string head_text(const HeadSpec& spec);

}  // namespace lb::fault
