#include "h2_connection.hpp"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>

#include "socket_end.hpp"

namespace lb::fault {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBuffer = 16 * 1024;
// nghttp2's output is gathered into writes of about this size.
constexpr std::size_t kWriteChunk = 64 * 1024;
// Header fields and trailers of one request (RFC 9113 §6.5.2 counting), announced as
// SETTINGS_MAX_HEADER_LIST_SIZE; a larger block resets the stream.
constexpr std::uint32_t kMaxHeaderList = 64 * 1024;
// RFC 9113 §6.9.2: the initial connection window, which SETTINGS cannot change.
constexpr std::uint32_t kDefaultWindow = 65535;

}  // namespace

asio::awaitable<void> serve_h2(FaultServer& srv, std::unique_ptr<lb::net::Stream> stream,
                               std::string peer, std::string initial) {
  auto conn = std::make_shared<H2Connection>(srv, std::move(stream), std::move(peer));
  co_await conn->run(std::move(initial));
}

asio::awaitable<void> H2Connection::run(std::string initial) {
  if (!start_session()) {
    std::error_code ec;
    stream_->socket().close(ec);
    co_return;
  }
  srv_.stats.h2_connection_opened();
  srv_.log->debug("{}: HTTP/2", peer_);
  receive(initial);
  if (input_done_) {
    reader_done_ = true;
  } else {
    asio::co_spawn(stream_->get_executor(), read_loop(shared_from_this()), asio::detached);
  }
  co_await write_loop();
  co_await stop_reading();
  closed_ = true;
  for (auto& [id, s] : streams_) s->timer.cancel();
  co_await finish();
}

bool H2Connection::start_session() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  nghttp2_session_callbacks_set_error_callback2(cbs, on_error);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  // Request bodies are acknowledged by us (nghttp2_session_consume*), so that
  // /h2/slow-window can withhold the credit of one stream and only that one.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  const Settings& s = srv_.decider.settings();
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s.h2_max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s.h2_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxHeaderList},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, std::size(iv)) != 0) {
    return false;
  }
  // The connection window is not part of SETTINGS; a large stream window would be
  // pointless behind the default 64 KiB one.
  if (s.h2_window > kDefaultWindow) {
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<std::int32_t>(s.h2_window));
  }
  return true;
}

asio::awaitable<void> H2Connection::read_loop(std::shared_ptr<H2Connection> self) {
  co_await self->read_input();
}

asio::awaitable<void> H2Connection::read_input() {
  std::array<char, kReadBuffer> buf;
  for (;;) {
    auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buf), kToken);
    if (stopping_) break;
    if (ec || n == 0) {
      peer_error_ = ec && ec != asio::error::eof;
      input_done_ = true;
      break;
    }
    receive({buf.data(), n});
    if (input_done_) break;
  }
  reader_done_ = true;
  wake();
  reader_exit_.cancel();
}

void H2Connection::receive(std::string_view bytes) {
  if (bytes.empty()) return;
  ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) {
    // Not HTTP/2 (a bad preface) or a fatal error; nghttp2 may have queued a GOAWAY.
    srv_.log->debug("{}: HTTP/2 input: {}", peer_, nghttp2_strerror(static_cast<int>(rv)));
    input_done_ = true;
  }
  start_ready_streams();
  wake();
}

asio::awaitable<void> H2Connection::stop_reading() {
  stopping_ = true;
  if (reader_done_) co_return;
  std::error_code ec;
  stream_->socket().cancel(ec);
  while (!reader_done_) {
    reader_exit_.expires_at(Clock::time_point::max());
    co_await reader_exit_.async_wait(kToken);
  }
}

void H2Connection::wake() {
  wake_pending_ = true;
  wake_.cancel();
}

asio::awaitable<void> H2Connection::write_loop() {
  for (;;) {
    wake_pending_ = false;
    bool ok = co_await flush();
    if (!ok) {
      if (end_ == End::none) end_ = End::peer;
      co_return;
    }
    if (end_ != End::none) co_return;
    if (input_done_) {
      end_ = End::peer;
      co_return;
    }
    // nghttp2's word for "done": our GOAWAY is out and no stream is left.
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      end_ = End::graceful;
      co_return;
    }
    if (wake_pending_) continue;
    wake_.expires_at(Clock::time_point::max());
    co_await wake_.async_wait(kToken);
  }
}

asio::awaitable<bool> H2Connection::flush() {
  for (;;) {
    out_.clear();
    while (!stop_output_ && out_.size() < kWriteChunk) {
      const std::uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        srv_.log->debug("{}: HTTP/2 output: {}", peer_, nghttp2_strerror(static_cast<int>(n)));
        input_done_ = true;
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out_.empty()) co_return true;
    auto [ec, written] = co_await asio::async_write(*stream_, asio::buffer(out_), kToken);
    if (ec) {
      io_failed_ = true;
      co_return false;
    }
    if (end_ != End::none) co_return true;
  }
}

