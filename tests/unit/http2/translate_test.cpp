#include "lb/http2/translate.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http2/h2_test_server.hpp"
#include "lb/http1/parser.hpp"
#include "lb/http2/client_session.hpp"

namespace lb::http2 {
namespace {

using test::Fields;
using test::H2TestServer;

// Parses a request head from `wire` (kept alive by the caller).
const http1::Head& parse_head(http1::Parser& p, const std::string& wire) {
  p.start();
  auto r = p.parse(wire.data(), 0, wire.size());
  EXPECT_EQ(r.event, http1::Parser::Event::head) << p.error_reason();
  return p.head();
}

Fields to_fields(std::span<const nghttp2_nv> nv) {
  Fields out;
  for (const auto& f : nv) {
    out.emplace_back(std::string(reinterpret_cast<const char*>(f.name), f.namelen),
                     std::string(reinterpret_cast<const char*>(f.value), f.valuelen));
  }
  return out;
}

// The HTTP/2 request fields build_request makes for `wire`.
Fields translate(const std::string& wire, const http1::RequestRewrite& rw,
                 std::string_view scheme = "http") {
  http1::Parser p(http1::MessageKind::request, {});
  const http1::Head& h = parse_head(p, wire);
  FieldList out;
  build_request(h, wire.data(), rw, scheme, out);
  EXPECT_EQ(out.size(), out.fields().size());
  return to_fields(out.fields());
}

const http1::RequestRewrite kRewrite{"backend:9001", false, "127.0.0.9"};

TEST(Http2BuildRequest, PseudoHeadersFirstThenLowerCasedFieldsAndForwardedFields) {
  auto f = translate(
      "GET /p?q=1 HTTP/1.1\r\nHost: client.example\r\nUser-Agent: UA/1\r\nAccept: */*\r\n"
      "X-Mixed-CASE: V\r\n\r\n",
      kRewrite);
  EXPECT_EQ(f, (Fields{{":method", "GET"},
                       {":scheme", "http"},
                       {":authority", "backend:9001"},
                       {":path", "/p?q=1"},
                       {"user-agent", "UA/1"},
                       {"accept", "*/*"},
                       {"x-mixed-case", "V"},
                       {"x-forwarded-for", "127.0.0.9"},
                       {"x-forwarded-proto", "http"},
                       {"x-forwarded-host", "client.example"}}));
}

TEST(Http2BuildRequest, DropsConnectionSpecificFieldsAndMergesForwardedFor) {
  auto f = translate(
      "POST /p HTTP/1.1\r\nHost: client.example\r\nConnection: keep-alive, X-Private\r\n"
      "X-Private: secret\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
      "Upgrade: h2c\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\n"
      "X-Forwarded-Host: spoofed\r\nExpect: 100-continue\r\nAccept: a\r\n"
      "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nTransfer-Encoding: chunked\r\nCookie: c=1\r\n\r\n",
      {"backend:9001", false, "127.0.0.9", "https"}, "https");
  EXPECT_EQ(f, (Fields{{":method", "POST"},
                       {":scheme", "https"},
                       {":authority", "backend:9001"},
                       {":path", "/p"},
                       {"te", "trailers"},
                       {"x-forwarded-for", "10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.9"},
                       {"accept", "a"},
                       {"cookie", "c=1"},
                       {"x-forwarded-proto", "https"},
                       {"x-forwarded-host", "client.example"}}));
}

TEST(Http2BuildRequest, TeIsKeptOnlyAsTrailers) {
  auto gzip = translate("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip\r\n\r\n", kRewrite);
  for (const auto& [name, value] : gzip) EXPECT_NE(name, "te") << value;
  auto both = translate("GET / HTTP/1.1\r\nHost: h\r\nTE: gzip;q=0.5, Trailers\r\n\r\n", kRewrite);
  EXPECT_EQ(both[4], (std::pair<std::string, std::string>{"te", "trailers"}));
  auto param = translate("GET / HTTP/1.1\r\nHost: h\r\nte: trailers;q=1\r\n\r\n", kRewrite);
  EXPECT_EQ(param[4], (std::pair<std::string, std::string>{"te", "trailers"}));
}

TEST(Http2BuildRequest, HostBecomesAuthorityRewrittenOrPreserved) {
  std::string wire = "GET / HTTP/1.1\r\nHost: client.example:8080\r\n\r\n";
  auto rewritten = translate(wire, kRewrite);
  EXPECT_EQ(rewritten[2].second, "backend:9001");
  auto kept = translate(wire, {"backend:9001", true, "127.0.0.9"});
  EXPECT_EQ(kept[2].second, "client.example:8080");
  for (const auto& f : {rewritten, kept}) {
    for (const auto& [name, value] : f) EXPECT_NE(name, "host") << value;
    EXPECT_EQ(f.back(),
              (std::pair<std::string, std::string>{"x-forwarded-host", "client.example:8080"}));
  }
}

TEST(Http2BuildRequest, Http10WithoutHostGetsTheBackendAuthority) {
  auto f = translate("GET /old HTTP/1.0\r\nUser-Agent: old\r\n\r\n", {"backend:9001", true, "::1"});
  EXPECT_EQ(f, (Fields{{":method", "GET"},
                       {":scheme", "http"},
                       {":authority", "backend:9001"},
                       {":path", "/old"},
                       {"user-agent", "old"},
                       {"x-forwarded-for", "::1"},
                       {"x-forwarded-proto", "http"}}));
}

TEST(Http2BuildRequest, PathIsOriginFormForEveryTargetForm) {
  const std::pair<const char*, const char*> cases[] = {
      {"GET /a/b?c=d HTTP/1.1", "/a/b?c=d"},
      {"GET http://h/p?q HTTP/1.1", "/p?q"},
      {"GET http://h:8080/p HTTP/1.1", "/p"},
      {"GET HTTP://H/x HTTP/1.1", "/x"},
      {"GET http://h HTTP/1.1", "/"},
      {"GET http://h:8080 HTTP/1.1", "/"},
      // RFC 9113 §8.3.1: :path must not be empty and starts with '/' (or is "*").
      {"GET http://h?q=1 HTTP/1.1", "/?q=1"},
      {"OPTIONS * HTTP/1.1", "*"},
  };
  for (const auto& [line, path] : cases) {
    SCOPED_TRACE(line);
    auto f = translate(std::string(line) + "\r\nHost: h\r\n\r\n", kRewrite);
    ASSERT_GE(f.size(), 4u);
    EXPECT_EQ(f[3], (std::pair<std::string, std::string>{":path", path}));
  }
}

TEST(Http2BuildRequest, ContentLengthIsKept) {
  auto f = translate("POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", kRewrite);
  EXPECT_EQ(f[4], (std::pair<std::string, std::string>{"content-length", "5"}));
  auto chunked =
      translate("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", kRewrite);
  for (const auto& [name, value] : chunked) {
    EXPECT_NE(name, "transfer-encoding");
    EXPECT_NE(name, "content-length");
  }
}

TEST(Http2BuildRequest, FieldListIsReusedWithoutStaleFields) {
  std::string one = "GET /one HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nX-Forwarded-For: a\r\n\r\n";
  std::string two = "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  http1::Parser p1(http1::MessageKind::request, {});
  http1::Parser p2(http1::MessageKind::request, {});
  FieldList out;
  build_request(parse_head(p1, one), one.data(), kRewrite, "http", out);
  EXPECT_EQ(out.size(), 8u);
  build_request(parse_head(p2, two), two.data(), kRewrite, "http", out);
  EXPECT_EQ(to_fields(out.fields()), (Fields{{":method", "GET"},
                                             {":scheme", "http"},
                                             {":authority", "backend:9001"},
                                             {":path", "/two"},
                                             {"x-forwarded-for", "127.0.0.9"},
                                             {"x-forwarded-proto", "http"},
                                             {"x-forwarded-host", "h"}}));
}

TEST(Http2FieldList, AddLowersOnlyWhenAskedAndAppendValueExtendsTheLastField) {
  FieldList l;
  l.add("X-Keep", "V1");
  l.add("X-Lower", "V2", true);
  l.append_value(", more");
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(to_fields(l.fields()), (Fields{{"X-Keep", "V1"}, {"x-lower", "V2, more"}}));
  // Many fields: the text grows, the fields must still point at the right bytes.
  for (int i = 0; i < 200; ++i) l.add("N" + std::to_string(i), std::string(50, 'a' + i % 26));
  auto f = to_fields(l.fields());
  ASSERT_EQ(f.size(), 202u);
  EXPECT_EQ(f[1].second, "V2, more");
  EXPECT_EQ(f[201], (std::pair<std::string, std::string>{"N199", std::string(50, 'r')}));
  l.clear();
  EXPECT_EQ(l.size(), 0u);
  EXPECT_TRUE(l.fields().empty());
}

// A ClientSession connected to an in-memory nghttp2 server: for requests that must pass a
// real HTTP/2 implementation's checks, and for ClientStreams holding a real response.
class Http2TranslateExchange : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server.pump(client)); }

  // Sends a GET on `stream` and has the server answer with `status`, `fields`, `body` and
  // `trailers`.
  void exchange(ClientStream& stream, int status, const Fields& fields, std::string body = {},
                Fields trailers = {}) {
    auto req = test::get_fields();
    ASSERT_TRUE(client.submit(stream, req, false));
    ASSERT_TRUE(server.pump(client));
    server.respond_all(stream.id(), status, fields, std::move(body), std::move(trailers));
    server.pump(client);
    ASSERT_EQ(stream.state(), ClientStream::State::closed) << stream.failure();
  }

  std::string head_of(ClientStream& stream, http1::ResponseFraming framing) {
    std::string out;
    write_response_head(stream, framing, out);
    return out;
  }

  asio::io_context io;
  H2TestServer server;
  ClientSession client{nullptr, "u1"};
};

