#include "lb/http2/client_session.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "http2/h2_test_server.hpp"

namespace lb::http2 {
namespace {

using test::Fields;
using test::H2TestServer;
using State = ClientStream::State;

Fields fields_of(const ClientStream& st, const std::vector<FieldRef>& refs) {
  Fields out;
  for (const auto& r : refs) {
    out.emplace_back(st.text(r.name, r.name_len), st.text(r.value, r.value_len));
  }
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A pattern that makes misplaced or lost bytes visible.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class ClientSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.pump(client));
    ASSERT_TRUE(client.ready());
  }

  // Submits a GET on `st` and delivers it to the server.
  void get(ClientStream& st, const char* path = "/") {
    auto req = test::get_fields(path);
    ASSERT_TRUE(client.submit(st, req, false));
    ASSERT_TRUE(server.pump(client));
    ASSERT_TRUE(server.streams.count(st.id())) << "the server did not see the request";
  }

  asio::io_context io;
  H2TestServer server;
  ClientSession client{nullptr, "u1"};
};

TEST(ClientSessionSetup, ReadyOnlyAfterTheServersSettings) {
  H2TestServer server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 7}});
  ClientSession client(nullptr, "u1");
  EXPECT_FALSE(client.ready());
  EXPECT_TRUE(client.want_write());
  std::string out;
  ASSERT_TRUE(client.take_output(out, 1 << 20));
  EXPECT_EQ(out.rfind(NGHTTP2_CLIENT_MAGIC, 0), 0u) << "the connection preface comes first";
  EXPECT_FALSE(client.want_write());
  ASSERT_EQ(nghttp2_session_mem_recv(server.session(), bytes_of(out).data(), out.size()),
            static_cast<ssize_t>(out.size()));
  EXPECT_FALSE(client.ready()) << "nothing from the server yet";
  std::string back = server.take_output();
  ASSERT_TRUE(client.receive(bytes_of(back)));
  EXPECT_TRUE(client.ready());
  EXPECT_EQ(client.max_concurrent_streams(), 7u);
  EXPECT_FALSE(client.draining());
  EXPECT_FALSE(client.failed());
  EXPECT_EQ(client.active_streams(), 0u);
  // What the server learnt from the client's SETTINGS and WINDOW_UPDATE.
  EXPECT_EQ(nghttp2_session_get_remote_settings(server.session(), NGHTTP2_SETTINGS_ENABLE_PUSH),
            0u);
  EXPECT_EQ(
      nghttp2_session_get_remote_settings(server.session(), NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE),
      kStreamWindow);
  EXPECT_EQ(nghttp2_session_get_remote_window_size(server.session()),
            static_cast<std::int32_t>(kConnectionWindow));
}

TEST(ClientSessionSetup, MaxConcurrentStreamsFollowsTheServersSettings) {
  for (std::uint32_t n : {1u, 100u, 250u}) {
    H2TestServer server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, n}});
    ClientSession client(nullptr, "u1");
    ASSERT_TRUE(server.pump(client));
    EXPECT_EQ(client.max_concurrent_streams(), n);
  }
}

