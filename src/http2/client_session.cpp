#include "lb/http2/client_session.hpp"

#include <algorithm>
#include <charconv>

namespace lb::http2 {

namespace {

std::string_view view(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

// nghttp2's C callbacks, with access to the session's and streams' internals.
struct SessionCallbacks {
  static ClientSession& self(void* user) { return *static_cast<ClientSession*>(user); }

  static ClientStream* stream(nghttp2_session* s, std::int32_t id) {
    return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static void trace(ClientSession& cs, trace::Direction d, const nghttp2_frame* frame) {
    if (cs.tracer_ == nullptr) return;
    std::string_view label;
    if (ClientStream* st = cs.stream_of(frame->hd.stream_id)) label = st->trace_label;
    cs.tracer_->frame(d, *frame, label.empty() ? cs.label_ : label);
  }

  static int on_begin_headers(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    if (ClientSession& cs = self(user); cs.tracer_ != nullptr) cs.tracer_->begin_received_headers();
    ClientStream* st = stream(s, frame->hd.stream_id);
    if (st == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (st->status_ >= 200) {
      st->in_trailers_ = true;
    } else {  // the first head, or the final one after a 1xx: start over
      st->status_ = 0;
      st->fields_.clear();
      st->text_.clear();
      st->has_content_length_ = false;
    }
    return 0;
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
    ClientSession& cs = self(user);
    std::string_view n = view(name, namelen);
    std::string_view v = view(value, valuelen);
    if (cs.tracer_ != nullptr) cs.tracer_->add_received_header(n, v);
    ClientStream* st = stream(s, frame->hd.stream_id);
    if (st == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (st->in_trailers_) {
      st->add_field(n, v);
      st->trailers_.push_back(st->fields_.back());
      st->fields_.pop_back();
      return 0;
    }
    if (n == ":status") {
      // nghttp2 has checked it is three digits.
      std::from_chars(v.data(), v.data() + v.size(), st->status_);
      return 0;
    }
    if (n.starts_with(':')) return 0;
    if (n == "content-length") {
      std::uint64_t len = 0;
      auto r = std::from_chars(v.data(), v.data() + v.size(), len);
      if (r.ec == std::errc{} && r.ptr == v.data() + v.size()) {
        st->has_content_length_ = true;
        st->content_length_ = len;
      }
    }
    st->add_field(n, v);
    return 0;
  }

  static int on_frame_recv(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    ClientSession& cs = self(user);
    trace(cs, trace::Direction::received, frame);
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) cs.settings_received_ = true;
        return 0;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) cs.ping_outstanding_ = false;
        return 0;
      case NGHTTP2_GOAWAY:
        cs.goaway_received_ = true;
        cs.goaway_last_stream_ = frame->goaway.last_stream_id;
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
          cs.goaway_error_ = std::string("backend sent GOAWAY(") +
                             nghttp2_http2_strerror(frame->goaway.error_code) + ")";
        }
        return 0;
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        break;
      default:
        return 0;
    }
    ClientStream* st = stream(s, frame->hd.stream_id);
    if (st == nullptr) return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && st->status_ >= 200 &&
        st->state_ == ClientStream::State::open) {
      st->state_ = ClientStream::State::head;
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && st->status_ >= 200) {
      st->state_ = ClientStream::State::closed;
    }
    st->event.notify();
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    ClientSession& cs = self(user);
    trace(cs, trace::Direction::sent, frame);
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
      cs.ping_outstanding_ = true;
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* s, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void*) {
    ClientStream* st = stream(s, id);
    if (st == nullptr) {
      // Nobody wants it any more (cancelled): give the window back at once.
      nghttp2_session_consume(s, id, len);
      return 0;
    }
    st->body_.append(reinterpret_cast<const char*>(data), len);
    st->body_total_ += len;
    st->event.notify();
    return 0;
  }

