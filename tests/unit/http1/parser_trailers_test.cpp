#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "lb/http1/parser.hpp"

namespace lb::http1 {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Message {
  std::string body;  // everything output() produced
  Fields trailers;   // Parser::trailers() at message_done
};

struct Run {
  std::vector<Message> messages;
  bool error = false;
  std::error_code ec;
  std::string reason;
};

// Feeds `input` in pieces of `step` bytes (0 = all at once) with BodyOutput::data chosen at
// every head, as the HTTP/2 upstream path does, and records each message's body and trailers.
Run run(std::string_view input, std::size_t step) {
  Parser p(MessageKind::request, {});
  p.start();
  Run res;
  Message cur;
  std::string buf;
  buf.reserve(input.size());  // body spans in output() point into it
  std::size_t pos = 0;
  std::size_t fed = 0;
  while (fed < input.size() && !res.error) {
    std::size_t n = step == 0 ? input.size() : std::min(step, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
    for (;;) {
      auto r = p.parse(buf.data(), pos, buf.size());
      pos += r.consumed;
      for (auto s : p.output()) cur.body.append(s.data(), s.size());
      p.clear_output();
      if (r.event == Parser::Event::error) {
        res.error = true;
        res.ec = p.error();
        res.reason = p.error_reason();
        break;
      }
      if (r.event == Parser::Event::head) {
        EXPECT_TRUE(p.trailers().empty());
        p.set_body_output(BodyOutput::data);
        continue;
      }
      if (r.event == Parser::Event::message_done) {
        cur.trailers = p.trailers();
        res.messages.push_back(std::move(cur));
        cur = {};
        p.start();
        EXPECT_TRUE(p.trailers().empty()) << "start() must forget the trailers";
        continue;
      }
      if (r.event == Parser::Event::body) continue;
      break;
    }
  }
  return res;
}

constexpr std::string_view kChunkedWithTrailers =
    "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n"
    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc123\r\nx-other: 1 2\r\n"
    "Grpc-Status: 0\r\n\r\n";

TEST(Http1ParserTrailers, DataOutputIsThePayloadOnlyAndTrailersAreCollectedInOrder) {
  auto r = run(kChunkedWithTrailers, 0);
  ASSERT_FALSE(r.error) << r.reason;
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "hello world");
  EXPECT_EQ(r.messages[0].trailers,
            (Fields{{"X-Checksum", "abc123"}, {"x-other", "1 2"}, {"Grpc-Status", "0"}}));
}

TEST(Http1ParserTrailers, SameBodyAndTrailersAtEveryFragmentBoundary) {
  auto whole = run(kChunkedWithTrailers, 0);
  ASSERT_EQ(whole.messages.size(), 1u);
  for (std::size_t step = 1; step < kChunkedWithTrailers.size(); ++step) {
    auto part = run(kChunkedWithTrailers, step);
    ASSERT_FALSE(part.error) << "step " << step << ": " << part.reason;
    ASSERT_EQ(part.messages.size(), 1u) << "step " << step;
    EXPECT_EQ(part.messages[0].body, whole.messages[0].body) << "step " << step;
    EXPECT_EQ(part.messages[0].trailers, whole.messages[0].trailers) << "step " << step;
  }
}

TEST(Http1ParserTrailers, ChunkedWithoutTrailersHasNone) {
  auto r = run(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 0);
  ASSERT_FALSE(r.error) << r.reason;
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "abc");
  EXPECT_TRUE(r.messages[0].trailers.empty());
}

TEST(Http1ParserTrailers, ContentLengthBodyHasNoTrailers) {
  auto r =
      run("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Not-A-Trailer: 1\r\n\r\nhello", 0);
  ASSERT_FALSE(r.error) << r.reason;
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "hello");
  EXPECT_TRUE(r.messages[0].trailers.empty());
}

