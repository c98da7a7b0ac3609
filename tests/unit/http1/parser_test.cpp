#include "lb/http1/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace lb::http1 {
namespace {

struct Parsed {
  std::string method;
  std::string target;
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> fields;
  Head head;
  std::string body;  // everything output() produced, framing included
  int messages = 0;
  bool error = false;
  std::error_code ec;
};

// Feeds `input` to a parser in pieces of `step` bytes (0 = all at once), appending to one
// buffer as a connection would, and records what came out.
Parsed run(MessageKind kind, std::string_view input, std::size_t step,
           BodyOutput out = BodyOutput::raw, bool no_body = false) {
  Parser p(kind, {});
  p.start(no_body);
  Parsed res;
  std::string buf;
  std::size_t pos = 0;
  std::size_t fed = 0;
  while (fed < input.size() && !res.error) {
    std::size_t n = step == 0 ? input.size() : std::min(step, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
    for (;;) {
      auto r = p.parse(buf.data(), pos, buf.size());
      pos += r.consumed;
      for (auto s : p.output()) res.body.append(s.data(), s.size());
      p.clear_output();
      if (r.event == Parser::Event::error) {
        res.error = true;
        res.ec = p.error();
        break;
      }
      if (r.event == Parser::Event::head) {
        const Head& h = p.head();
        res.head = h;
        res.method = std::string(h.method);
        res.target = std::string(h.target.in(buf.data()));
        res.status = h.status;
        res.reason = std::string(h.reason.in(buf.data()));
        res.fields.clear();
        for (const auto& f : h.fields) {
          res.fields.emplace_back(f.name.in(buf.data()), f.value.in(buf.data()));
        }
        p.set_body_output(out);
        continue;
      }
      if (r.event == Parser::Event::message_done) {
        ++res.messages;
        p.start(no_body);
        continue;
      }
      if (r.event == Parser::Event::body) continue;
      break;
    }
  }
  return res;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(Http1Parser, ParsesRequestHeadKeepingOrderCaseAndDuplicates) {
  auto r =
      run(MessageKind::request,
          "GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Dup: 1\r\nx-dup: 2\r\nAccept:  */* \r\n\r\n", 0);
  ASSERT_FALSE(r.error) << r.ec.message();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a?b=c");
  EXPECT_EQ(r.fields, (Fields{{"Host", "x"}, {"X-Dup", "1"}, {"x-dup", "2"}, {"Accept", "*/* "}}));
  EXPECT_EQ(r.messages, 1);
  EXPECT_FALSE(r.head.has_body);
  EXPECT_TRUE(r.head.keep_alive);
}

TEST(Http1Parser, SameResultAtEveryFragmentBoundary) {
  const std::string inputs[] = {
      "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer-A: 1\r\n\r\n",
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  for (const auto& in : inputs) {
    for (auto out : {BodyOutput::raw, BodyOutput::chunked}) {
      auto whole = run(MessageKind::request, in, 0, out);
      ASSERT_FALSE(whole.error) << in;
      for (std::size_t step = 1; step < in.size(); ++step) {
        auto part = run(MessageKind::request, in, step, out);
        ASSERT_FALSE(part.error) << "step " << step << ": " << part.ec.message();
        EXPECT_EQ(part.target, whole.target) << "step " << step;
        EXPECT_EQ(part.fields, whole.fields) << "step " << step;
        EXPECT_EQ(part.messages, whole.messages) << "step " << step;
        if (out == BodyOutput::raw) {
          EXPECT_EQ(part.body, whole.body) << "step " << step;
        }
      }
    }
  }
}

TEST(Http1Parser, ChunkedBodyIsReframedCanonicallyWithTrailers) {
  std::string in =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=v\r\nhello\r\n0\r\nX-T: 1\r\n\r\n";
  auto chunked = run(MessageKind::request, in, 0, BodyOutput::chunked);
  EXPECT_EQ(chunked.body, "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n");
  auto raw = run(MessageKind::request, in, 0, BodyOutput::raw);
  EXPECT_EQ(raw.body, "hello");
  EXPECT_TRUE(raw.head.chunked);
}

TEST(Http1Parser, CloseDelimitedResponseBecomesChunked) {
  Parser p(MessageKind::response, {});
  p.start();
  std::string buf = "HTTP/1.1 200 OK\r\n\r\nabc";
  auto r = p.parse(buf.data(), 0, buf.size());
  ASSERT_EQ(r.event, Parser::Event::head);
  EXPECT_TRUE(p.head().has_body);
  p.set_body_output(BodyOutput::chunked);
  r = p.parse(buf.data(), r.consumed, buf.size());
  EXPECT_EQ(r.event, Parser::Event::need_more);
  EXPECT_TRUE(p.body_until_eof());
  std::string out;
  for (auto s : p.output()) out.append(s.data(), s.size());
  p.clear_output();
  EXPECT_EQ(p.finish(), Parser::Event::message_done);
  for (auto s : p.output()) out.append(s.data(), s.size());
  EXPECT_EQ(out, "3\r\nabc\r\n0\r\n\r\n");
  EXPECT_FALSE(p.keep_alive());
}

TEST(Http1Parser, ResponsesWithoutBody) {
  auto head = run(MessageKind::response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 0,
                  BodyOutput::raw, true);
  EXPECT_EQ(head.messages, 1);
  EXPECT_FALSE(head.head.has_body);
  for (std::string s : {"204 No Content", "304 Not Modified", "100 Continue",
                        "304 Not Modified\r\nContent-Length: 10"}) {
    auto r = run(MessageKind::response, "HTTP/1.1 " + s + "\r\n\r\n", 0);
    EXPECT_EQ(r.messages, 1) << s;
    EXPECT_FALSE(r.head.has_body) << s;
  }
  auto reason =
      run(MessageKind::response, "HTTP/1.1 299 Odd Reason Here\r\nContent-Length: 0\r\n\r\n", 0);
  EXPECT_EQ(reason.status, 299);
  EXPECT_EQ(reason.reason, "Odd Reason Here");
}

TEST(Http1Parser, ExpectContinueAndHttp10) {
  auto r =
      run(MessageKind::request,
          "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", 0);
  EXPECT_TRUE(r.head.expect_continue);
  auto r10 = run(MessageKind::request, "GET / HTTP/1.0\r\n\r\n", 0);
  EXPECT_TRUE(r10.head.is_http10());
  EXPECT_FALSE(r10.head.keep_alive);
  auto r10ka = run(MessageKind::request, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0);
  EXPECT_TRUE(r10ka.head.keep_alive);
}

struct BadCase {
  const char* name;
  const char* input;
  errc expected;
};

TEST(Http1Parser, RefusesMalformedAndSmugglingRequests) {
  const BadCase cases[] = {
      {"cl and te",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       errc::bad_request},
      {"two content lengths",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
       errc::bad_request},
      {"content length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
       errc::bad_request},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       errc::bad_request},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", errc::bad_request},
      {"bare cr", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", errc::bad_request},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", errc::bad_request},
      {"control char", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", errc::bad_request},
      {"gzip coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       errc::not_implemented},
      {"chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
       errc::bad_request},
      {"chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       errc::bad_request},
      {"unknown method", "FOO / HTTP/1.1\r\n\r\n", errc::not_implemented},
      {"garbage method", "\x01\x02 / HTTP/1.1\r\n\r\n", errc::bad_request},
      {"connect", "CONNECT a:443 HTTP/1.1\r\n\r\n", errc::not_implemented},
      {"http/2.0", "GET / HTTP/2.0\r\n\r\n", errc::version_not_supported},
      {"no host in 1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", errc::bad_request},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", errc::bad_request},
      {"bad version", "GET / HTTP/1.x\r\n\r\n", errc::bad_request},
  };
  for (const auto& c : cases) {
    auto r = run(MessageKind::request, c.input, 0);
    EXPECT_TRUE(r.error) << c.name;
    EXPECT_EQ(r.ec, make_error_code(c.expected)) << c.name << ": " << r.ec.message();
    // Split input must fail the same way: the checks cannot depend on read boundaries.
    auto split = run(MessageKind::request, c.input, 1);
    EXPECT_EQ(split.ec, r.ec) << c.name << " (byte by byte)";
  }
}

TEST(Http1Parser, EnforcesLimits) {
  Parser p(MessageKind::request, {16, 64});
  p.start();
  std::string long_target = "GET /" + std::string(40, 'a') + " HTTP/1.1\r\n\r\n";
  auto r = p.parse(long_target.data(), 0, long_target.size());
  EXPECT_EQ(r.event, Parser::Event::error);
  EXPECT_EQ(p.error(), make_error_code(errc::uri_too_long));

  Parser q(MessageKind::request, {1024, 64});
  q.start();
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'b') + "\r\n";
  r = q.parse(big.data(), 0, big.size());
  EXPECT_EQ(r.event, Parser::Event::error);
  EXPECT_EQ(q.error(), make_error_code(errc::headers_too_large));
}

TEST(Http1Parser, BadResponsesAreBadResponse) {
  for (const char* in : {"garbage\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnope\r\n"}) {
    auto r = run(MessageKind::response, in, 0);
    EXPECT_TRUE(r.error) << in;
    EXPECT_EQ(r.ec, make_error_code(errc::bad_response)) << in;
  }
}

TEST(Http1Parser, PausesWhenFramingBufferFillsAndResumes) {
  std::string in = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string expected_raw;
  for (int i = 0; i < 2000; ++i) {
    in += "1\r\nx\r\n";
    expected_raw += "x";
  }
  in += "0\r\n\r\n";
  auto chunked = run(MessageKind::request, in, 0, BodyOutput::chunked);
  ASSERT_FALSE(chunked.error);
  EXPECT_EQ(chunked.messages, 1);
  EXPECT_EQ(chunked.body, in.substr(in.find("\r\n\r\n") + 4));
  auto raw = run(MessageKind::request, in, 0, BodyOutput::raw);
  EXPECT_EQ(raw.body, expected_raw);
}

}  // namespace
}  // namespace lb::http1
