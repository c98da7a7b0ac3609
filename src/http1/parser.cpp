#include "lb/http1/parser.hpp"

#include "lb/util/strings.hpp"

namespace lb::http1 {

namespace {
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kColonSpace = ": ";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
// Room always left in the framing buffer for one more chunk-size line.
constexpr std::size_t kFramingReserve = 64;

Parser& self(llhttp_t* p) { return *static_cast<Parser*>(p->data); }

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
}  // namespace

// llhttp calls back through C function pointers; these forward to the Parser.
struct ParserCallbacks {
  static int on_url(llhttp_t* p, const char* at, std::size_t len) {
    Parser& s = self(p);
    Span& t = s.head_.target;
    if (t.length == 0) t.offset = static_cast<std::uint32_t>(at - s.base_);
    t.length += static_cast<std::uint32_t>(len);
    if (t.length > s.limits_.max_request_line) {
      return s.fail(errc::uri_too_long, "request target is longer than the limit");
    }
    return 0;
  }
  static int on_status(llhttp_t* p, const char* at, std::size_t len) {
    Parser& s = self(p);
    Span& r = s.head_.reason;
    if (r.length == 0) r.offset = static_cast<std::uint32_t>(at - s.base_);
    r.length += static_cast<std::uint32_t>(len);
    return 0;
  }
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len) {
    return self(p).on_header_field(at, len);
  }
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len) {
    return self(p).on_header_value(at, len);
  }
  static int on_header_field_complete(llhttp_t* p) {
    Parser& s = self(p);
    if (s.head_done_ && s.body_output_ == BodyOutput::chunked) s.emit_framing(kColonSpace);
    return 0;
  }
  static int on_header_value_complete(llhttp_t* p) {
    Parser& s = self(p);
    if (!s.head_done_) return s.check_field(s.head_.fields.back());
    if (s.body_output_ == BodyOutput::chunked) s.emit_framing(kCrlf);
    return 0;
  }
  static int on_headers_complete(llhttp_t* p) { return self(p).on_headers_complete(); }
  static int on_body(llhttp_t* p, const char* at, std::size_t len) {
    Parser& s = self(p);
    s.body_bytes_ += len;
    bool rechunk = s.body_output_ == BodyOutput::chunked && !s.head_.chunked;
    if (rechunk) s.emit_chunk_size(len);
    s.emit_input(at, len);
    if (rechunk) s.emit_framing(kCrlf);
    return 0;
  }
  static int on_chunk_header(llhttp_t* p) {
    Parser& s = self(p);
    if (s.body_output_ != BodyOutput::chunked) return 0;
    s.emit_chunk_size(static_cast<std::size_t>(p->content_length));
    if (s.framing_used_ + kFramingReserve > s.framing_.size()) return HPE_PAUSED;
    return 0;
  }
  static int on_chunk_complete(llhttp_t* p) {
    Parser& s = self(p);
    // Also ends the trailer section after the last chunk (llhttp reports trailers first).
    if (s.body_output_ == BodyOutput::chunked) s.emit_framing(kCrlf);
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    Parser& s = self(p);
    if (s.head_.has_body && s.body_output_ == BodyOutput::chunked && !s.head_.chunked) {
      s.emit_framing(kLastChunk);
    }
    s.keep_alive_ = llhttp_should_keep_alive(p) != 0;
    s.paused_ = true;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t instance = [] {
      llhttp_settings_t st;
      llhttp_settings_init(&st);
      st.on_url = on_url;
      st.on_status = on_status;
      st.on_header_field = on_header_field;
      st.on_header_value = on_header_value;
      st.on_header_field_complete = on_header_field_complete;
      st.on_header_value_complete = on_header_value_complete;
      st.on_headers_complete = on_headers_complete;
      st.on_body = on_body;
      st.on_chunk_header = on_chunk_header;
      st.on_chunk_complete = on_chunk_complete;
      st.on_message_complete = on_message_complete;
      return st;
    }();
    return &instance;
  }
};

Parser::Parser(MessageKind kind, ParserLimits limits) : kind_(kind), limits_(limits) {
  llhttp_init(&parser_, kind == MessageKind::request ? HTTP_REQUEST : HTTP_RESPONSE,
              ParserCallbacks::settings());
  parser_.data = this;
  head_.fields.reserve(32);
  output_.reserve(64);
}