TEST_F(Http2TranslateExchange, BuiltRequestPassesAnHttp2ServersChecks) {
  std::string wire =
      "POST http://client.example/p?q=1 HTTP/1.1\r\nHost: client.example\r\n"
      "Connection: keep-alive, X-Private\r\nX-Private: s\r\nKeep-Alive: 5\r\n"
      "Proxy-Connection: x\r\nTE: gzip, trailers\r\nUpgrade: h2c\r\nExpect: 100-continue\r\n"
      "Content-Length: 3\r\nAccept: a\r\n\r\nabc";
  http1::Parser p(http1::MessageKind::request, {});
  FieldList fields;
  build_request(parse_head(p, wire), wire.data(), kRewrite, "http", fields);
  ClientStream st(io.get_executor());
  ASSERT_TRUE(client.submit(st, fields.fields(), true));
  st.send_body("abc");
  st.end_body();
  ASSERT_TRUE(server.pump(client));
  const auto& seen = server.streams[st.id()];
  EXPECT_FALSE(seen.rst_received);
  EXPECT_FALSE(seen.closed) << "the server refused the request: " << seen.close_code;
  EXPECT_TRUE(seen.end_stream);
  EXPECT_EQ(seen.body, "abc");
  EXPECT_EQ(seen.request, (Fields{{":method", "POST"},
                                  {":scheme", "http"},
                                  {":authority", "backend:9001"},
                                  {":path", "/p?q=1"},
                                  {"te", "trailers"},
                                  {"content-length", "3"},
                                  {"accept", "a"},
                                  {"x-forwarded-for", "127.0.0.9"},
                                  {"x-forwarded-proto", "http"},
                                  {"x-forwarded-host", "client.example"}}));
}

