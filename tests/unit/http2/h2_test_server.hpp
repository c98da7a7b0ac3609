#pragma once

// For the http2 unit tests: a real nghttp2 *server* session in memory that plays the backend
// for a ClientSession. Bytes move between the two only in pump(), so a test decides exactly
// what the server says and when. Header-only because the unit test target globs *_test.cpp.

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/http2/client_session.hpp"

namespace lb::http2::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

// What the server saw of one stream, and what it still has to send on it.
struct ServerStream {
  Fields request;           // the request's header fields, pseudo-headers included
  Fields request_trailers;  // a second HEADERS block after the body
  std::string body;         // request DATA
  bool end_stream = false;  // the request was complete
  bool closed = false;      // nghttp2 closed the stream on the server side
  std::uint32_t close_code = 0;
  bool rst_received = false;
  std::uint32_t rst_code = 0;

  // Response body being sent: `out` from `out_pos`, then trailers or END_STREAM once done.
  std::string out;
  std::size_t out_pos = 0;
  bool out_done = false;
  Fields out_trailers;
  std::vector<nghttp2_nv> trailer_nv;
};

// One frame the server received.
struct ServerFrame {
  std::uint8_t type = 0;
  std::int32_t stream_id = 0;
  std::uint8_t flags = 0;
  std::uint32_t error_code = 0;        // RST_STREAM and GOAWAY
  std::int32_t last_stream_id = 0;     // GOAWAY
  std::uint32_t window_increment = 0;  // WINDOW_UPDATE
};

class H2TestServer {
 public:
  // Sends `settings` as the server's first SETTINGS once constructed (they go out with the
  // first pump()).
  explicit H2TestServer(std::vector<nghttp2_settings_entry> settings = {}) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~H2TestServer() { nghttp2_session_del(session_); }
  H2TestServer(const H2TestServer&) = delete;
  H2TestServer& operator=(const H2TestServer&) = delete;

  nghttp2_session* session() { return session_; }

  // Moves bytes both ways until neither side has anything to send. Returns false when
  // ClientSession::receive() or take_output() did (the remaining bytes are dropped).
  bool pump(ClientSession& client) {
    for (int round = 0; round < 10000; ++round) {
      std::string to_server;
      if (!client.take_output(to_server, 1 << 20)) return false;
      if (!to_server.empty()) {
        client_bytes_ += to_server.size();
        auto rv = nghttp2_session_mem_recv(
            session_, reinterpret_cast<const std::uint8_t*>(to_server.data()), to_server.size());
        EXPECT_EQ(rv, static_cast<ssize_t>(to_server.size())) << nghttp2_strerror(rv);
      }
      std::string to_client = take_output();
      if (!to_client.empty()) {
        if (!client.receive(std::span(reinterpret_cast<const std::uint8_t*>(to_client.data()),
                                      to_client.size()))) {
          return false;
        }
      }
      if (to_server.empty() && to_client.empty()) return true;
    }
    ADD_FAILURE() << "pump() did not settle";
    return false;
  }

  // Everything the server session wants to send now.
  std::string take_output() {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      EXPECT_GE(n, 0) << nghttp2_strerror(static_cast<int>(n));
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return out;
  }

  // Submits the response head; with `end_stream` nothing follows. Otherwise the body comes
  // from send_data() (already queued `body` first) and ends with finish().
  void respond(std::int32_t id, int status, const Fields& fields, bool end_stream,
               std::string body = {}) {
    ServerStream& st = streams[id];
    st.out = std::move(body);
    st.out_pos = 0;
    st.out_done = false;
    Fields all = {{":status", std::to_string(status)}};
    all.insert(all.end(), fields.begin(), fields.end());
    std::vector<nghttp2_nv> nv = to_nv(all);
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = read_body;
    int rv = nghttp2_submit_response(session_, id, nv.data(), nv.size(),
                                     end_stream ? nullptr : &provider);
    EXPECT_EQ(rv, 0) << nghttp2_strerror(rv);
  }

  // A complete response: head, `body`, then `trailers` (or END_STREAM on the last DATA).
  void respond_all(std::int32_t id, int status, const Fields& fields, std::string body,
                   Fields trailers = {}) {
    if (body.empty() && trailers.empty()) {
      respond(id, status, fields, true);
      return;
    }
    respond(id, status, fields, false, std::move(body));
    finish(id, std::move(trailers));
  }

