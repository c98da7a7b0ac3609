#include "lb/http2/frame_trace.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <asio/io_context.hpp>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "http2/h2_test_server.hpp"
#include "lb/http2/client_session.hpp"

namespace lb::http2 {
namespace {

nghttp2_frame frame_of(std::uint8_t type, std::int32_t stream, std::size_t length,
                       std::uint8_t flags) {
  nghttp2_frame f;
  std::memset(&f, 0, sizeof f);
  f.hd.type = type;
  f.hd.stream_id = stream;
  f.hd.length = length;
  f.hd.flags = flags;
  return f;
}

std::string text_of(const nghttp2_frame& f, const HeaderList& headers = {},
                    std::string_view label = "u1", std::string_view from = "b1",
                    std::string_view to = "lb") {
  std::string out;
  append_frame_text(label, from, to, f, headers, out);
  return out;
}

TEST(Http2FrameText, SettingsNameEveryKnownValue) {
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096},
                                 {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 262144},
                                 {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 16384},
                                 {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 65536},
                                 {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
                                 {0x99, 7}};
  auto f = frame_of(NGHTTP2_SETTINGS, 0, 48, NGHTTP2_FLAG_NONE);
  f.settings.niv = std::size(iv);
  f.settings.iv = iv;
  EXPECT_EQ(text_of(f),
            "u1 h2 b1->lb SETTINGS stream=0 length=48 flags=- HEADER_TABLE_SIZE=4096 "
            "ENABLE_PUSH=0 MAX_CONCURRENT_STREAMS=100 INITIAL_WINDOW_SIZE=262144 "
            "MAX_FRAME_SIZE=16384 MAX_HEADER_LIST_SIZE=65536 ENABLE_CONNECT_PROTOCOL=1 "
            "SETTING_153=7");
}

TEST(Http2FrameText, SettingsAck) {
  auto f = frame_of(NGHTTP2_SETTINGS, 0, 0, NGHTTP2_FLAG_ACK);
  EXPECT_EQ(text_of(f, {}, "u2", "lb", "b2"), "u2 h2 lb->b2 SETTINGS stream=0 length=0 flags=ACK");
}

TEST(Http2FrameText, HeadersWithFieldListAndFlags) {
  auto f = frame_of(NGHTTP2_HEADERS, 1, 27, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS);
  HeaderList h = {{":status", "200"}, {"content-type", "text/plain"}, {"set-cookie", "a=1"}};
  EXPECT_EQ(text_of(f, h, "c7/u3", "b1(127.0.0.1:9001)"),
            "c7/u3 h2 b1(127.0.0.1:9001)->lb HEADERS stream=1 length=27 "
            "flags=END_STREAM|END_HEADERS\n"
            "  :status: 200\n"
            "  content-type: text/plain\n"
            "  set-cookie: a=1");
  auto all = frame_of(NGHTTP2_HEADERS, 3, 10,
                      NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_PADDED | NGHTTP2_FLAG_PRIORITY);
  EXPECT_EQ(text_of(all),
            "u1 h2 b1->lb HEADERS stream=3 length=10 flags=END_HEADERS|PADDED|PRIORITY");
  auto none = frame_of(NGHTTP2_HEADERS, 5, 3, NGHTTP2_FLAG_NONE);
  EXPECT_EQ(text_of(none), "u1 h2 b1->lb HEADERS stream=5 length=3 flags=-");
}

TEST(Http2FrameText, Data) {
  EXPECT_EQ(text_of(frame_of(NGHTTP2_DATA, 3, 16384, NGHTTP2_FLAG_NONE)),
            "u1 h2 b1->lb DATA stream=3 length=16384 flags=-");
  EXPECT_EQ(text_of(frame_of(NGHTTP2_DATA, 3, 5, NGHTTP2_FLAG_END_STREAM)),
            "u1 h2 b1->lb DATA stream=3 length=5 flags=END_STREAM");
  EXPECT_EQ(text_of(frame_of(NGHTTP2_DATA, 1, 9, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_PADDED)),
            "u1 h2 b1->lb DATA stream=1 length=9 flags=END_STREAM|PADDED");
}

TEST(Http2FrameText, WindowUpdateIncrement) {
  auto f = frame_of(NGHTTP2_WINDOW_UPDATE, 0, 4, NGHTTP2_FLAG_NONE);
  f.window_update.window_size_increment = 16711681;
  EXPECT_EQ(text_of(f, {}, "u1", "lb", "b1"),
            "u1 h2 lb->b1 WINDOW_UPDATE stream=0 length=4 flags=- increment=16711681");
  auto s = frame_of(NGHTTP2_WINDOW_UPDATE, 7, 4, NGHTTP2_FLAG_NONE);
  s.window_update.window_size_increment = 1;
  EXPECT_EQ(text_of(s), "u1 h2 b1->lb WINDOW_UPDATE stream=7 length=4 flags=- increment=1");
}

TEST(Http2FrameText, RstStreamErrorName) {
  auto f = frame_of(NGHTTP2_RST_STREAM, 5, 4, NGHTTP2_FLAG_NONE);
  f.rst_stream.error_code = NGHTTP2_CANCEL;
  EXPECT_EQ(text_of(f), "u1 h2 b1->lb RST_STREAM stream=5 length=4 flags=- error=CANCEL");
  f.rst_stream.error_code = NGHTTP2_REFUSED_STREAM;
  EXPECT_EQ(text_of(f), "u1 h2 b1->lb RST_STREAM stream=5 length=4 flags=- error=REFUSED_STREAM");
  f.rst_stream.error_code = 0x77;
  EXPECT_EQ(text_of(f), "u1 h2 b1->lb RST_STREAM stream=5 length=4 flags=- error=unknown(119)");
}

TEST(Http2FrameText, GoawayLastStreamErrorAndDebugData) {
  auto f = frame_of(NGHTTP2_GOAWAY, 0, 8, NGHTTP2_FLAG_NONE);
  f.goaway.last_stream_id = 7;
  f.goaway.error_code = NGHTTP2_NO_ERROR;
  EXPECT_EQ(text_of(f),
            "u1 h2 b1->lb GOAWAY stream=0 length=8 flags=- last_stream=7 error=NO_ERROR");
  std::uint8_t debug[] = {'b', 'y', 'e', '"', '\n', 0x01, 'x'};
  f.hd.length = 8 + sizeof debug;
  f.goaway.error_code = NGHTTP2_PROTOCOL_ERROR;
  f.goaway.opaque_data = debug;
  f.goaway.opaque_data_len = sizeof debug;
  EXPECT_EQ(text_of(f),
            "u1 h2 b1->lb GOAWAY stream=0 length=15 flags=- last_stream=7 "
            "error=PROTOCOL_ERROR debug=\"bye...x\"");
}

TEST(Http2FrameText, PingDataInHex) {
  auto f = frame_of(NGHTTP2_PING, 0, 8, NGHTTP2_FLAG_NONE);
  const std::uint8_t data[8] = {0x00, 0x01, 0x0a, 0x7f, 0x80, 0xab, 0xcd, 0xff};
  std::memcpy(f.ping.opaque_data, data, 8);
  EXPECT_EQ(text_of(f), "u1 h2 b1->lb PING stream=0 length=8 flags=- data=00010a7f80abcdff");
  f.hd.flags = NGHTTP2_FLAG_ACK;
  EXPECT_EQ(text_of(f), "u1 h2 b1->lb PING stream=0 length=8 flags=ACK data=00010a7f80abcdff");
}

TEST(Http2FrameText, OtherAndUnknownTypes) {
  EXPECT_EQ(text_of(frame_of(0x42, 0, 3, NGHTTP2_FLAG_NONE)),
            "u1 h2 b1->lb UNKNOWN(66) stream=0 length=3 flags=-");
  EXPECT_EQ(text_of(frame_of(NGHTTP2_PRIORITY, 9, 5, NGHTTP2_FLAG_NONE)),
            "u1 h2 b1->lb PRIORITY stream=9 length=5 flags=-");
  EXPECT_EQ(text_of(frame_of(NGHTTP2_CONTINUATION, 1, 2, NGHTTP2_FLAG_END_HEADERS)),
            "u1 h2 b1->lb CONTINUATION stream=1 length=2 flags=END_HEADERS");
  // A flag bit this type does not define is shown by value.
  EXPECT_EQ(text_of(frame_of(NGHTTP2_SETTINGS, 0, 0, 0x40)),
            "u1 h2 b1->lb SETTINGS stream=0 length=0 flags=UNKNOWN(64)");
}

TEST(Http2FrameText, AppendsWithoutNewlineAtTheEnd) {
  std::string out = "before|";
  append_frame_text("u1", "b1", "lb", frame_of(NGHTTP2_DATA, 1, 0, 0), {}, out);
  EXPECT_EQ(out, "before|u1 h2 b1->lb DATA stream=1 length=0 flags=-");
}

// A "trace" logger writing bare messages into a string.
struct CapturedLog {
  CapturedLog() : sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(text)), log("trace", sink) {
    sink->set_pattern("%v");
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(text.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::ostringstream text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
  spdlog::logger log;
};

TEST(Http2FrameTracer, ReceivedHeadersShowTheFieldsCollectedForThem) {
  CapturedLog cap;
  FrameTracer t(cap.log, "b1(127.0.0.1:9001)");
  t.add_received_header(":status", "200");
  t.add_received_header("content-length", "5");
  t.frame(trace::Direction::received, frame_of(NGHTTP2_HEADERS, 1, 12, NGHTTP2_FLAG_END_HEADERS),
          "c7/u3");
  t.frame(trace::Direction::received, frame_of(NGHTTP2_DATA, 1, 5, NGHTTP2_FLAG_END_STREAM),
          "c7/u3");
  EXPECT_EQ(cap.text.str(),
            "c7/u3 h2 b1(127.0.0.1:9001)->lb HEADERS stream=1 length=12 flags=END_HEADERS\n"
            "  :status: 200\n"
            "  content-length: 5\n"
            "c7/u3 h2 b1(127.0.0.1:9001)->lb DATA stream=1 length=5 flags=END_STREAM\n");
}

TEST(Http2FrameTracer, SentHeadersShowTheirFieldList) {
  CapturedLog cap;
  FrameTracer t(cap.log, "b1");
  std::string n1 = ":method", v1 = "GET", n2 = ":path", v2 = "/x";
  nghttp2_nv nva[] = {{reinterpret_cast<std::uint8_t*>(n1.data()),
                       reinterpret_cast<std::uint8_t*>(v1.data()), n1.size(), v1.size(), 0},
                      {reinterpret_cast<std::uint8_t*>(n2.data()),
                       reinterpret_cast<std::uint8_t*>(v2.data()), n2.size(), v2.size(), 0}};
  auto f = frame_of(NGHTTP2_HEADERS, 3, 9, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS);
  f.headers.nva = nva;
  f.headers.nvlen = 2;
  // A field received meanwhile belongs to a received frame, not to this one.
  t.add_received_header("x-pending", "1");
  t.frame(trace::Direction::sent, f, "c2/u1");
  t.frame(trace::Direction::sent, f, "c2/u1");
  EXPECT_EQ(cap.lines(),
            (std::vector<std::string>{
                "c2/u1 h2 lb->b1 HEADERS stream=3 length=9 flags=END_STREAM|END_HEADERS",
                "  :method: GET",
                "  :path: /x",
                "c2/u1 h2 lb->b1 HEADERS stream=3 length=9 flags=END_STREAM|END_HEADERS",
                "  :method: GET",
                "  :path: /x",
            }));
}

TEST(Http2FrameTracer, TracesEveryFrameOfARealSession) {
  CapturedLog cap;
  FrameTracer tracer(cap.log, "b1");
  asio::io_context io;
  test::H2TestServer server({{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 10}});
  ClientSession client(&tracer, "u3");
  ASSERT_TRUE(server.pump(client));
  ClientStream st(io.get_executor());
  st.trace_label = "c7/u3";
  auto req = test::get_fields("/traced");
  ASSERT_TRUE(client.submit(st, req, false));
  ASSERT_TRUE(server.pump(client));
  server.respond_all(st.id(), 200, {{"content-type", "text/plain"}}, "hello");
  ASSERT_TRUE(server.pump(client));
  ASSERT_EQ(st.state(), ClientStream::State::closed);
  std::string log = cap.text.str();
  for (const char* s : {
           "u3 h2 lb->b1 SETTINGS stream=0 length=12 flags=- ENABLE_PUSH=0 "
           "INITIAL_WINDOW_SIZE=262144\n",
           "u3 h2 lb->b1 WINDOW_UPDATE stream=0 length=4 flags=- increment=16711681\n",
           "u3 h2 b1->lb SETTINGS stream=0 length=6 flags=- MAX_CONCURRENT_STREAMS=10\n",
           "u3 h2 b1->lb SETTINGS stream=0 length=0 flags=ACK\n",
           "u3 h2 lb->b1 SETTINGS stream=0 length=0 flags=ACK\n",
           "flags=END_STREAM|END_HEADERS\n  :method: GET\n  :scheme: http\n"
           "  :authority: backend\n  :path: /traced\n",
           "c7/u3 h2 b1->lb DATA stream=1 length=5 flags=END_STREAM\n",
       }) {
    EXPECT_NE(log.find(s), std::string::npos) << "missing: " << s << "\nin:\n" << log;
  }
  EXPECT_NE(log.find("c7/u3 h2 lb->b1 HEADERS stream=1 "), std::string::npos) << log;
  std::size_t head = log.find("c7/u3 h2 b1->lb HEADERS stream=1 ");
  ASSERT_NE(head, std::string::npos) << log;
  EXPECT_NE(log.find("flags=END_HEADERS\n  :status: 200\n  content-type: text/plain\n", head),
            std::string::npos)
      << log;
}

TEST(Http2FrameTracer, FieldsOfARejectedHeadersFrameDoNotShowUnderTheNextFrame) {
  CapturedLog cap;
  FrameTracer tracer(cap.log, "b1");
  asio::io_context io;
  test::H2TestServer server;
  ClientSession client(&tracer, "u3");
  ASSERT_TRUE(server.pump(client));
  ClientStream st(io.get_executor());
  auto req = test::get_fields();
  ASSERT_TRUE(client.submit(st, req, false));
  ASSERT_TRUE(server.pump(client));
  // A connection-specific field makes nghttp2 reset the stream without a frame callback.
  server.respond_all(st.id(), 200, {{"x-before", "1"}, {"connection", "close"}}, "x");
  server.pump(client);
  ASSERT_EQ(st.state(), ClientStream::State::reset);
  cap.text.str("");
  nghttp2_submit_ping(server.session(), NGHTTP2_FLAG_NONE, nullptr);
  server.pump(client);
  std::string log = cap.text.str();
  std::size_t ping = log.find("u3 h2 b1->lb PING");
  ASSERT_NE(ping, std::string::npos) << log;
  EXPECT_EQ(log.find("  ", ping), std::string::npos) << "stale fields in the trace:\n" << log;
}

}  // namespace
}  // namespace lb::http2
