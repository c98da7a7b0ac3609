#include "lb/proxy/proxy_error.hpp"

namespace lb::proxy {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void write_error_response(const ProxyError& err, bool close, std::string& out) {
  std::string status = std::to_string(err.status);
  std::string body = status;
  body.append(" ").append(reason_phrase(err.status)).append(": ").append(err.detail).append("\n");
  out.append("HTTP/1.1 ").append(status).append(" ").append(reason_phrase(err.status));
  out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nX-LB-Error: ").append(err.code);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  out.append(body);
}

}  // namespace lb::proxy