TEST_F(ClientSessionTest, GetReceivesStatusFieldsDataAndEndStream) {
  ClientStream st(io.get_executor());
  EXPECT_EQ(st.state(), State::idle);
  get(st, "/hello");
  EXPECT_EQ(st.state(), State::open);
  EXPECT_EQ(st.id(), 1);
  EXPECT_EQ(client.active_streams(), 1u);
  const auto& req = server.streams[1];
  EXPECT_TRUE(req.end_stream) << "a GET without body ends with its HEADERS";
  EXPECT_EQ(req.request, (Fields{{":method", "GET"},
                                 {":scheme", "http"},
                                 {":authority", "backend"},
                                 {":path", "/hello"}}));

  server.respond_all(1, 200, {{"content-type", "text/plain"}, {"content-length", "5"}}, "hello");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_EQ(st.status(), 200);
  EXPECT_TRUE(st.head_received());
  EXPECT_EQ(fields_of(st, st.fields()),
            (Fields{{"content-type", "text/plain"}, {"content-length", "5"}}));
  EXPECT_TRUE(st.trailers().empty());
  EXPECT_TRUE(st.has_content_length());
  EXPECT_EQ(st.content_length(), 5u);
  EXPECT_EQ(st.body(), "hello");
  EXPECT_EQ(st.body_bytes(), 5u);
  EXPECT_FALSE(st.refused());
  EXPECT_EQ(client.active_streams(), 0u);
  std::string taken;
  st.take_body(taken);
  EXPECT_EQ(taken, "hello");
  EXPECT_TRUE(st.body().empty());
  EXPECT_EQ(st.body_bytes(), 5u);
  st.consume();
}

TEST_F(ClientSessionTest, HeadStateUntilTheBodyEnds) {
  ClientStream st(io.get_executor());
  get(st);
  server.respond(1, 200, {{"x-a", "1"}}, false);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::head);
  EXPECT_FALSE(st.has_content_length());
  server.send_data(1, "abc");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::head);
  EXPECT_EQ(st.body(), "abc");
  server.send_data(1, "def");
  server.finish(1);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_EQ(st.body(), "abcdef");
}

TEST_F(ClientSessionTest, InformationalHeadIsReplacedByTheFinalOne) {
  ClientStream st(io.get_executor());
  get(st);
  server.informational(1, 103, {{"link", "</style.css>; rel=preload"}});
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::open);
  server.respond_all(1, 201, {{"x-final", "yes"}}, "made");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_EQ(st.status(), 201);
  EXPECT_EQ(fields_of(st, st.fields()), (Fields{{"x-final", "yes"}}));
  EXPECT_EQ(st.body(), "made");
}

TEST_F(ClientSessionTest, RequestBodyArrivesIntact) {
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  ASSERT_TRUE(server.pump(client));
  EXPECT_FALSE(server.streams[1].end_stream) << "the body has not ended yet";
  st.send_body("part one, ");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(server.streams[1].body, "part one, ");
  st.send_body("part two");
  st.end_body();
  EXPECT_FALSE(st.body_sent());
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(st.body_sent());
  EXPECT_EQ(st.unsent(), 0u);
  EXPECT_EQ(server.streams[1].body, "part one, part two");
  EXPECT_TRUE(server.streams[1].end_stream);
  EXPECT_TRUE(server.streams[1].request_trailers.empty());
}

TEST_F(ClientSessionTest, EmptyBodyEndsTheStream) {
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  st.end_body();
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(server.streams[1].end_stream);
  EXPECT_TRUE(server.streams[1].body.empty());
}

TEST_F(ClientSessionTest, RequestBodyLargerThanTheInitialWindowNeedsWindowUpdates) {
  std::string body = pattern(300 * 1024);  // above the server's 64 KiB initial windows
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  st.send_body(body);
  EXPECT_EQ(st.unsent(), body.size());
  // One step without the server's WINDOW_UPDATE: at most the initial window goes out.
  std::string out;
  ASSERT_TRUE(client.take_output(out, 1 << 20));
  EXPECT_LE(body.size() - st.unsent(), 65535u);
  ASSERT_EQ(nghttp2_session_mem_recv(server.session(), bytes_of(out).data(), out.size()),
            static_cast<ssize_t>(out.size()));
  st.end_body();
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.unsent(), 0u);
  EXPECT_TRUE(st.body_sent());
  EXPECT_TRUE(server.streams[1].end_stream);
  EXPECT_EQ(server.streams[1].body.size(), body.size());
  EXPECT_TRUE(server.streams[1].body == body) << "request body corrupted";
}