  static int on_stream_close(nghttp2_session* s, std::int32_t id, std::uint32_t error_code,
                             void* user) {
    ClientSession& cs = self(user);
    ClientStream* st = stream(s, id);
    if (st == nullptr) return 0;
    nghttp2_session_set_stream_user_data(s, id, nullptr);
    --cs.active_;
    if (st->state_ != ClientStream::State::closed) {
      // Closed without a complete response: reset by the backend, refused by its GOAWAY,
      // or a protocol error nghttp2 found in what the backend sent.
      st->state_ = ClientStream::State::reset;
      st->reset_code_ =
          error_code == NGHTTP2_NO_ERROR ? std::uint32_t{NGHTTP2_INTERNAL_ERROR} : error_code;
      st->refused_by_goaway_ = cs.goaway_received_ && id > cs.goaway_last_stream_;
    }
    st->event.notify();
    return 0;
  }

  static ssize_t read_body(nghttp2_session* s, std::int32_t id, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source*, void*) {
    ClientStream* st = stream(s, id);
    if (st == nullptr) return NGHTTP2_ERR_DEFERRED;  // cancelled; its RST_STREAM is queued
    std::size_t n = std::min(length, st->unsent());
    if (n > 0) {
      std::copy_n(st->send_buf_.data() + st->send_pos_, n, buf);
      st->send_pos_ += n;
      if (st->send_pos_ == st->send_buf_.size()) {
        st->send_buf_.clear();
        st->send_pos_ = 0;
      }
      st->event.notify();
    }
    if (st->unsent() > 0) return static_cast<ssize_t>(n);
    if (!st->body_ended_) return n > 0 ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_DEFERRED};
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!st->send_trailers_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      st->trailer_nv_.clear();
      for (auto& [name, value] : st->send_trailers_) {
        st->trailer_nv_.push_back({reinterpret_cast<std::uint8_t*>(name.data()),
                                   reinterpret_cast<std::uint8_t*>(value.data()), name.size(),
                                   value.size(), NGHTTP2_NV_FLAG_NONE});
      }
      nghttp2_submit_trailer(s, id, st->trailer_nv_.data(), st->trailer_nv_.size());
    }
    return static_cast<ssize_t>(n);
  }

  static int on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* user) {
    self(user).last_error_.assign(msg, len);
    return 0;
  }
};

ClientSession::ClientSession(FrameTracer* tracer, std::string label)
    : tracer_(tracer), label_(std::move(label)) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, SessionCallbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, SessionCallbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, SessionCallbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, SessionCallbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, SessionCallbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, SessionCallbacks::on_stream_close);
  nghttp2_session_callbacks_set_error_callback2(cbs, SessionCallbacks::on_error);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows open only as the client takes the data: a slow client holds back its own
  // stream instead of making the balancer buffer the whole response.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

ClientSession::~ClientSession() {
  fail_all("the connection was closed");
  nghttp2_session_del(session_);
}

bool ClientSession::submit(ClientStream& stream, std::span<const nghttp2_nv> fields,
                           bool has_body) {
  if (draining()) return false;
  stream.reset_for_reuse();
  stream.has_body_ = has_body;
  nghttp2_data_provider provider{};
  provider.read_callback = SessionCallbacks::read_body;
  std::int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                           has_body ? &provider : nullptr, &stream);
  if (id < 0) return false;
  stream.id_ = id;
  stream.session_ = this;
  stream.state_ = ClientStream::State::open;
  attached_.push_back(&stream);
  ++active_;
  output_pending();
  return true;
}

