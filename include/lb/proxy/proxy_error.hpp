#pragma once

#include <string>
#include <string_view>

namespace lb::proxy {

// Who caused a failed exchange; decides whether the backend's health is charged.
enum class Side { downstream, upstream, internal };

// One failed exchange: decides the status the client gets, whether another backend may be
// tried, the log line and the X-LB-Error reason code.
struct ProxyError {
  int status = 502;
  std::string_view code;  // stable X-LB-Error value, e.g. "connect_failed"
  Side side = Side::upstream;
  bool retryable = false;  // nothing reached the backend: another one may be tried
  std::string detail{};    // one human sentence: what happened, naming the backend
  std::string cause{};     // a few words for health logs: "connect failed: Connection refused"
};

// Appends a complete error response: text/plain body "<status> <reason>: <detail>\n",
// X-LB-Error, Content-Length, and Connection: close when `close`.
void write_error_response(const ProxyError& err, bool close, std::string& out);

}  // namespace lb::proxy
