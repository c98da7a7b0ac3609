#include "lb/http1/rewrite.hpp"

#include <gtest/gtest.h>

#include "lb/http1/parser.hpp"

namespace lb::http1 {
namespace {

// Parses a head from `wire` (kept alive by the caller) and returns the parser.
Head parse_head(MessageKind kind, const std::string& wire, Parser& p) {
  p.start();
  auto r = p.parse(wire.data(), 0, wire.size());
  EXPECT_EQ(r.event, Parser::Event::head) << p.error_reason();
  return p.head();
}

TEST(Http1Rewrite, RequestHeadRewritesHostAndForwardedFieldsAndDropsHopByHop) {
  std::string wire =
      "POST /p?q=1 HTTP/1.1\r\nHost: client.example\r\nConnection: keep-alive, X-Private\r\n"
      "X-Private: secret\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n"
      "Upgrade: h2c\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
      "Expect: 100-continue\r\nAccept: a\r\nX-Forwarded-For: 10.0.0.2\r\n"
      "Transfer-Encoding: chunked\r\nCookie: c=1\r\n\r\n";
  Parser p(MessageKind::request, {});
  Head h = parse_head(MessageKind::request, wire, p);
  std::string out;
  write_request_head(h, wire.data(), {"backend:9001", false, "127.0.0.9"}, out);
  EXPECT_EQ(out,
            "POST /p?q=1 HTTP/1.1\r\nHost: backend:9001\r\n"
            "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.9\r\nAccept: a\r\nCookie: c=1\r\n"
            "X-Forwarded-Proto: http\r\nX-Forwarded-Host: client.example\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");

  std::string kept;
  write_request_head(h, wire.data(), {"backend:9001", true, "127.0.0.9"}, kept);
  EXPECT_NE(kept.find("\r\nHost: client.example\r\n"), std::string::npos);
}

TEST(Http1Rewrite, AcceptsTrailersReadsTeAsAListOfTokens) {
  const std::pair<const char*, bool> cases[] = {
      {"TE: trailers\r\n", true},
      {"TE: gzip, Trailers;q=0.5\r\n", true},
      {"TE: gzip\r\nTE: trailers\r\n", true},
      {"TE: gzip, trailersx\r\n", false},  // a substring is not the token
      {"TE: deflate\r\n", false},
      {"X-TE: trailers\r\n", false},
      {"", false},
  };
  for (const auto& [fields, expected] : cases) {
    SCOPED_TRACE(fields);
    std::string wire = std::string("GET / HTTP/1.1\r\nHost: h\r\n") + fields + "\r\n";
    Parser p(MessageKind::request, {});
    Head h = parse_head(MessageKind::request, wire, p);
    EXPECT_EQ(accepts_trailers(h, wire.data()), expected);
    EXPECT_EQ(client_host(h, wire.data()), "h");
  }
}

TEST(Http1Rewrite, Http10RequestWithoutHostGetsOne) {
  std::string wire = "GET / HTTP/1.0\r\nUser-Agent: old\r\n\r\n";
  Parser p(MessageKind::request, {});
  Head h = parse_head(MessageKind::request, wire, p);
  std::string out;
  write_request_head(h, wire.data(), {"b:1", false, "::1"}, out);
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nHost: b:1\r\nUser-Agent: old\r\nX-Forwarded-For: ::1\r\n"
            "X-Forwarded-Proto: http\r\n\r\n");
}

TEST(Http1Rewrite, ResponseHeadKeepsFieldsAndReasonAndReframes) {
  std::string wire =
      "HTTP/1.1 299 Custom Words\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nConnection: close, "
      "X-Hop\r\n"
      "X-Hop: 1\r\nTransfer-Encoding: chunked\r\nX-Keep: v\r\n\r\n";
  Parser p(MessageKind::response, {});
  Head h = parse_head(MessageKind::response, wire, p);
  std::string out;
  write_response_head(h, wire.data(), {true, false, false}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 299 Custom Words\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Keep: v\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  std::string closing;
  write_response_head(h, wire.data(), {false, true, false}, closing);
  EXPECT_NE(closing.find("Connection: close\r\n\r\n"), std::string::npos);
  std::string ka10;
  write_response_head(h, wire.data(), {false, false, true}, ka10);
  EXPECT_NE(ka10.find("Connection: keep-alive\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace lb::http1
