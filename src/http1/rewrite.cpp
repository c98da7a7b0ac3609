#include "lb/http1/rewrite.hpp"

#include "lb/util/strings.hpp"

namespace lb::http1 {

namespace {

using util::iequals;

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

bool listed_in_connection(std::string_view name, const Head& head, const char* base) {
  bool found = false;
  for (const auto& f : head.fields) {
    if (!iequals(f.name.in(base), "connection")) continue;
    util::for_each_list_item(f.value.in(base), [&](std::string_view token) {
      found = iequals(token, name);
      return !found;
    });
    if (found) return true;
  }
  return false;
}

}  // namespace

bool is_hop_by_hop(std::string_view name, const Head& head, const char* base) {
  static constexpr std::string_view kAlways[] = {
      "connection", "keep-alive",        "proxy-connection",   "te",
      "upgrade",    "transfer-encoding", "proxy-authenticate", "proxy-authorization"};
  for (auto h : kAlways) {
    if (iequals(name, h)) return true;
  }
  return listed_in_connection(name, head, base);
}

bool is_forwarded_for(std::string_view name) { return iequals(name, "x-forwarded-for"); }

std::string_view client_host(const Head& head, const char* base) {
  for (const auto& f : head.fields) {
    if (iequals(f.name.in(base), "host")) return f.value.in(base);
  }
  return {};
}

bool accepts_trailers(const Head& head, const char* base) {
  bool found = false;
  for (const auto& f : head.fields) {
    if (!iequals(f.name.in(base), "te")) continue;
    util::for_each_list_item(f.value.in(base), [&](std::string_view token) {
      found = iequals(util::trim_ows(token.substr(0, token.find(';'))), "trailers");
      return !found;
    });
    if (found) return true;
  }
  return false;
}

RequestField classify_request_field(std::string_view name, const Head& head, const char* base) {
  if (iequals(name, "host")) return RequestField::host;
  if (is_forwarded_for(name)) return RequestField::forwarded_for;
  if (iequals(name, "x-forwarded-proto") || iequals(name, "x-forwarded-host") ||
      iequals(name, "expect") || is_hop_by_hop(name, head, base)) {
    return RequestField::drop;
  }
  return RequestField::forward;
}

void write_request_head(const Head& head, const char* base, const RequestRewrite& rw,
                        std::string& out) {
  out.append(head.method).append(" ").append(head.target.in(base)).append(" HTTP/1.1\r\n");

  std::string_view host = client_host(head, base);
  // HTTP/1.1 requires a Host upstream even when an HTTP/1.0 client sent none; with
  // --preserve-host there is nothing to preserve, so the backend authority stands in.
  // (A Host that is there but empty is kept as it is.)
  bool has_host = false;
  for (const auto& f : head.fields) has_host = has_host || iequals(f.name.in(base), "host");
  if (!has_host) append_field(out, "Host", rw.authority);

  bool xff_done = false;
  auto append = [&](std::string_view piece) { out.append(piece); };
  for (const auto& f : head.fields) {
    std::string_view name = f.name.in(base);
    std::string_view value = f.value.in(base);
    switch (classify_request_field(name, head, base)) {
      case RequestField::host:  // the parser guarantees there is at most one
        append_field(out, name, rw.preserve_host ? value : rw.authority);
        break;
      case RequestField::forwarded_for:  // merged at the first one
        if (!xff_done) {
          xff_done = true;
          out.append(name).append(": ");
          append_forwarded_for(head, base, rw.client_addr, append);
          out.append("\r\n");
        }
        break;
      case RequestField::drop:
        break;
      case RequestField::forward:
        append_field(out, name, value);
        break;
    }
  }
  if (!xff_done) append_field(out, "X-Forwarded-For", rw.client_addr);
  append_field(out, "X-Forwarded-Proto", rw.proto);
  if (!host.empty()) append_field(out, "X-Forwarded-Host", host);
  if (head.chunked) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
}

void write_response_head(const Head& head, const char* base, const ResponseFraming& framing,
                         std::string& out) {
  char code[4] = {static_cast<char>('0' + head.status / 100 % 10),
                  static_cast<char>('0' + head.status / 10 % 10),
                  static_cast<char>('0' + head.status % 10), ' '};
  out.append("HTTP/1.1 ").append(code, 4).append(head.reason.in(base)).append("\r\n");
  for (const auto& f : head.fields) {
    std::string_view name = f.name.in(base);
    if (is_hop_by_hop(name, head, base)) continue;
    // Re-framed bodies lose their length; a close-delimited one never had a valid one.
    if (framing.chunked && iequals(name, "content-length")) continue;
    append_field(out, name, f.value.in(base));
  }
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (framing.close) {
    out.append("Connection: close\r\n");
  } else if (framing.http10_keep_alive) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

}  // namespace lb::http1
