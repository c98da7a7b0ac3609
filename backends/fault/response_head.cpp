#include "response_head.hpp"

namespace lb::fault {

bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

std::vector<std::string> head_lines(const HeadSpec& spec) {
  std::vector<std::string> lines;
  lines.push_back("HTTP/1.1 " + std::to_string(spec.status) + " " +
                  std::string(reason_phrase(spec.status)) + "\r\n");
  lines.push_back("Server: " + std::string(spec.server) + "\r\n");
  if (spec.request_number > 0) {
    lines.push_back("X-Fault-Request: " + std::to_string(spec.request_number) + "\r\n");
  }
  if (!spec.content_type.empty()) {
    lines.push_back("Content-Type: " + std::string(spec.content_type) + "\r\n");
  }
  if (spec.content_length) {
    lines.push_back("Content-Length: " + std::to_string(*spec.content_length) + "\r\n");
  } else if (spec.chunked) {
    lines.push_back("Transfer-Encoding: chunked\r\n");
  }
  if (!spec.connection.empty()) {
    lines.push_back("Connection: " + std::string(spec.connection) + "\r\n");
  }
  std::string_view extra = spec.extra;
  while (!extra.empty()) {
    auto end = extra.find("\r\n");
    end = end == std::string_view::npos ? extra.size() : end + 2;
    lines.emplace_back(extra.substr(0, end));
    extra.remove_prefix(end);
  }
  lines.emplace_back("\r\n");
  return lines;
}

std::string head_text(const HeadSpec& spec) {
  std::string out;
  for (const auto& line : head_lines(spec)) out += line;
  return out;
}

}  // namespace lb::fault
