#pragma once

#include <nghttp2/nghttp2.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http1/head.hpp"
#include "lb/http1/rewrite.hpp"
#include "lb/http2/client_stream.hpp"

namespace lb::http2 {

// HTTP/2 header fields for nghttp2 and the text they point into; reused between requests
// so that steady-state translation does not allocate.
class FieldList {
 public:
  void clear();
  // Appends a field; `lower` lower-cases the name (HTTP/2 requires it, RFC 9113 §8.2.1).
  void add(std::string_view name, std::string_view value, bool lower = false);
  // Appends to the value of the last field added.
  void append_value(std::string_view more);
  // The fields, valid until the next change.
  std::span<const nghttp2_nv> fields();
  std::size_t size() const { return refs_.size(); }

 private:
  std::string text_;
  std::vector<FieldRef> refs_;
  std::vector<nghttp2_nv> nv_;
};

// The HTTP/2 request for an HTTP/1.1 request head (RFC 9113 §8.2.2, §8.3.1): pseudo-headers
// first (:authority from the rewritten Host, `scheme`, :path in origin form), names in
// lower case, connection-specific fields dropped (TE kept only as "te: trailers"), the same
// Host, X-Forwarded-* and Expect rules as HTTP/1.1 forwarding, Content-Length kept.
void build_request(const http1::Head& head, const char* base, const http1::RequestRewrite& rw,
                   std::string_view scheme, FieldList& out);

// The HTTP/1.1 response head for an HTTP/2 response: status line with the standard reason
// phrase, every field in order (each set-cookie on its own line), framing per `framing`.
void write_response_head(const ClientStream& stream, const http1::ResponseFraming& framing,
                         std::string& out);

// The end of a chunked body carrying the stream's trailers: "0\r\n", fields, "\r\n".
void write_last_chunk(const ClientStream& stream, std::string& out);

}  // namespace lb::http2