  // An informational (1xx) head before the final one.
  void informational(std::int32_t id, int status, const Fields& fields) {
    Fields all = {{":status", std::to_string(status)}};
    all.insert(all.end(), fields.begin(), fields.end());
    std::vector<nghttp2_nv> nv = to_nv(all);
    int rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, id, nullptr, nv.data(), nv.size(),
                                    nullptr);
    EXPECT_EQ(rv, 0) << nghttp2_strerror(rv);
  }

  void send_data(std::int32_t id, std::string_view bytes) {
    streams[id].out.append(bytes);
    nghttp2_session_resume_data(session_, id);
  }
  // Ends the response body: `trailers` as a last HEADERS, else END_STREAM on DATA.
  void finish(std::int32_t id, Fields trailers = {}) {
    ServerStream& st = streams[id];
    st.out_done = true;
    st.out_trailers = std::move(trailers);
    nghttp2_session_resume_data(session_, id);
  }

  void reset(std::int32_t id, std::uint32_t code) {
    int rv = nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
    EXPECT_EQ(rv, 0) << nghttp2_strerror(rv);
  }
  void goaway(std::int32_t last_stream_id, std::uint32_t code) {
    int rv = nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_id, code, nullptr, 0);
    EXPECT_EQ(rv, 0) << nghttp2_strerror(rv);
  }

  // Received frames of `type` (all of them with type 0xff).
  std::vector<ServerFrame> frames_of(std::uint8_t type) const {
    std::vector<ServerFrame> out;
    std::copy_if(frames.begin(), frames.end(), std::back_inserter(out),
                 [&](const ServerFrame& f) { return type == 0xff || f.type == type; });
    return out;
  }

  std::map<std::int32_t, ServerStream> streams;
  std::vector<ServerFrame> frames;
  std::size_t client_bytes_ = 0;  // bytes the client sent in total

 private:
  static H2TestServer& self(void* user) { return *static_cast<H2TestServer*>(user); }

  static std::vector<nghttp2_nv> to_nv(const Fields& fields) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [name, value] : fields) {
      nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS) self(user).streams[frame->hd.stream_id];
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
    ServerStream& st = self(user).streams[frame->hd.stream_id];
    Fields& into = frame->headers.cat == NGHTTP2_HCAT_HEADERS ? st.request_trailers : st.request;
    into.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                      std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2TestServer& s = self(user);
    ServerFrame f;
    f.type = frame->hd.type;
    f.stream_id = frame->hd.stream_id;
    f.flags = frame->hd.flags;
    if (f.type == NGHTTP2_RST_STREAM) {
      f.error_code = frame->rst_stream.error_code;
      ServerStream& st = s.streams[f.stream_id];
      st.rst_received = true;
      st.rst_code = f.error_code;
    } else if (f.type == NGHTTP2_GOAWAY) {
      f.error_code = frame->goaway.error_code;
      f.last_stream_id = frame->goaway.last_stream_id;
    } else if (f.type == NGHTTP2_WINDOW_UPDATE) {
      f.window_increment = static_cast<std::uint32_t>(frame->window_update.window_size_increment);
    }
    if ((f.type == NGHTTP2_HEADERS || f.type == NGHTTP2_DATA) &&
        (f.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      s.streams[f.stream_id].end_stream = true;
    }
    s.frames.push_back(f);
    return 0;
  }

  static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void* user) {
    self(user).streams[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user) {
    ServerStream& st = self(user).streams[id];
    st.closed = true;
    st.close_code = code;
    return 0;
  }

  static ssize_t read_body(nghttp2_session* s, std::int32_t id, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                           void* user) {
    ServerStream& st = self(user).streams[id];
    std::size_t n = std::min(length, st.out.size() - st.out_pos);
    std::copy_n(st.out.data() + st.out_pos, n, buf);
    st.out_pos += n;
    if (st.out_pos < st.out.size()) return static_cast<ssize_t>(n);
    if (!st.out_done) return n > 0 ? static_cast<ssize_t>(n) : ssize_t{NGHTTP2_ERR_DEFERRED};
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!st.out_trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      st.trailer_nv = to_nv(st.out_trailers);
      nghttp2_submit_trailer(s, id, st.trailer_nv.data(), st.trailer_nv.size());
    }
    return static_cast<ssize_t>(n);
  }

  nghttp2_session* session_ = nullptr;
};

// The request fields of a GET for `path`, as build_request would make them.
inline std::vector<nghttp2_nv> get_fields(const char* path = "/") {
  auto nv = [](const char* n, const char* v) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(n)),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(v)),
                      std::char_traits<char>::length(n), std::char_traits<char>::length(v),
                      NGHTTP2_NV_FLAG_NONE};
  };
  return {nv(":method", "GET"), nv(":scheme", "http"), nv(":authority", "backend"),
          nv(":path", path)};
}

inline std::vector<nghttp2_nv> post_fields(const char* path = "/upload") {
  auto fields = get_fields(path);
  fields[0].value = reinterpret_cast<std::uint8_t*>(const_cast<char*>("POST"));
  fields[0].valuelen = 4;
  return fields;
}

}  // namespace lb::http2::test