TEST_F(ClientSessionTest, RequestBodyInManyPiecesWithTrailers) {
  std::string body = pattern(100 * 1024 + 17);
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  for (std::size_t off = 0; off < body.size(); off += 10000) {
    st.send_body(std::string_view(body).substr(off, 10000));
    ASSERT_TRUE(server.pump(client));
  }
  st.end_body({{"x-checksum", "abc123"}, {"x-count", "11"}});
  ASSERT_TRUE(server.pump(client));
  const auto& seen = server.streams[1];
  EXPECT_TRUE(seen.body == body) << "request body corrupted";
  EXPECT_EQ(seen.request_trailers, (Fields{{"x-checksum", "abc123"}, {"x-count", "11"}}));
  EXPECT_TRUE(seen.end_stream);
  // The trailers end the stream, not the last DATA frame.
  auto frames = server.frames_of(0xff);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().type, NGHTTP2_HEADERS);
  EXPECT_NE(frames.back().flags & NGHTTP2_FLAG_END_STREAM, 0);
  for (const auto& f : server.frames_of(NGHTTP2_DATA)) {
    EXPECT_EQ(f.flags & NGHTTP2_FLAG_END_STREAM, 0);
  }
}

TEST_F(ClientSessionTest, ResponseTrailersAreKeptApartFromTheHead) {
  ClientStream st(io.get_executor());
  get(st);
  server.respond_all(1, 200, {{"content-type", "application/grpc"}}, "payload",
                     {{"grpc-status", "0"}, {"grpc-message", "ok"}});
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_EQ(fields_of(st, st.fields()), (Fields{{"content-type", "application/grpc"}}));
  EXPECT_EQ(fields_of(st, st.trailers()), (Fields{{"grpc-status", "0"}, {"grpc-message", "ok"}}));
  EXPECT_EQ(st.body(), "payload");
}

TEST_F(ClientSessionTest, StreamWindowLimitsWhatIsBufferedUntilTheUserConsumes) {
  const std::size_t total = 1024 * 1024;
  std::string body = pattern(total);
  ClientStream st(io.get_executor());
  get(st);
  server.respond_all(1, 200, {}, body);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::head);
  EXPECT_GT(st.body_bytes(), 0u);
  EXPECT_LE(st.body_bytes(), kStreamWindow);
  EXPECT_EQ(st.body().size(), st.body_bytes());
  // Taking without consuming does not open the window.
  std::string got;
  std::string piece;
  st.take_body(piece);
  got += piece;
  ASSERT_TRUE(server.pump(client));
  EXPECT_LE(st.body_bytes(), kStreamWindow);
  EXPECT_TRUE(st.body().empty());
  // Consuming does.
  int rounds = 0;
  while (st.state() != State::closed && rounds++ < 100) {
    st.consume();
    ASSERT_TRUE(server.pump(client));
    EXPECT_LE(st.body().size(), kStreamWindow);
    st.take_body(piece);
    got += piece;
  }
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_GT(rounds, 1);
  st.take_body(piece);
  got += piece;
  EXPECT_EQ(st.body_bytes(), total);
  EXPECT_TRUE(got == body) << "response body corrupted";
}

TEST_F(ClientSessionTest, ConnectionWindowIsGivenBackForStreamsThatClosed) {
  // 20 responses of 1 MiB > kConnectionWindow: each stream's DATA must count for the
  // connection window once consumed, including after the stream closed.
  std::string body = pattern(1024 * 1024);
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    ClientStream st(io.get_executor());
    get(st);
    server.respond_all(st.id(), 200, {}, body);
    std::string piece;
    std::size_t got = 0;
    for (int rounds = 0; st.state() != State::closed && rounds < 100; ++rounds) {
      ASSERT_TRUE(server.pump(client));
      st.take_body(piece);
      got += piece.size();
      st.consume();
    }
    ASSERT_EQ(st.state(), State::closed);
    st.take_body(piece);
    got += piece.size();
    st.consume();
    EXPECT_EQ(got, body.size());
  }
}