void H2Connection::end(End how, std::string bytes) {
  if (end_ != End::none) return;
  end_ = how;
  end_bytes_ = std::move(bytes);
  wake();
}

asio::awaitable<void> H2Connection::finish() {
  std::error_code ec;
  switch (end_) {
    case End::rst:
      co_await reset_connection(*stream_);
      break;
    case End::raw: {
      auto [wec, n] = co_await asio::async_write(*stream_, asio::buffer(end_bytes_), kToken);
      if (wec) io_failed_ = true;
      co_await close_gracefully(*stream_, !io_failed_);
      break;
    }
    case End::peer:
      if (peer_error_ || io_failed_) break;
      co_await close_gracefully(*stream_, true);
      break;
    default:
      co_await close_gracefully(*stream_, !io_failed_);
      break;
  }
  stream_->socket().close(ec);
}

int H2Connection::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
  auto& c = self(user);
  if (hd->type == NGHTTP2_HEADERS && hd->stream_id > c.max_stream_id_) {
    c.max_stream_id_ = hd->stream_id;
    if (c.is_refused(hd->stream_id)) c.srv_.stats.h2_stream_refused();
  }
  return 0;
}

int H2Connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& c = self(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  std::int32_t id = frame->hd.stream_id;
  auto s = std::make_shared<H2Stream>(c.stream_->get_executor(), id);
  // RFC 9113 §6.8: above the last-stream-id of a GOAWAY already decided: not processed.
  s->refused = c.is_refused(id);
  if (!s->refused) c.srv_.stats.h2_stream_opened(++c.open_);
  c.streams_[id] = std::move(s);
  return 0;
}

int H2Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                            std::uint8_t, void* user) {
  auto& c = self(user);
  H2Stream* s = c.find(frame->hd.stream_id);
  if (s == nullptr || s->refused) return 0;
  s->header_bytes += namelen + valuelen + 32;
  // nghttp2 resets the stream (INTERNAL_ERROR).
  if (s->header_bytes > kMaxHeaderList) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  std::string n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (n == ":method") s->method = v;
    if (n == ":path") s->target = v;
    s->fields.emplace_back(std::move(n), std::move(v));
  } else {
    s->trailers.emplace_back(std::move(n), std::move(v));
  }
  return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& c = self(user);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  auto it = c.streams_.find(frame->hd.stream_id);
  if (it == c.streams_.end() || it->second->refused) return 0;
  H2Stream& s = *it->second;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    c.request_headers(s);
  }
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && !s.complete) {
    s.complete = true;
    c.ready_.push_back(it->second);
  }
  return 0;
}

int H2Connection::on_data_chunk_recv(nghttp2_session*, std::uint8_t, std::int32_t id,
                                     const std::uint8_t* data, std::size_t len, void* user) {
  auto& c = self(user);
  H2Stream* s = c.find(id);
  bool live = s != nullptr && !s->refused;
  if (live && !s->control && s->plan.slow_window) {
    // /h2/slow-window: the connection gets its credit back, this stream never does.
    nghttp2_session_consume_connection(c.session_, len);
  } else {
    nghttp2_session_consume(c.session_, id, len);
  }
  if (!live) return 0;
  if (!s->control) c.srv_.stats.add_received(len);
  if (s->body_limit > 0 && !s->body_too_large) {
    if (s->body.size() + len > s->body_limit) {
      s->body_too_large = true;
      std::string().swap(s->body);
    } else {
      s->body.append(reinterpret_cast<const char*>(data), len);
    }
  }
  return 0;
}

int H2Connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
  auto& c = self(user);
  auto it = c.streams_.find(id);
  if (it == c.streams_.end()) return 0;
  // A reply still running keeps its own reference; it sees `closed` and stops.
  auto s = std::move(it->second);
  c.streams_.erase(it);
  s->closed = true;
  s->timer.cancel();
  if (!s->refused) --c.open_;
  return 0;
}

int H2Connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto& c = self(user);
  switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
      c.srv_.stats.h2_reset_sent();
      break;
    case NGHTTP2_GOAWAY:
      c.srv_.stats.h2_goaway_sent();
      break;
    case NGHTTP2_HEADERS: {
      H2Stream* s = c.find(frame->hd.stream_id);
      if (s == nullptr || s->after_headers == AfterHeaders::nothing) break;
      AfterHeaders what = s->after_headers;
      s->after_headers = AfterHeaders::nothing;
      if (what == AfterHeaders::rst_stream) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, s->plan.h2_code);
      } else {
        // Nothing may follow these HEADERS but the malformed frame.
        c.stop_output_ = true;
        c.end(End::raw, malformed_data_frame(s->id));
      }
      break;
    }
    default:
      break;
  }
  return 0;
}

int H2Connection::on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* user) {
  auto& c = self(user);
  c.srv_.log->debug("{}: HTTP/2: {}", c.peer_, std::string_view(msg, len));
  return 0;
}

}  // namespace lb::fault
