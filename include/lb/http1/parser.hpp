#pragma once

#include <llhttp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "lb/http1/errc.hpp"
#include "lb/http1/head.hpp"

namespace lb::http1 {

enum class MessageKind { request, response };

// How the body is written out while it is parsed.
enum class BodyOutput {
  raw,      // body bytes only (Content-Length, close-delimited, or de-chunked for HTTP/1.0)
  chunked,  // chunked framing with trailers: the input's chunks, or one chunk per piece
  data,     // body bytes only, trailer fields collected in trailers() (for HTTP/2 upstream)
};

struct ParserLimits {
  std::size_t max_request_line = 8 * 1024;  // target bytes -> errc::uri_too_long
  std::size_t max_head = 32 * 1024;         // whole head -> errc::headers_too_large
};

// Incremental HTTP/1.x parser over llhttp for one connection. The head is collected as
// spans into the caller's buffer; the body is produced as a list of byte ranges (pointing
// into the input, or into small framing bytes the parser owns) ready for a gather write, so
// body bytes are never copied. Not movable: llhttp keeps a pointer to it.
class Parser {
 public:
  enum class Event {
    need_more,     // everything consumed; read more input
    head,          // the head is complete (pause: inspect head(), then call set_body_output)
    body,          // output() holds body bytes to forward (framing buffer filled up)
    message_done,  // the message is complete; the next one starts at the returned offset
    error,         // error() says why; the connection must be closed after replying
  };

  struct Result {
    Event event;
    std::size_t consumed;  // bytes of the input consumed by this call
  };

  Parser(MessageKind kind, ParserLimits limits);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Prepares for the next message. `no_body` is for responses to HEAD requests (and only
  // used with MessageKind::response).
  void start(bool no_body = false);

  // Parses input = [base + begin, base + end). Spans in head() are offsets from `base`.
  // Between calls while the head is incomplete, the caller may only append to the buffer
  // (or grow it); once the head is complete, input pointers in output() stay valid until
  // the caller reuses that part of the buffer.
  Result parse(const char* base, std::size_t begin, std::size_t end);

  // The peer closed: completes a close-delimited body. Returns message_done or error.
  Event finish();

  // After Event::head: choose how the body is written out.
  void set_body_output(BodyOutput out) { body_output_ = out; }

  const Head& head() const { return head_; }
  bool head_complete() const { return head_done_; }
  // Body bytes (and framing) produced since the last clear_output().
  std::span<const std::span<const char>> output() const { return output_; }
  std::uint64_t output_bytes() const { return output_bytes_; }
  void clear_output();
  // Body bytes parsed so far in this message (payload only, without framing).
  std::uint64_t body_bytes() const { return body_bytes_; }
  // With BodyOutput::data: the trailer fields of a chunked body, as received.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }
  // True when the body ends at connection close (responses without length).
  bool body_until_eof() const;
  // After message_done: whether the connection may carry another message.
  bool keep_alive() const { return keep_alive_; }

  std::error_code error() const { return error_; }
  // A short human-readable reason for error() (static storage).
  const char* error_reason() const { return error_reason_; }

 private:
  friend struct ParserCallbacks;

  int fail(errc e, const char* reason);
  void emit_input(const char* at, std::size_t len);
  void emit_framing(std::string_view bytes);
  void emit_chunk_size(std::size_t n);
  int on_headers_complete();
  int on_header_field(const char* at, std::size_t len);
  int on_header_value(const char* at, std::size_t len);
  int check_field(const HeaderField& f);
  int collect_trailer(const char* at, std::size_t len, bool value);

  llhttp_t parser_;
  MessageKind kind_;
  ParserLimits limits_;
  const char* base_ = nullptr;
  std::size_t head_bytes_ = 0;

  Head head_;
  bool head_done_ = false;
  bool no_body_ = false;
  bool in_value_ = false;
  bool keep_alive_ = true;
  bool paused_ = false;
  BodyOutput body_output_ = BodyOutput::raw;

  std::vector<std::span<const char>> output_;
  std::uint64_t output_bytes_ = 0;
  std::uint64_t body_bytes_ = 0;
  // Framing bytes (chunk sizes, CRLFs, trailer punctuation); fixed so spans stay valid.
  std::array<char, 4096> framing_{};
  std::size_t framing_used_ = 0;

  std::vector<std::pair<std::string, std::string>> trailers_;
  std::size_t trailer_bytes_ = 0;
  bool trailer_value_ = false;

  std::error_code error_;
  const char* error_reason_ = "";
};

}  // namespace lb::http1