bool ClientSession::receive(std::span<const std::uint8_t> bytes) {
  if (failed()) return false;
  ssize_t rv = nghttp2_session_mem_recv(session_, bytes.data(), bytes.size());
  if (rv < 0) {
    fail_all(std::string("HTTP/2 error from the backend: ") +
             (last_error_.empty() ? nghttp2_strerror(static_cast<int>(rv)) : last_error_));
    return false;
  }
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    // nghttp2 ended the session itself (a protocol error it answered with GOAWAY), or
    // GOAWAY left nothing to wait for.
    fail_all(!last_error_.empty()     ? "HTTP/2 protocol error from the backend: " + last_error_
             : !goaway_error_.empty() ? goaway_error_
                                      : std::string("the backend ended the HTTP/2 connection"));
    return false;
  }
  // nghttp2 answers a connection error with GOAWAY it has only queued, so want_write is
  // still set; it refuses new requests from then on, which nothing else here causes.
  if (!goaway_received_ && !goaway_sent_ &&
      nghttp2_session_get_next_stream_id(session_) <= INT32_MAX &&
      nghttp2_session_check_request_allowed(session_) == 0) {
    fail_all("HTTP/2 protocol error from the backend: " +
             (last_error_.empty() ? std::string("invalid frame") : last_error_));
    return false;
  }
  return true;
}

void ClientSession::connection_lost(std::string_view why) {
  if (!goaway_error_.empty()) {
    fail_all(goaway_error_ + ", then " + std::string(why));
  } else {
    fail_all(std::string(why));
  }
}

bool ClientSession::take_output(std::string& out, std::size_t limit) {
  if (failed()) return false;
  while (out.size() < limit) {
    const std::uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fail_all(std::string("HTTP/2 session error: ") + nghttp2_strerror(static_cast<int>(n)));
      return false;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return true;
}

bool ClientSession::want_write() const {
  return !failed() && nghttp2_session_want_write(session_) != 0;
}

void ClientSession::ping() {
  if (failed() || ping_outstanding_) return;
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
  output_pending();
}

void ClientSession::shut_down() {
  if (failed()) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  goaway_sent_ = true;
  output_pending();
}

bool ClientSession::draining() const {
  return failed() || goaway_received_ || goaway_sent_ ||
         nghttp2_session_check_request_allowed(session_) == 0;
}

std::uint32_t ClientSession::max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

void ClientSession::consume(std::int32_t stream_id, std::size_t n) {
  // Also counts for the connection window when the stream has closed meanwhile.
  nghttp2_session_consume(session_, stream_id, n);
  output_pending();
}

void ClientSession::resume(std::int32_t stream_id) {
  nghttp2_session_resume_data(session_, stream_id);
  output_pending();
}

void ClientSession::cancel(ClientStream& stream) {
  if (stream.state_ == ClientStream::State::open || stream.state_ == ClientStream::State::head) {
    if (!failed()) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id_, NGHTTP2_CANCEL);
    }
    nghttp2_session_set_stream_user_data(session_, stream.id_, nullptr);
    --active_;
    output_pending();
  }
  forget(stream);
}

void ClientSession::forget(ClientStream& stream) {
  std::size_t unconsumed = stream.body_.size() + stream.taken_;
  if (unconsumed > 0 && !failed()) consume(stream.id_, unconsumed);
  stream.body_.clear();
  stream.taken_ = 0;
  stream.session_ = nullptr;
  attached_.erase(std::remove(attached_.begin(), attached_.end(), &stream), attached_.end());
}

void ClientSession::fail_all(const std::string& why) {
  if (failure_.empty()) failure_ = why;
  for (ClientStream* st : attached_) {
    if (st->state_ == ClientStream::State::open || st->state_ == ClientStream::State::head) {
      st->state_ = ClientStream::State::failed;
      st->failure_ = failure_;
      // Above the last-stream-id of a GOAWAY the backend did not process it (RFC 9113 §6.8).
      st->refused_by_goaway_ = goaway_received_ && st->id_ > goaway_last_stream_;
      nghttp2_session_set_stream_user_data(session_, st->id_, nullptr);
    }
    st->session_ = nullptr;  // DATA already received stays readable
    st->event.notify();
  }
  attached_.clear();
  active_ = 0;
}

ClientStream* ClientSession::stream_of(std::int32_t id) const {
  if (id == 0) return nullptr;
  return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(session_, id));
}

}  // namespace lb::http2
