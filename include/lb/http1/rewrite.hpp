#pragma once

#include <string>
#include <string_view>

#include "lb/http1/head.hpp"

namespace lb::http1 {

// What the proxy adds when it forwards a request upstream.
struct RequestRewrite {
  std::string_view authority;       // backend authority for Host (ignored with preserve_host)
  bool preserve_host = false;       // keep the client's Host
  std::string_view client_addr;     // appended to X-Forwarded-For
  std::string_view proto = "http";  // X-Forwarded-Proto
};

// RFC 9110 §7.6.1: fields that belong to one connection and are never forwarded.
// `connection_tokens` is the request's or response's Connection field values.
bool is_hop_by_hop(std::string_view name, const Head& head, const char* base);

// What happens to a client's request field on the way upstream.
enum class RequestField {
  forward,        // passed on as it is
  host,           // rewritten to the backend authority unless preserve_host
  forwarded_for,  // merged into one X-Forwarded-For with the client address appended
  drop,           // hop-by-hop, Expect, or X-Forwarded-Proto/-Host (the balancer sets them)
};
RequestField classify_request_field(std::string_view name, const Head& head, const char* base);

// The client's Host value; empty when it sent none.
std::string_view client_host(const Head& head, const char* base);

// Whether the client's TE lists "trailers" (RFC 9110 §10.1.4): it will take trailers.
bool accepts_trailers(const Head& head, const char* base);

// The merged X-Forwarded-For value, piece by piece: every X-Forwarded-For the client sent,
// in order, then `client_addr`, with ", " between them (RFC 9110 §5.3: one list). Used at
// the first X-Forwarded-For field, or alone when the client sent none.
template <typename Append>
void append_forwarded_for(const Head& head, const char* base, std::string_view client_addr,
                          Append&& append);

// Appends the upstream request head (HTTP/1.1, keep-alive) to out: request line, the
// client's fields in order minus hop-by-hop ones, Host rewritten in place (or added first
// for HTTP/1.0 clients that sent none), X-Forwarded-For appended to, X-Forwarded-Proto and
// X-Forwarded-Host set, Expect removed (the balancer answers 100-continue itself), and
// Transfer-Encoding: chunked when the body is chunked.
void write_request_head(const Head& head, const char* base, const RequestRewrite& rw,
                        std::string& out);

bool is_forwarded_for(std::string_view name);

template <typename Append>
void append_forwarded_for(const Head& head, const char* base, std::string_view client_addr,
                          Append&& append) {
  for (const auto& f : head.fields) {
    if (!is_forwarded_for(f.name.in(base))) continue;
    append(f.value.in(base));
    append(std::string_view(", "));
  }
  append(client_addr);
}

// How the response body travels to the client.
struct ResponseFraming {
  bool chunked = false;            // re-framed as chunked (Transfer-Encoding: chunked added)
  bool close = false;              // the connection closes after this response
  bool http10_keep_alive = false;  // add "Connection: keep-alive" for an HTTP/1.0 client
};

// Appends the downstream response head: status line with the backend's reason phrase, the
// backend's fields in order, case and multiplicity, minus hop-by-hop ones; framing fields
// per `framing`.
void write_response_head(const Head& head, const char* base, const ResponseFraming& framing,
                         std::string& out);

}  // namespace lb::http1