TEST_F(ClientSessionTest, RstStreamCancelAfterTheHead) {
  ClientStream st(io.get_executor());
  get(st);
  server.respond(1, 200, {}, false, "partial");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::head);
  server.reset(1, NGHTTP2_CANCEL);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::reset);
  EXPECT_EQ(st.reset_code(), static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_FALSE(st.refused());
  EXPECT_EQ(st.body(), "partial");
  EXPECT_EQ(client.active_streams(), 0u);
  EXPECT_FALSE(client.failed());
}

TEST_F(ClientSessionTest, RefusedStreamMayBeRetried) {
  ClientStream st(io.get_executor());
  get(st);
  server.reset(1, NGHTTP2_REFUSED_STREAM);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::reset);
  EXPECT_EQ(st.reset_code(), static_cast<std::uint32_t>(NGHTTP2_REFUSED_STREAM));
  EXPECT_TRUE(st.refused());
  EXPECT_FALSE(st.head_received());
  // The session goes on.
  ClientStream next(io.get_executor());
  get(next);
  server.respond_all(next.id(), 200, {}, "ok");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(next.state(), State::closed);
}

TEST_F(ClientSessionTest, InvalidResponseFieldResetsTheStream) {
  ClientStream st(io.get_executor());
  get(st);
  // RFC 9113 §8.2.2: connection-specific fields make the response malformed.
  server.respond_all(1, 200, {{"connection", "close"}}, "x");
  server.pump(client);
  EXPECT_EQ(st.state(), State::reset);
  EXPECT_EQ(st.reset_code(), static_cast<std::uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_TRUE(server.streams[1].rst_received);
}

TEST_F(ClientSessionTest, GoawayRefusesStreamsAboveLastStreamIdAndCompletesTheOthers) {
  ClientStream first(io.get_executor());
  ClientStream second(io.get_executor());
  get(first);
  get(second);
  EXPECT_EQ(first.id(), 1);
  EXPECT_EQ(second.id(), 3);
  EXPECT_EQ(client.active_streams(), 2u);
  server.goaway(1, NGHTTP2_NO_ERROR);
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(client.draining());
  EXPECT_FALSE(client.failed());
  EXPECT_TRUE(second.refused());
  EXPECT_NE(second.state(), State::open);
  EXPECT_NE(second.state(), State::head);
  EXPECT_EQ(first.state(), State::open);
  EXPECT_FALSE(first.refused());
  EXPECT_EQ(client.active_streams(), 1u);

  ClientStream third(io.get_executor());
  auto req = test::get_fields();
  EXPECT_FALSE(client.submit(third, req, false));
  EXPECT_EQ(third.state(), State::idle);

  server.respond_all(1, 200, {}, "last one");
  server.pump(client);  // may report the end of the connection: nothing is left on it
  EXPECT_EQ(first.state(), State::closed);
  EXPECT_EQ(first.body(), "last one");
  EXPECT_FALSE(first.refused());
}

TEST_F(ClientSessionTest, GoawayWithAnErrorThenConnectionLost) {
  ClientStream st(io.get_executor());
  get(st);
  server.goaway(1, NGHTTP2_INTERNAL_ERROR);
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(client.draining());
  EXPECT_EQ(st.state(), State::open);
  client.connection_lost("end of file");
  EXPECT_EQ(st.state(), State::failed);
  EXPECT_FALSE(st.refused()) << "stream 1 is not above the GOAWAY's last stream id";
  EXPECT_EQ(st.failure(), "backend sent GOAWAY(INTERNAL_ERROR), then end of file");
}

TEST_F(ClientSessionTest, GoawayWithZeroLastStreamRefusesEverythingOpen) {
  ClientStream st(io.get_executor());
  get(st);
  server.goaway(0, NGHTTP2_NO_ERROR);
  server.pump(client);
  EXPECT_TRUE(st.refused());
  EXPECT_TRUE(client.draining());
}

TEST_F(ClientSessionTest, GarbageFromTheBackendFailsTheSessionAndItsStreams) {
  ClientStream st(io.get_executor());
  get(st);
  std::string garbage = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  EXPECT_FALSE(client.receive(bytes_of(garbage)));
  EXPECT_TRUE(client.failed());
  EXPECT_NE(client.failure().find("HTTP/2"), std::string::npos) << client.failure();
  EXPECT_EQ(st.state(), State::failed);
  EXPECT_EQ(st.failure(), client.failure());
  EXPECT_TRUE(client.draining());
  EXPECT_EQ(client.active_streams(), 0u);
  EXPECT_FALSE(client.receive(bytes_of("more")));
}

TEST(ClientSessionSetup, Http1AnswerInsteadOfSettingsFailsTheSession) {
  // A backend that speaks only HTTP/1.1 answers the h2c preface with an HTTP/1.1 error.
  asio::io_context io;
  ClientSession client(nullptr, "u1");
  ClientStream st(io.get_executor());
  auto req = test::get_fields();
  ASSERT_TRUE(client.submit(st, req, false));
  std::string out;
  ASSERT_TRUE(client.take_output(out, 1 << 20));
  std::string answer = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
  EXPECT_FALSE(client.receive(bytes_of(answer)));
  EXPECT_TRUE(client.failed());
  EXPECT_FALSE(client.ready());
  EXPECT_EQ(st.state(), State::failed);
  EXPECT_FALSE(st.failure().empty());
}

TEST_F(ClientSessionTest, ConnectionLostFailsOpenStreamsAndKeepsReceivedData) {
  ClientStream done(io.get_executor());
  ClientStream head(io.get_executor());
  ClientStream open(io.get_executor());
  get(done);
  get(head);
  get(open);
  server.respond_all(done.id(), 200, {}, "complete");
  server.respond(head.id(), 200, {}, false, "half");
  ASSERT_TRUE(server.pump(client));
  ASSERT_EQ(done.state(), State::closed);
  ASSERT_EQ(head.state(), State::head);
  client.connection_lost("read: connection reset by peer");
  EXPECT_TRUE(client.failed());
  EXPECT_EQ(client.failure(), "read: connection reset by peer");
  EXPECT_EQ(head.state(), State::failed);
  EXPECT_EQ(head.failure(), "read: connection reset by peer");
  EXPECT_EQ(head.body(), "half");
  EXPECT_EQ(open.state(), State::failed);
  EXPECT_EQ(open.failure(), "read: connection reset by peer");
  EXPECT_FALSE(open.refused());
  EXPECT_EQ(done.state(), State::closed);
  EXPECT_EQ(done.body(), "complete");
  EXPECT_EQ(client.active_streams(), 0u);
  EXPECT_TRUE(client.draining());
  EXPECT_FALSE(client.want_write());
  std::string out;
  EXPECT_FALSE(client.take_output(out, 1 << 20));
  ClientStream next(io.get_executor());
  auto req = test::get_fields();
  EXPECT_FALSE(client.submit(next, req, false));
  // Giving up on failed streams afterwards is harmless.
  head.cancel();
  open.reset_for_reuse();
  EXPECT_EQ(open.state(), State::idle);
}

TEST_F(ClientSessionTest, CancelSendsRstStreamCancel) {
  ClientStream st(io.get_executor());
  get(st);
  server.respond(1, 200, {}, false, "some");
  ASSERT_TRUE(server.pump(client));
  ASSERT_EQ(st.state(), State::head);
  st.cancel();
  EXPECT_EQ(client.active_streams(), 0u);
  EXPECT_TRUE(client.want_write());
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(server.streams[1].rst_received);
  EXPECT_EQ(server.streams[1].rst_code, static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  // More DATA for it is dropped; the session stays usable.
  server.send_data(1, "late");
  server.pump(client);
  EXPECT_FALSE(client.failed());
  ClientStream next(io.get_executor());
  get(next);
  server.respond_all(next.id(), 200, {}, "next");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(next.state(), State::closed);
  EXPECT_EQ(next.body(), "next");
}

TEST_F(ClientSessionTest, CancelBeforeTheHeadersWereSent) {
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  st.send_body("never");
  st.cancel();
  EXPECT_EQ(client.active_streams(), 0u);
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(server.streams[1].body.empty());
  ClientStream next(io.get_executor());
  get(next);
  server.respond_all(next.id(), 200, {}, "fine");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(next.state(), State::closed);
  EXPECT_EQ(next.body(), "fine");
  EXPECT_FALSE(client.failed());
}

TEST_F(ClientSessionTest, StreamDestroyedWhileOpenIsForgotten) {
  {
    ClientStream st(io.get_executor());
    get(st);
    server.respond(1, 200, {}, false, pattern(100000));  // fills part of the window
    ASSERT_TRUE(server.pump(client));
    ASSERT_EQ(st.state(), State::head);
  }
  {
    // With a request body still waiting for more.
    ClientStream st(io.get_executor());
    auto req = test::post_fields();
    ASSERT_TRUE(client.submit(st, req, true));
    st.send_body("partial");
    ASSERT_TRUE(server.pump(client));
  }
  {
    // Before its HEADERS went out.
    ClientStream st(io.get_executor());
    auto req = test::post_fields();
    ASSERT_TRUE(client.submit(st, req, true));
    st.send_body("queued");
  }
  EXPECT_EQ(client.active_streams(), 0u);
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(server.streams[1].rst_received);
  EXPECT_EQ(server.streams[1].rst_code, static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_TRUE(server.streams[3].rst_received);
  // The server goes on sending for the first; nobody is there to take it.
  server.send_data(1, pattern(50000));
  server.finish(1);
  server.pump(client);
  EXPECT_FALSE(client.failed());

  ClientStream next(io.get_executor());
  get(next);
  server.respond_all(next.id(), 200, {}, "after");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(next.state(), State::closed);
  EXPECT_EQ(next.body(), "after");
}

TEST(ClientSessionSetup, SessionDestroyedBeforeItsStreams) {
  asio::io_context io;
  ClientStream open(io.get_executor());
  ClientStream closed(io.get_executor());
  {
    H2TestServer server;
    ClientSession client(nullptr, "u1");
    ASSERT_TRUE(server.pump(client));
    auto req = test::get_fields();
    ASSERT_TRUE(client.submit(open, req, false));
    ASSERT_TRUE(client.submit(closed, req, false));
    ASSERT_TRUE(server.pump(client));
    server.respond_all(closed.id(), 200, {}, "kept");
    ASSERT_TRUE(server.pump(client));
    ASSERT_EQ(closed.state(), State::closed);
  }
  EXPECT_EQ(open.state(), State::failed);
  EXPECT_FALSE(open.failure().empty());
  EXPECT_EQ(closed.state(), State::closed);
  EXPECT_EQ(closed.body(), "kept");
  std::string piece;
  closed.take_body(piece);
  closed.consume();  // must not reach the destroyed session
  open.cancel();
  open.reset_for_reuse();
}

TEST_F(ClientSessionTest, StreamIsReusableForTheNextRequest) {
  ClientStream st(io.get_executor());
  st.trace_label = "c1/u1";
  get(st, "/one");
  server.respond_all(1, 200, {{"x-one", "1"}}, "first", {{"x-t", "1"}});
  ASSERT_TRUE(server.pump(client));
  ASSERT_EQ(st.state(), State::closed);
  get(st, "/two");  // submit() forgets the previous exchange
  EXPECT_EQ(st.id(), 3);
  EXPECT_EQ(st.state(), State::open);
  EXPECT_TRUE(st.body().empty());
  EXPECT_EQ(st.body_bytes(), 0u);
  EXPECT_TRUE(st.fields().empty());
  EXPECT_TRUE(st.trailers().empty());
  EXPECT_EQ(st.status(), 0);
  server.respond_all(3, 404, {{"x-two", "2"}}, "second");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(st.state(), State::closed);
  EXPECT_EQ(st.status(), 404);
  EXPECT_EQ(fields_of(st, st.fields()), (Fields{{"x-two", "2"}}));
  EXPECT_TRUE(st.trailers().empty());
  EXPECT_EQ(st.body(), "second");
}

TEST_F(ClientSessionTest, ResetForReuseCancelsAnOpenExchange) {
  ClientStream st(io.get_executor());
  get(st);
  st.reset_for_reuse();
  EXPECT_EQ(st.state(), State::idle);
  EXPECT_EQ(client.active_streams(), 0u);
  ASSERT_TRUE(server.pump(client));
  EXPECT_TRUE(server.streams[1].rst_received);
}

TEST_F(ClientSessionTest, ActiveStreamsCountsOpenOnes) {
  ClientStream a(io.get_executor());
  ClientStream b(io.get_executor());
  ClientStream c(io.get_executor());
  get(a);
  get(b);
  get(c);
  EXPECT_EQ(client.active_streams(), 3u);
  server.respond_all(a.id(), 204, {}, "");
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(a.state(), State::closed);
  EXPECT_EQ(client.active_streams(), 2u);
  server.reset(b.id(), NGHTTP2_CANCEL);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(client.active_streams(), 1u);
  c.cancel();
  EXPECT_EQ(client.active_streams(), 0u);
  ASSERT_TRUE(server.pump(client));
  EXPECT_EQ(client.active_streams(), 0u);
}

TEST_F(ClientSessionTest, PingIsAnsweredAndNoLongerOutstanding) {
  EXPECT_FALSE(client.ping_outstanding());
  client.ping();
  EXPECT_TRUE(client.want_write());
  std::string out;
  ASSERT_TRUE(client.take_output(out, 1 << 20));
  EXPECT_TRUE(client.ping_outstanding());
  ASSERT_EQ(nghttp2_session_mem_recv(server.session(), bytes_of(out).data(), out.size()),
            static_cast<ssize_t>(out.size()));
  auto pings = server.frames_of(NGHTTP2_PING);
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].flags & NGHTTP2_FLAG_ACK, 0);
  client.ping();  // one at a time
  out.clear();
  ASSERT_TRUE(client.take_output(out, 1 << 20));
  EXPECT_TRUE(out.empty());
  std::string ack = server.take_output();
  ASSERT_TRUE(client.receive(bytes_of(ack)));
  EXPECT_FALSE(client.ping_outstanding());
}

TEST_F(ClientSessionTest, ShutDownSendsGoawayAndStopsNewStreams) {
  client.shut_down();
  EXPECT_TRUE(client.draining());
  ClientStream st(io.get_executor());
  auto req = test::get_fields();
  EXPECT_FALSE(client.submit(st, req, false));
  server.pump(client);
  auto goaways = server.frames_of(NGHTTP2_GOAWAY);
  ASSERT_EQ(goaways.size(), 1u);
  EXPECT_EQ(goaways[0].error_code, static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
}

TEST_F(ClientSessionTest, TakeOutputStopsNearTheLimit) {
  ClientStream st(io.get_executor());
  auto req = test::post_fields();
  ASSERT_TRUE(client.submit(st, req, true));
  st.send_body(pattern(60000));
  std::string out;
  ASSERT_TRUE(client.take_output(out, 1000));
  EXPECT_GE(out.size(), 1000u);
  EXPECT_LT(out.size(), 60000u);
  EXPECT_TRUE(client.want_write());
}

}  // namespace
}  // namespace lb::http2