TEST(Http1ParserTrailers, EachMessageOnAConnectionHasOnlyItsOwnTrailers) {
  std::string in = std::string(kChunkedWithTrailers) +
                   "POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "2\r\nhi\r\n0\r\nX-Second: 2\r\n\r\n" +
                   "POST /three HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nz";
  auto r = run(in, 0);
  ASSERT_FALSE(r.error) << r.reason;
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].trailers.size(), 3u);
  EXPECT_EQ(r.messages[1].body, "hi");
  EXPECT_EQ(r.messages[1].trailers, (Fields{{"X-Second", "2"}}));
  EXPECT_EQ(r.messages[2].body, "z");
  EXPECT_TRUE(r.messages[2].trailers.empty());
}

TEST(Http1ParserTrailers, StartClearsTrailersOfAnUnfinishedMessage) {
  Parser p(MessageKind::request, {});
  p.start();
  std::string buf(kChunkedWithTrailers);
  auto r = p.parse(buf.data(), 0, buf.size());
  ASSERT_EQ(r.event, Parser::Event::head);
  p.set_body_output(BodyOutput::data);
  r = p.parse(buf.data(), r.consumed, buf.size());
  ASSERT_EQ(r.event, Parser::Event::message_done);
  ASSERT_EQ(p.trailers().size(), 3u);
  p.start();
  EXPECT_TRUE(p.trailers().empty());
}

TEST(Http1ParserTrailers, EmptyTrailerValueDoesNotSwallowTheNextField) {
  std::string in =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\nx\r\n0\r\nX-Empty:\r\nX-Next: 1\r\nX-Blank: \r\nX-Last: 2\r\n\r\n";
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    SCOPED_TRACE(step);
    auto r = run(in, step);
    ASSERT_FALSE(r.error) << r.reason;
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].trailers,
              (Fields{{"X-Empty", ""}, {"X-Next", "1"}, {"X-Blank", ""}, {"X-Last", "2"}}));
  }
}

TEST(Http1ParserTrailers, OversizedTrailerSectionIsAnError) {
  std::string in =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
  for (int i = 0; i < 100; ++i) {
    in += "X-Pad-" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  }
  in += "\r\n";
  for (std::size_t step : {std::size_t{0}, std::size_t{7}}) {
    SCOPED_TRACE(step);
    auto r = run(in, step);
    EXPECT_TRUE(r.error);
    EXPECT_EQ(r.ec, make_error_code(errc::bad_request));
    EXPECT_EQ(r.reason, "trailer section too large");
    EXPECT_TRUE(r.messages.empty());
  }
}

TEST(Http1ParserTrailers, OneLargeTrailerValueIsAnErrorToo) {
  std::string in = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: " +
                   std::string(20000, 'v') + "\r\n\r\n";
  auto r = run(in, 0);
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.ec, make_error_code(errc::bad_request));
}

TEST(Http1ParserTrailers, TrailerLimitIsPerMessage) {
  // Two messages each just under the limit: the count starts again with each message.
  std::string one = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
                    std::string(3000, 'v') + "\r\n\r\n";
  auto r = run(one + one + one, 0);
  ASSERT_FALSE(r.error) << r.reason;
  ASSERT_EQ(r.messages.size(), 3u);
  for (const auto& m : r.messages) {
    ASSERT_EQ(m.trailers.size(), 1u);
    EXPECT_EQ(m.trailers[0].second.size(), 3000u);
  }
}

TEST(Http1ParserTrailers, ChunkedOutputStillCarriesTrailersInline) {
  // BodyOutput::chunked is unchanged: trailers stay in the output, trailers() stays empty.
  Parser p(MessageKind::request, {});
  p.start();
  std::string buf(kChunkedWithTrailers);
  auto r = p.parse(buf.data(), 0, buf.size());
  ASSERT_EQ(r.event, Parser::Event::head);
  p.set_body_output(BodyOutput::chunked);
  r = p.parse(buf.data(), r.consumed, buf.size());
  ASSERT_EQ(r.event, Parser::Event::message_done);
  std::string out;
  for (auto s : p.output()) out.append(s.data(), s.size());
  EXPECT_NE(out.find("X-Checksum: abc123\r\n"), std::string::npos) << out;
  EXPECT_TRUE(p.trailers().empty());
}

}  // namespace
}  // namespace lb::http1
