// Session's locally answered requests: GET /metrics, and the --admin port.

#include <asio/write.hpp>

#include "lb/proxy/session.hpp"
#include "lb/util/strings.hpp"
#include "session_common.hpp"

namespace lb::proxy {

bool Session::is_metrics_request(const http1::Head& h, const char* base) {
  std::string_view target = h.target.in(base);
  std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" && (h.method == "GET" || h.method == "HEAD");
}

asio::awaitable<Session::Outcome> Session::answer_locally() {
  const http1::Head& h = parser_.head();
  backend_chosen_ = false;
  // A body is not wanted here and is not read: the connection ends after the reply.
  bool close = !client_keep_alive_ || w_.draining || h.has_body;
  bool metrics = is_metrics_request(h, buf_.base());
  std::string body;
  int status = 200;
  if (metrics) {
    w_.write_metrics(body);
  } else {
    status = 404;
    body = "404 Not Found: this is the admin port; it serves GET /metrics\n";
  }
  head_out_.clear();
  head_out_.append(client_http10_ ? "HTTP/1.0 " : "HTTP/1.1 ")
      .append(status == 200 ? "200 OK" : "404 Not Found")
      .append(metrics ? "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"
                      : "\r\nContent-Type: text/plain; charset=utf-8")
      .append("\r\nContent-Length: ")
      .append(std::to_string(body.size()))
      .append(close ? "\r\nConnection: close\r\n\r\n"
                    : (client_http10_ ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\n\r\n"));
  if (!is_head_) head_out_.append(body);
  response_status_ = status;
  bool sent = co_await write_client(head_out_, nullptr);
  access_log(status, is_head_ ? 0 : body.size());
  co_return sent && !close ? Outcome::keep_alive : Outcome::close;
}

}  // namespace lb::proxy
