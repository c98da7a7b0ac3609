#include "lb/http2/translate.hpp"

#include "lb/http1/status.hpp"
#include "lb/util/strings.hpp"

namespace lb::http2 {

namespace {

using util::iequals;

// :path for a request target: origin-form as it is, absolute-form reduced to its path
// and query (RFC 9113 §8.3.1), "*" for OPTIONS.
std::string_view path_of(std::string_view target) {
  if (target.starts_with('/') || target == "*") return target;
  std::size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return target;
  std::size_t path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return target.substr(path);
}

}  // namespace

void FieldList::clear() {
  text_.clear();
  refs_.clear();
}

void FieldList::add(std::string_view name, std::string_view value, bool lower) {
  auto off = static_cast<std::uint32_t>(text_.size());
  text_.append(name);
  if (lower) {
    for (std::size_t i = off; i < text_.size(); ++i) {
      char c = text_[i];
      if (c >= 'A' && c <= 'Z') text_[i] = static_cast<char>(c - 'A' + 'a');
    }
  }
  text_.append(value);
  refs_.push_back({off, static_cast<std::uint32_t>(name.size()),
                   off + static_cast<std::uint32_t>(name.size()),
                   static_cast<std::uint32_t>(value.size())});
}

void FieldList::append_value(std::string_view more) {
  text_.append(more);
  refs_.back().value_len += static_cast<std::uint32_t>(more.size());
}

std::span<const nghttp2_nv> FieldList::fields() {
  nv_.clear();
  auto* base = reinterpret_cast<std::uint8_t*>(text_.data());
  for (const auto& r : refs_) {
    // NO_COPY: text_ outlives the submit call that takes the fields.
    nv_.push_back({base + r.name, base + r.value, r.name_len, r.value_len,
                   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE});
  }
  return nv_;
}

void build_request(const http1::Head& head, const char* base, const http1::RequestRewrite& rw,
                   std::string_view scheme, FieldList& out) {
  out.clear();
  std::string_view client_host = http1::client_host(head, base);
  out.add(":method", head.method);
  out.add(":scheme", scheme);
  out.add(":authority", rw.preserve_host && !client_host.empty() ? client_host : rw.authority);
  std::string_view path = path_of(head.target.in(base));
  if (path.starts_with('?')) {  // "http://host?q" has an empty path, which is "/"
    out.add(":path", "/");
    out.append_value(path);
  } else {
    out.add(":path", path);
  }

  bool xff_done = false;
  bool te_done = false;
  for (const auto& f : head.fields) {
    std::string_view name = f.name.in(base);
    std::string_view value = f.value.in(base);
    if (iequals(name, "te")) {
      // RFC 9113 §8.2.2: the only TE allowed is "trailers", once, where the client had TE.
      if (!te_done && http1::accepts_trailers(head, base)) out.add("te", "trailers");
      te_done = true;
      continue;
    }
    switch (http1::classify_request_field(name, head, base)) {
      case http1::RequestField::host:
      case http1::RequestField::drop:
        break;
      case http1::RequestField::forwarded_for:  // merged at the first one
        if (!xff_done) {
          xff_done = true;
          out.add(name, {}, true);
          http1::append_forwarded_for(head, base, rw.client_addr,
                                      [&](std::string_view piece) { out.append_value(piece); });
        }
        break;
      case http1::RequestField::forward:
        out.add(name, value, true);
        break;
    }
  }
  if (!xff_done) out.add("x-forwarded-for", rw.client_addr);
  out.add("x-forwarded-proto", rw.proto);
  if (!client_host.empty()) out.add("x-forwarded-host", client_host);
}

void write_response_head(const ClientStream& stream, const http1::ResponseFraming& framing,
                         std::string& out) {
  int status = stream.status();
  char code[4] = {static_cast<char>('0' + status / 100 % 10),
                  static_cast<char>('0' + status / 10 % 10), static_cast<char>('0' + status % 10),
                  ' '};
  out.append("HTTP/1.1 ").append(code, 4).append(http1::reason_phrase(status)).append("\r\n");
  for (const auto& f : stream.fields()) {
    std::string_view name = stream.text(f.name, f.name_len);
    if (framing.chunked && name == "content-length") continue;
    out.append(name).append(": ").append(stream.text(f.value, f.value_len)).append("\r\n");
  }
  if (framing.chunked) out.append("transfer-encoding: chunked\r\n");
  if (framing.close) {
    out.append("connection: close\r\n");
  } else if (framing.http10_keep_alive) {
    out.append("connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

void write_last_chunk(const ClientStream& stream, std::string& out) {
  out.append("0\r\n");
  for (const auto& f : stream.trailers()) {
    out.append(stream.text(f.name, f.name_len))
        .append(": ")
        .append(stream.text(f.value, f.value_len))
        .append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace lb::http2