void Parser::start(bool no_body) {
  head_.clear();
  head_done_ = false;
  head_bytes_ = 0;
  in_value_ = false;
  no_body_ = no_body;
  keep_alive_ = true;
  body_output_ = BodyOutput::raw;
  body_bytes_ = 0;
  trailers_.clear();
  trailer_bytes_ = 0;
  trailer_value_ = false;
  clear_output();
}

void Parser::clear_output() {
  output_.clear();
  output_bytes_ = 0;
  framing_used_ = 0;
}

bool Parser::body_until_eof() const { return llhttp_message_needs_eof(&parser_) != 0; }

int Parser::fail(errc e, const char* reason) {
  if (kind_ == MessageKind::response && e != errc::response_too_large) e = errc::bad_response;
  error_ = e;
  error_reason_ = reason;
  return HPE_USER;
}

void Parser::emit_input(const char* at, std::size_t len) {
  if (len == 0) return;
  // Adjacent input pieces (a header name and its value in a trailer) merge into one.
  if (!output_.empty() && output_.back().data() + output_.back().size() == at &&
      (output_.back().data() < framing_.data() ||
       output_.back().data() >= framing_.data() + framing_.size())) {
    output_.back() = {output_.back().data(), output_.back().size() + len};
  } else {
    output_.emplace_back(at, len);
  }
  output_bytes_ += len;
}

void Parser::emit_framing(std::string_view bytes) {
  output_.emplace_back(bytes.data(), bytes.size());
  output_bytes_ += bytes.size();
}

void Parser::emit_chunk_size(std::size_t n) {
  char* out = framing_.data() + framing_used_;
  std::size_t len = util::format_hex(n, out);
  out[len++] = '\r';
  out[len++] = '\n';
  framing_used_ += len;
  emit_framing({out, len});
}

int Parser::on_header_field(const char* at, std::size_t len) {
  if (head_done_) {  // a trailer field
    if (body_output_ == BodyOutput::data) return collect_trailer(at, len, false);
    if (body_output_ == BodyOutput::chunked) {
      if (framing_used_ + kFramingReserve > framing_.size()) {
        return fail(errc::bad_request, "trailer section too large");
      }
      emit_input(at, len);
    }
    return 0;
  }
  auto off = static_cast<std::uint32_t>(at - base_);
  if (head_.fields.empty() || in_value_) {
    head_.fields.push_back({{off, static_cast<std::uint32_t>(len)}, {off, 0}});
    in_value_ = false;
  } else {
    head_.fields.back().name.length += static_cast<std::uint32_t>(len);
  }
  return 0;
}

int Parser::on_header_value(const char* at, std::size_t len) {
  if (head_done_) {
    if (body_output_ == BodyOutput::data) return collect_trailer(at, len, true);
    if (body_output_ == BodyOutput::chunked) emit_input(at, len);
    return 0;
  }
  auto off = static_cast<std::uint32_t>(at - base_);
  Span& v = head_.fields.back().value;
  if (!in_value_) {
    v = {off, static_cast<std::uint32_t>(len)};
    in_value_ = true;
  } else if (off != v.end()) {
    // llhttp accepts obs-fold and reports the continuation as a separate piece.
    return fail(errc::bad_request, "obsolete line folding in header field");
  } else {
    v.length += static_cast<std::uint32_t>(len);
  }
  return 0;
}

int Parser::collect_trailer(const char* at, std::size_t len, bool value) {
  trailer_bytes_ += len;
  if (trailer_bytes_ > framing_.size()) return fail(errc::bad_request, "trailer section too large");
  if (!value && (trailers_.empty() || trailer_value_)) trailers_.emplace_back();
  trailer_value_ = value;
  (value ? trailers_.back().second : trailers_.back().first).append(at, len);
  return 0;
}

int Parser::check_field(const HeaderField& f) {
  std::string_view name = f.name.in(base_);
  // RFC 9112 §5.1: no whitespace between field name and colon.
  if (name.empty() || !is_tchar(name.back())) {
    return fail(errc::bad_request, "whitespace or invalid character in header field name");
  }
  if (!in_value_) {
    // The value piece was empty: llhttp may not call on_header_value; normalise the span.
    head_.fields.back().value = {f.name.end(), 0};
  }
  in_value_ = true;
  return 0;
}

