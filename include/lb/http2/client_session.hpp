#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lb/http2/client_stream.hpp"
#include "lb/http2/frame_trace.hpp"

namespace lb::http2 {

// Flow-control windows the balancer opens to a backend: per stream it is the most one
// response may have buffered in the balancer before the client reads it; the connection
// window covers many streams so one slow client does not stall the others.
inline constexpr std::uint32_t kStreamWindow = 256 * 1024;
inline constexpr std::uint32_t kConnectionWindow = 16 * 1024 * 1024;

// The client side of one HTTP/2 connection to a backend, without I/O: bytes read from the
// backend go into receive(), bytes to send come out of take_output(). nghttp2 does the
// framing, HPACK, flow control, SETTINGS and PING. Streams are ClientStream objects owned by
// their users; this class only points at them while they are open. Runs on one loop.
class ClientSession {
 public:
  // `tracer` (nullable, not owned) gets every frame sent and received for --trace;
  // `label` names the connection there ("u3").
  ClientSession(FrameTracer* tracer, std::string label);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Notified whenever there may be new output (the connection's writer waits on it).
  void set_output_event(net::Event* e) { output_event_ = e; }

  // Starts `stream` as a new request with `fields` (pseudo-headers first). With `has_body`
  // the body follows through stream.send_body()/end_body(). Returns false when the session
  // cannot take a new stream (GOAWAY received, failed, or out of stream ids).
  bool submit(ClientStream& stream, std::span<const nghttp2_nv> fields, bool has_body);

  // Feeds bytes read from the backend. Returns false on a connection-level error, after
  // which failed() is true and every open stream has been failed with the reason.
  bool receive(std::span<const std::uint8_t> bytes);
  // The backend closed the connection or the read failed: every open stream fails.
  void connection_lost(std::string_view why);

  // Frames ready to send, serialized into `out` (appended) up to about `limit` bytes.
  // Returns false on an internal error (then failed()).
  bool take_output(std::string& out, std::size_t limit);
  bool want_write() const;

  // PING for keep-alive and liveness checks of an idle connection.
  void ping();
  // GOAWAY(NO_ERROR) before the balancer closes an idle connection.
  void shut_down();

  // The peer's first SETTINGS arrived: max_concurrent_streams() is the real value.
  bool ready() const { return settings_received_; }
  // No new stream may start here: GOAWAY received or sent, failed, or stream ids used up.
  bool draining() const;
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  // Streams submitted and not yet closed.
  std::size_t active_streams() const { return active_; }
  std::uint32_t max_concurrent_streams() const;
  // A PING was sent and its ACK has not come back.
  bool ping_outstanding() const { return ping_outstanding_; }

  // For ClientStream: the user has consumed (sent to the client) `n` bytes of stream id's
  // DATA; opens the windows again.
  void consume(std::int32_t stream_id, std::size_t n);
  // For ClientStream: more request body (or its end) is waiting to be sent.
  void resume(std::int32_t stream_id);
  // For ClientStream: the user gives up on the stream (RST_STREAM CANCEL) and forgets it.
  void cancel(ClientStream& stream);

 private:
  friend struct SessionCallbacks;

  void output_pending() {
    if (output_event_ != nullptr) output_event_->notify();
  }
  void fail_all(const std::string& why);
  void forget(ClientStream& stream);
  ClientStream* stream_of(std::int32_t id) const;

  nghttp2_session* session_ = nullptr;
  FrameTracer* tracer_;
  std::string label_;
  net::Event* output_event_ = nullptr;
  // Streams pointing here: open ones, and closed ones whose DATA is not consumed yet.
  std::vector<ClientStream*> attached_;
  std::size_t active_ = 0;
  bool settings_received_ = false;
  bool goaway_received_ = false;
  bool goaway_sent_ = false;
  bool ping_outstanding_ = false;
  std::int32_t goaway_last_stream_ = 0;
  std::string goaway_error_;  // a GOAWAY with an error code, in words
  std::string last_error_;    // nghttp2's last complaint about the backend's frames
  std::string failure_;
};

}  // namespace lb::http2
