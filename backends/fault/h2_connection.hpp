#pragma once

// One fault_backend HTTP/2 connection (RFC 9113), server side, driven by nghttp2 on the
// server's single loop. Every stream is routed, decided and planned as an HTTP/1.1 request
// is (route_request, Decider, plan_reply) and served concurrently with the others; the
// HTTP/2-only faults (/h2/rst-stream, /h2/goaway, h2_goaway_after, /h2/slow-window) and
// the HTTP/2 forms of the HTTP/1.1 faults are carried out here. See README.md,
// "fault_backend over HTTP/2". h2_connection.cpp holds the session and its I/O,
// h2_reply.cpp how each stream is answered.

#include <nghttp2/nghttp2.h>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fault_server.hpp"
#include "h2_stream.hpp"
#include "lb/net/stream.hpp"

namespace lb::fault {

// Serves `stream` (TLS already established, if any) until the connection ends, and closes
// it. `initial` holds bytes already read from it (they start with the client connection
// preface); `peer` names the client in logs. Streams still waiting when the connection ends
// finish on their own soon after.
asio::awaitable<void> serve_h2(FaultServer& srv, std::unique_ptr<lb::net::Stream> stream,
                               std::string peer, std::string initial);

// The connection behind serve_h2. Its nghttp2 callbacks run inside mem_recv and mem_send;
// replies run as coroutines of their own, each holding the connection (shared_from_this),
// so it lives until the last of them has stopped.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  H2Connection(FaultServer& srv, std::unique_ptr<lb::net::Stream> stream, std::string peer)
      : srv_(srv),
        stream_(std::move(stream)),
        peer_(std::move(peer)),
        wake_(stream_->get_executor()),
        reader_exit_(stream_->get_executor()) {}
  ~H2Connection() { nghttp2_session_del(session_); }
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Runs the session on the stream until the connection ends, then closes it (see
  // serve_h2). The object must be owned by a shared_ptr: replies hold references to it.
  asio::awaitable<void> run(std::string initial);

 private:
  // How the connection ends.
  enum class End {
    none,      // it goes on
    graceful,  // our GOAWAY went out and every stream is done: close_notify (TLS), FIN
    peer,      // the client closed, its input was not HTTP/2, or a write failed
    fin,       // /close: close_notify (TLS) and FIN, no GOAWAY
    rst,       // /reset: TCP RST
    raw,       // /garbage, /bad-chunk: end_bytes_ written outside any framing, then FIN
  };

  // --- session set-up ---------------------------------------------------------------------

  bool start_session();

  // --- input ------------------------------------------------------------------------------

  static asio::awaitable<void> read_loop(std::shared_ptr<H2Connection> self);

  asio::awaitable<void> read_input();

  // Feeds client bytes to nghttp2, then starts the replies of the requests they completed.
  void receive(std::string_view bytes);

  // Stops the reader (it may be waiting for input) and waits until it has returned.
  asio::awaitable<void> stop_reading();

  // --- output -----------------------------------------------------------------------------

  void wake();

  // Writes what nghttp2 has to send, whenever it has some, until the connection must end.
  asio::awaitable<void> write_loop();

  // Everything nghttp2 can send now; once the connection is to end, only one more write of
  // what was pending (the server's SETTINGS, replies already submitted), and nothing after
  // the frame that stop_output_ names. False when a write failed.
  asio::awaitable<bool> flush();

  // Asks for the connection to end as `how`; the first request wins.
  void end(End how, std::string bytes = {});

  asio::awaitable<void> finish();

  // --- nghttp2 callbacks (they run inside mem_recv and mem_send) --------------------------

  static H2Connection& self(void* user) { return *static_cast<H2Connection*>(user); }

  H2Stream* find(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  bool is_refused(std::int32_t id) const { return goaway_last_id_ >= 0 && id > goaway_last_id_; }

  // Every new stream's first HEADERS frame comes here, also one nghttp2 then ignores because
  // our GOAWAY was sent: that is where refused streams are counted.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user);

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user);

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);

  static int on_data_chunk_recv(nghttp2_session*, std::uint8_t, std::int32_t id,
                                const std::uint8_t* data, std::size_t len, void* user);

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user);

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user);

  static int on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* user);

  // --- requests ---------------------------------------------------------------------------

  // The request headers of `s` are complete: routed, counted and decided now (as an
  // HTTP/1.1 request is once its head is read), before its body.
  void request_headers(H2Stream& s);

  // RFC 9113 §6.8: GOAWAY(NO_ERROR) with `last` as last-stream-id; the streams up to it are
  // answered, the ones above it are left unprocessed; once all are done the connection ends.
  void send_goaway(std::int32_t last);

  void start_ready_streams();

  static asio::awaitable<void> reply(std::shared_ptr<H2Connection> conn,
                                     std::shared_ptr<H2Stream> s);

  // --- replies ----------------------------------------------------------------------------

  bool alive(const H2Stream& s) const { return !s.closed && !closed_ && end_ == End::none; }

  // Waits `ms` (cut short when the stream or the connection closes); whether the reply may
  // go on.
  asio::awaitable<bool> pause(H2Stream& s, std::uint32_t ms);

  void submit(H2Stream& s, const std::vector<Field>& fields, bool with_body);

  // HEADERS without END_STREAM; `then` happens once they are sent.
  void submit_headers_only(H2Stream& s, const std::vector<Field>& fields, AfterHeaders then);

  std::string echo_json(H2Stream& s);

  asio::awaitable<void> answer(H2Stream& s);

  void send_text(H2Stream& s, bool head);

  // /bytes, /stream (no content-length; DATA frames end at chunk_size multiples),
  // /truncate (content-length L, S bytes, END_STREAM) and /reset-mid-body (the same, then
  // RST_STREAM(INTERNAL_ERROR) instead of END_STREAM).
  void send_generated(H2Stream& s, bool head);

  // Content-length N; the '*' bytes become available in min(N, 1000) even pieces, the last
  // at spread_ms (as over HTTP/1.1).
  asio::awaitable<void> send_drip(H2Stream& s, bool head);

  void answer_control(H2Stream& s);

  FaultServer& srv_;
  std::unique_ptr<lb::net::Stream> stream_;
  std::string peer_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<H2Stream>> streams_;  // open streams
  std::vector<std::shared_ptr<H2Stream>> ready_;  // requests completed by the latest input
  std::uint64_t open_ = 0;                        // open streams, refused ones excluded
  std::uint64_t streams_received_ = 0;            // accepted streams so far
  std::int32_t max_stream_id_ = 0;                // highest stream that sent HEADERS
  std::int32_t goaway_last_id_ = -1;              // our GOAWAY's last-stream-id; -1 = none
  asio::steady_timer wake_;                       // the writer waits here for output
  bool wake_pending_ = false;                     // wake() since the writer last looked
  asio::steady_timer reader_exit_;                // the reader's end is signalled here
  bool reader_done_ = false;
  bool stopping_ = false;     // the reader is being stopped
  bool input_done_ = false;   // no more input will be fed to nghttp2
  bool peer_error_ = false;   // the last read failed (a reset, not a FIN)
  bool io_failed_ = false;    // a write failed: no close_notify
  bool closed_ = false;       // the connection is over; replies still waiting stop
  bool stop_output_ = false;  // nghttp2's output must not go out any more
  End end_ = End::none;
  std::string end_bytes_;  // End::raw
  std::string out_;        // the write in progress
};

}  // namespace lb::fault
