#pragma once

#include <nghttp2/nghttp2.h>

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lb/net/event.hpp"

namespace lb::http2 {

class ClientSession;

// A header or trailer field of a response, as offsets into ClientStream's text.
struct FieldRef {
  std::uint32_t name = 0;
  std::uint32_t name_len = 0;
  std::uint32_t value = 0;
  std::uint32_t value_len = 0;
};

// One request/response exchange on an HTTP/2 connection, seen from the request's side: the
// response head, DATA not yet passed on, trailers and how the stream ended, plus the
// request body still to be sent. Owned by the proxy session serving the request (reused
// for its next request); the ClientSession points at it while the stream is open and
// notifies `event` on every change.
class ClientStream {
 public:
  enum class State {
    idle,    // not submitted
    open,    // submitted; response head not complete
    head,    // final response head received; body may follow
    closed,  // the backend ended the stream (END_STREAM); body and trailers complete
    reset,   // RST_STREAM from the backend (or refused by its GOAWAY): reset_code()
    failed,  // the connection failed: failure() says why
  };

  explicit ClientStream(const asio::any_io_executor& ex) : event(ex) {}
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  // Forgets the previous exchange (cancelling it if still open) before the next submit.
  void reset_for_reuse();

  State state() const { return state_; }
  bool head_received() const { return status_ != 0; }
  // Nothing of the request was processed by the backend (REFUSED_STREAM, or above the
  // last-stream-id of a GOAWAY, RFC 9113 §8.7): it may be retried whatever the method.
  bool refused() const;
  std::uint32_t reset_code() const { return reset_code_; }
  const std::string& failure() const { return failure_; }
  std::int32_t id() const { return id_; }

  int status() const { return status_; }
  std::string_view text(std::uint32_t off, std::uint32_t len) const {
    return {text_.data() + off, len};
  }
  const std::vector<FieldRef>& fields() const { return fields_; }
  const std::vector<FieldRef>& trailers() const { return trailers_; }
  // The response's content-length when it sent one.
  bool has_content_length() const { return has_content_length_; }
  std::uint64_t content_length() const { return content_length_; }

  // DATA received and not yet taken.
  std::string_view body() const { return body_; }
  // Moves the DATA received so far into `out` (replacing its content; buffers are swapped,
  // so `out` stays valid while more DATA arrives). consume() then opens the flow-control
  // windows for what was taken, once it has been passed on.
  void take_body(std::string& out);
  void consume();
  std::uint64_t body_bytes() const { return body_total_; }

  // Request body: queues bytes (copied) to send; the caller waits while unsent() is large.
  void send_body(std::string_view bytes);
  // The request body is complete; `trailers` (lower-case names) follow it when not empty.
  void end_body(std::vector<std::pair<std::string, std::string>> trailers = {});
  std::size_t unsent() const { return send_buf_.size() - send_pos_; }
  bool body_sent() const { return body_ended_ && unsent() == 0; }

  // Gives up on the exchange: RST_STREAM(CANCEL) if it is still open.
  void cancel();

  // --trace label of the request ("c7"), shown on this stream's frames.
  std::string trace_label;
  // Woken on every change of the state above; one waiter (the proxy session).
  net::Event event;

 private:
  friend class ClientSession;
  friend struct SessionCallbacks;

  void add_field(std::string_view name, std::string_view value);

  ClientSession* session_ = nullptr;
  std::int32_t id_ = 0;
  State state_ = State::idle;
  std::uint32_t reset_code_ = 0;
  bool refused_by_goaway_ = false;
  std::string failure_;

  int status_ = 0;
  bool in_trailers_ = false;
  std::string text_;  // names and values of fields_ and trailers_
  std::vector<FieldRef> fields_;
  std::vector<FieldRef> trailers_;
  bool has_content_length_ = false;
  std::uint64_t content_length_ = 0;
  std::string body_;
  std::size_t taken_ = 0;  // taken and not yet consumed
  std::uint64_t body_total_ = 0;

  std::string send_buf_;
  std::size_t send_pos_ = 0;
  bool has_body_ = false;
  bool body_ended_ = false;
  std::vector<std::pair<std::string, std::string>> send_trailers_;
  std::vector<nghttp2_nv> trailer_nv_;
};

}  // namespace lb::http2
