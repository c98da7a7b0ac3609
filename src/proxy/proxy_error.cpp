#include "lb/proxy/proxy_error.hpp"

#include "lb/http1/status.hpp"

namespace lb::proxy {

void write_error_response(const ProxyError& err, bool close, std::string& out) {
  std::string status = std::to_string(err.status);
  std::string body = status;
  body.append(" ")
      .append(http1::reason_phrase(err.status))
      .append(": ")
      .append(err.detail)
      .append("\n");
  out.append("HTTP/1.1 ").append(status).append(" ").append(http1::reason_phrase(err.status));
  out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nX-LB-Error: ").append(err.code);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  out.append(body);
}

}  // namespace lb::proxy