int Parser::on_headers_complete() {
  head_done_ = true;
  head_.version_major = parser_.http_major;
  head_.version_minor = parser_.http_minor;
  head_.chunked = (parser_.flags & F_CHUNKED) != 0;
  head_.has_content_length = (parser_.flags & F_CONTENT_LENGTH) != 0;
  head_.content_length = head_.has_content_length ? parser_.content_length : 0;
  head_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  if (head_.version_major != 1) {
    return fail(errc::version_not_supported, "only HTTP/1.0 and HTTP/1.1 are supported");
  }

  bool te_other = false;
  int te_items = 0;
  int hosts = 0;
  for (const auto& f : head_.fields) {
    std::string_view name = f.name.in(base_);
    if (util::iequals(name, "host")) {
      ++hosts;
    } else if (util::iequals(name, "transfer-encoding")) {
      util::for_each_list_item(f.value.in(base_), [&](std::string_view item) {
        ++te_items;
        if (!util::iequals(item, "chunked")) te_other = true;
        return true;
      });
    } else if (kind_ == MessageKind::request && util::iequals(name, "expect")) {
      head_.expect_continue = util::iequals(util::trim_ows(f.value.in(base_)), "100-continue");
    }
  }
  // RFC 9112 §6.1: only chunked is understood; anything else cannot be re-framed.
  if ((parser_.flags & F_TRANSFER_ENCODING) && (te_other || te_items != 1)) {
    return fail(errc::not_implemented, "transfer coding other than chunked");
  }

  if (kind_ == MessageKind::request) {
    auto method = static_cast<llhttp_method_t>(parser_.method);
    head_.method = llhttp_method_name(method);
    if (method == HTTP_CONNECT) return fail(errc::not_implemented, "CONNECT is not supported");
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1; at most one in HTTP/1.0.
    if (hosts > 1) return fail(errc::bad_request, "more than one Host header");
    if (hosts == 0 && head_.version_minor >= 1) {
      return fail(errc::bad_request, "HTTP/1.1 request without a Host header");
    }
    // Upgrade is hop-by-hop and is removed; keep parsing the connection as plain HTTP.
    parser_.upgrade = 0;
    head_.has_body = head_.chunked || head_.content_length > 0;
  } else {
    head_.status = parser_.status_code;
    int s = head_.status;
    bool bodiless = no_body_ || (s >= 100 && s < 200) || s == 204 || s == 304;
    head_.has_body =
        !bodiless && (head_.chunked || !head_.has_content_length || head_.content_length > 0);
    // RFC 9112 §6.3: a response to HEAD, 1xx, 204 and 304 end at the head whatever their
    // Content-Length says; llhttp would otherwise wait for the announced body.
    if (bodiless) parser_.flags |= F_SKIPBODY;
  }
  paused_ = true;
  return HPE_PAUSED;
}

Parser::Result Parser::parse(const char* base, std::size_t begin, std::size_t end) {
  base_ = base;
  const char* start = base + begin;
  paused_ = false;
  bool was_head = head_done_;
  llhttp_errno_t rc = llhttp_execute(&parser_, start, end - begin);
  std::size_t consumed = end - begin;
  Event event = Event::need_more;
  if (rc == HPE_PAUSED) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - start);
    llhttp_resume(&parser_);
    if (!was_head && head_done_) {
      event = Event::head;
    } else if (paused_) {
      event = Event::message_done;
    } else {
      event = Event::body;
    }
  } else if (rc != HPE_OK) {
    // Our callbacks record their own reason; llhttp may report it as HPE_CB_* instead.
    if (!error_) {
      if (rc == HPE_INVALID_METHOD && kind_ == MessageKind::request) {
        // A well-formed token we do not know is "not implemented" (RFC 9110 §9.1).
        const char* p = start;
        while (p < base + end && is_tchar(*p)) ++p;
        bool token = p > start && (p == base + end || *p == ' ');
        fail(token ? errc::not_implemented : errc::bad_request,
             token ? "unknown request method" : "invalid request method");
      } else {
        fail(errc::bad_request, llhttp_get_error_reason(&parser_));
      }
    }
    return {Event::error, static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - start)};
  }
  if (!head_done_ || (event == Event::head && !was_head)) {
    head_bytes_ += consumed;
    if (head_bytes_ > limits_.max_head) {
      fail(kind_ == MessageKind::request ? errc::headers_too_large : errc::response_too_large,
           "message head is larger than the limit");
      return {Event::error, consumed};
    }
  }
  return {event, consumed};
}

Parser::Event Parser::finish() {
  llhttp_errno_t rc = llhttp_finish(&parser_);
  if (rc == HPE_OK || rc == HPE_PAUSED) {
    if (rc == HPE_PAUSED) llhttp_resume(&parser_);
    return head_done_ && paused_ ? Event::message_done : Event::error;
  }
  fail(errc::bad_request, "connection closed before the message was complete");
  return Event::error;
}

}  // namespace lb::http1