TEST_F(Http2TranslateExchange, AbsoluteFormWithOnlyAQueryPassesTheServersChecks) {
  std::string wire = "GET http://client.example?q=1 HTTP/1.1\r\nHost: client.example\r\n\r\n";
  http1::Parser p(http1::MessageKind::request, {});
  FieldList fields;
  build_request(parse_head(p, wire), wire.data(), kRewrite, "http", fields);
  ClientStream st(io.get_executor());
  ASSERT_TRUE(client.submit(st, fields.fields(), false));
  ASSERT_TRUE(server.pump(client));
  EXPECT_FALSE(server.streams[st.id()].closed)
      << "the server reset the stream with " << server.streams[st.id()].close_code;
  EXPECT_EQ(st.state(), ClientStream::State::open);
}

TEST_F(Http2TranslateExchange, ResponseHeadHasReasonPhraseAndFieldsInOrder) {
  ClientStream st(io.get_executor());
  exchange(st, 404,
           {{"content-type", "text/html"},
            {"set-cookie", "a=1"},
            {"x-between", "2"},
            {"set-cookie", "b=2; Path=/"},
            {"set-cookie", "c=3"},
            {"content-length", "9"}},
           "not found");
  EXPECT_EQ(head_of(st, {}),
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\nset-cookie: a=1\r\n"
            "x-between: 2\r\nset-cookie: b=2; Path=/\r\nset-cookie: c=3\r\n"
            "content-length: 9\r\n\r\n");
}

TEST_F(Http2TranslateExchange, ResponseHeadFramingChunkedCloseAndKeepAlive) {
  ClientStream st(io.get_executor());
  exchange(st, 200, {{"content-length", "2"}, {"x-a", "1"}}, "ok");
  EXPECT_EQ(head_of(st, {true, false, false}),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  EXPECT_EQ(head_of(st, {false, true, false}),
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(head_of(st, {true, true, false}),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(head_of(st, {false, false, true}),
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: 1\r\nconnection: keep-alive\r\n\r\n");
}

TEST_F(Http2TranslateExchange, ResponseHeadForUnusualCodes) {
  const std::pair<int, const char*> cases[] = {
      {299, "HTTP/1.1 299 Unknown\r\n"},
      {418, "HTTP/1.1 418 I'm a teapot\r\n"},
      {204, "HTTP/1.1 204 No Content\r\n"},
      {599, "HTTP/1.1 599 Unknown\r\n"},
      {308, "HTTP/1.1 308 Permanent Redirect\r\n"},
  };
  for (const auto& [status, line] : cases) {
    SCOPED_TRACE(status);
    ClientStream st(io.get_executor());
    exchange(st, status, {});
    EXPECT_EQ(st.status(), status);
    EXPECT_EQ(head_of(st, {}), std::string(line) + "\r\n");
  }
}

TEST_F(Http2TranslateExchange, LastChunkCarriesTheResponseTrailers) {
  ClientStream st(io.get_executor());
  exchange(st, 200, {{"content-type", "application/grpc"}}, "body",
           {{"grpc-status", "0"}, {"grpc-message", "fine"}, {"x-checksum", "abc"}});
  std::string out;
  write_last_chunk(st, out);
  EXPECT_EQ(out, "0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\nx-checksum: abc\r\n\r\n");
  // The trailers are not part of the head.
  EXPECT_EQ(head_of(st, {true, false, false}),
            "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\n"
            "transfer-encoding: chunked\r\n\r\n");

  ClientStream plain(io.get_executor());
  exchange(plain, 200, {}, "body");
  std::string none;
  write_last_chunk(plain, none);
  EXPECT_EQ(none, "0\r\n\r\n");
}

}  // namespace
}  // namespace lb::http2
