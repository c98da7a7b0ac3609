// Bodies on the way through: request bodies with Content-Length and chunked (with
// trailers), response re-framing for HTTP/1.1 and HTTP/1.0 clients, bodiless responses,
// Expect: 100-continue, interim responses, and 1 GiB each way in bounded memory.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace it {
namespace {

// --- request bodies ----------------------------------------------------------------------

TEST(RequestBody, ContentLengthUploadArrivesAsSent) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  auto r = http({.method = "POST", .url = url(lb->port(), "/up"), .body = "hello upload"});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "stored");
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& rq = seen[0];
  EXPECT_EQ(rq.start_line, "POST /up HTTP/1.1");
  EXPECT_EQ(rq.all("Content-Length"), std::vector<std::string>{"12"});
  EXPECT_EQ(rq.header("Transfer-Encoding"), std::nullopt);
  EXPECT_EQ(rq.body, "hello upload");
}

TEST(RequestBody, ChunkedUploadWithTrailersStaysChunked) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: abc123\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.buffered();
  EXPECT_EQ(r->status, 200);
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& rq = seen[0];
  EXPECT_TRUE(rq.chunked) << rq.head;
  EXPECT_EQ(rq.all("Transfer-Encoding"), std::vector<std::string>{"chunked"});
  EXPECT_EQ(rq.header("Content-Length"), std::nullopt);
  EXPECT_EQ(rq.body, "hello world");
  EXPECT_EQ(rq.trailers, (Headers{{"X-Checksum", "abc123"}}));
}

TEST(RequestBody, ChunkedUploadInPiecesKeepsTheConnectionUsable) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  // Separate writes so the balancer's reads may end inside a chunk or its CRLF (the kernel
  // may coalesce them; the body must arrive intact either way).
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(c.send("4\r\nab"));
  ASSERT_TRUE(c.send("cd\r\n3\r\nefg\r"));
  ASSERT_TRUE(c.send("\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.buffered();
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(c.send("GET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].body, "abcdefg");
  EXPECT_EQ(seen[1].target, "/after");
}

TEST(RequestBody, CurlChunkedUploadFromReadCallback) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  constexpr std::size_t kSize = 300 * 1024;
  std::size_t sent = 0;
  CurlRequest rq{.method = "POST", .url = url(lb->port(), "/up")};
  rq.source = [&](char* out, std::size_t n) {
    std::size_t k = std::min({n, kSize - sent, std::size_t{7000}});
    fill_pattern(sent, out, k);
    sent += k;
    return k;
  };
  auto r = http(rq);
  EXPECT_EQ(r.status, 200) << r.error;
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 1u);
  const auto& got = seen[0];
  EXPECT_TRUE(got.chunked);
  ASSERT_EQ(got.body.size(), kSize);
  EXPECT_TRUE(matches_pattern(0, got.body.data(), got.body.size()));
}

TEST(RequestBody, Expect100ContinueIsAnsweredByTheBalancer) {
  // The backend never sends 100 Continue: an interim response must come from the balancer.
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(
      c.send("PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim) << c.buffered();
  EXPECT_EQ(interim->start_line, "HTTP/1.1 100 Continue");
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(up.requests().size(), 1u);
  EXPECT_EQ(up.requests()[0].body, "hello");
}

TEST(RequestBody, Expect100ContinueWithCurl) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("stored")));
  auto lb = start_balancer({up.backend()});
  std::string body(5000, 'e');
  auto r = http(
      {.method = "POST", .url = url(lb->port(), "/up"), .body = body, .expect_continue = true});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.interim, std::vector<std::string>{"HTTP/1.1 100 Continue"});
  ASSERT_EQ(up.requests().size(), 1u);
  EXPECT_EQ(up.requests()[0].body, body);
}

TEST(RequestBody, PipelinedRequestsWithBodiesKeepTheirBoundaries) {
  ScriptedUpstream up([](ScriptedConn& c) {
    while (auto rq = c.read_request()) c.send(ok_response(rq->target + ":" + rq->body));
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send(
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
      "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"));
  for (const char* expected : {"/a:hello", "/b:xyz", "/c:"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "missing response " << expected << "; buffered: " << c.buffered();
    EXPECT_EQ(r->body, expected);
  }
  EXPECT_EQ(up.requests().size(), 3u);
}

TEST(RequestBody, LargeRequestHeadUnderTheLimitIsForwarded) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("ok")));
  auto lb = start_balancer({up.backend()});
  std::string req = "GET /big HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 20; ++i) {
    req += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, static_cast<char>('a' + i)) +
           "\r\n";
  }
  RawClient c(lb->port());
  ASSERT_TRUE(c.send(req + "\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 1u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(seen[0].header("X-Filler-" + std::to_string(i)),
              std::string(1000, static_cast<char>('a' + i)));
  }
}

// --- response framing --------------------------------------------------------------------

const std::string kChunkedResponse =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Framing: chunked\r\n\r\n"
    "3\r\nabc\r\n5\r\ndefgh\r\n0\r\nX-Digest: 42\r\n\r\n";

TEST(ResponseFraming, ChunkedResponseStaysChunkedForHttp11) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(kChunkedResponse));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  for (int i = 0; i < 2; ++i) {  // and the connection stays usable
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.buffered();
    EXPECT_TRUE(r->chunked) << r->head;
    EXPECT_EQ(r->header("Content-Length"), std::nullopt);
    EXPECT_EQ(r->body, "abcdefgh");
    EXPECT_EQ(r->trailers, (Headers{{"X-Digest", "42"}}));
    EXPECT_EQ(r->header("X-Framing"), "chunked");
  }
  EXPECT_FALSE(c.peer_closed());
}

TEST(ResponseFraming, ChunkedResponseIsDechunkedAndClosedForHttp10) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(kChunkedResponse));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  std::string all = c.read_until_close();
  ASSERT_TRUE(c.peer_closed());
  std::size_t consumed = 0;
  auto r = parse_message(all, MessageKind::response, consumed, /*eof=*/true);
  ASSERT_TRUE(r) << all;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Transfer-Encoding"), std::nullopt) << r->head;
  EXPECT_EQ(r->header("Content-Length"), std::nullopt) << r->head;
  EXPECT_TRUE(r->close_delimited);
  EXPECT_EQ(r->body, "abcdefgh");
}

TEST(ResponseFraming, CloseDelimitedResponseBecomesChunkedForHttp11) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    c.send("until ");
    c.send("the end");
  });  // returning closes the connection: the end of the body
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << c.buffered();
    EXPECT_TRUE(r->chunked) << r->head;
    EXPECT_EQ(r->body, "until the end");
    EXPECT_FALSE(c.peer_closed()) << "the client connection does not depend on the backend's";
  }
  EXPECT_EQ(up.connections(), 2u);
}

TEST(ResponseFraming, CloseDelimitedResponseStaysCloseDelimitedForHttp10) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.send("HTTP/1.0 200 OK\r\n\r\nold style body");
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
  std::string all = c.read_until_close();
  std::size_t consumed = 0;
  auto r = parse_message(all, MessageKind::response, consumed, /*eof=*/true);
  ASSERT_TRUE(r) << all;
  EXPECT_EQ(r->header("Transfer-Encoding"), std::nullopt);
  EXPECT_EQ(r->body, "old style body");
}

TEST(ResponseFraming, HeadResponseHasNoBody) {
  ScriptedUpstream up([](ScriptedConn& c) {
    while (auto rq = c.read_request()) {
      std::string body(1234, 'h');
      std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
      c.send(rq->method == "HEAD" ? head : head + body);
    }
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->header("Content-Length"), "1234");
  EXPECT_EQ(c.buffered(), "") << "bytes after a HEAD response";
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, std::string(1234, 'h'));
  EXPECT_EQ(c.buffered(), "");
}

TEST(ResponseFraming, HeadRequestWithCurl) {
  ScriptedUpstream up(
      ScriptedUpstream::reply_always("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nX-Head: 1\r\n\r\n"));
  auto lb = start_balancer({up.backend()});
  auto r = http({.method = "HEAD", .url = url(lb->port())});
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "99");
  EXPECT_EQ(r.body_bytes, 0u);
  ASSERT_EQ(up.requests().size(), 1u);
  EXPECT_EQ(up.requests()[0].method, "HEAD");
}

class BodilessStatus : public ::testing::TestWithParam<std::string> {};

TEST_P(BodilessStatus, HasNoBodyAndTheConnectionStaysInSync) {
  ScriptedUpstream up([head = GetParam()](ScriptedConn& c) {
    while (auto rq = c.read_request()) {
      c.send(rq->target == "/empty" ? head : ok_response("next"));
    }
  });
  // A short response timeout turns a balancer waiting for a body that never comes into a
  // quick failure instead of a stall.
  auto lb = start_balancer({up.backend()}, {"--response-timeout", "5s"});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET /empty HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->start_line, GetParam().substr(0, GetParam().find("\r\n")));
  EXPECT_EQ(r1->header("Transfer-Encoding"), std::nullopt) << r1->head;
  EXPECT_EQ(c.buffered(), "");
  ASSERT_TRUE(c.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2) << c.buffered();
  EXPECT_EQ(r2->body, "next");
}

INSTANTIATE_TEST_SUITE_P(Statuses, BodilessStatus,
                         ::testing::Values("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
                                           "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n",
                                           "HTTP/1.1 304 Not Modified\r\nContent-Length: "
                                           "10\r\n\r\n"));

TEST(ResponseFraming, InterimResponsesReachHttp11Clients) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
    c.send(ok_response("final"));
    while (c.read_request()) c.send(ok_response("final"));
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto hints = c.read_response();
  ASSERT_TRUE(hints);
  EXPECT_EQ(hints->status, 103);
  EXPECT_EQ(hints->header("Link"), "</style.css>; rel=preload");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "final");
}

TEST(ResponseFraming, InterimResponsesAreNotSentToHttp10Clients) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
    c.send(ok_response("final"));
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "final");
}

TEST(ResponseFraming, LargeResponseHeadIsForwarded) {
  std::string big(20 * 1024, 'c');
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("ok", "X-Big: " + big + "\r\n")));
  auto lb = start_balancer({up.backend()});
  auto r = http_get(url(lb->port()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Big"), big);
  EXPECT_EQ(r.body, "ok");
}

// --- 1 GiB each way ----------------------------------------------------------------------

constexpr std::uint64_t kGiB = 1ULL << 30;
constexpr long kMaxRssKb = 64 * 1024;
constexpr auto kBigTimeout = 300s;  // generous for sanitizer builds; normally a few seconds

TEST(LargeTransfer, OneGibUploadStreamsInBoundedMemory) {
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> intact{true};
  ScriptedUpstream up([&](ScriptedConn& c) {
    auto head = c.read_head();
    if (!head) return;
    auto length = parse_head(*head, MessageKind::request).header("Content-Length");
    if (!length) return;
    std::uint64_t expected = std::stoull(*length), got = 0;
    std::vector<char> buf(256 * 1024);
    while (got < expected) {
      std::size_t n = c.read_some(buf.data(), std::min<std::uint64_t>(buf.size(), expected - got));
      if (n == 0) break;
      if (!matches_pattern(got, buf.data(), n)) intact = false;
      got += n;
    }
    received = got;
    c.send(ok_response(std::to_string(got)));
  });
  auto lb = start_balancer({up.backend()});
  std::uint64_t sent = 0;
  CurlRequest rq{.method = "POST", .url = url(lb->port(), "/upload")};
  rq.source = [&](char* out, std::size_t n) {
    std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, kGiB - sent));
    fill_pattern(sent, out, k);
    sent += k;
    return k;
  };
  rq.source_size = kGiB;
  rq.timeout = kBigTimeout;
  auto r = http(rq);
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(kGiB));
  EXPECT_EQ(received.load(), kGiB);
  EXPECT_TRUE(intact.load()) << "the upload arrived altered";
  long rss = lb->peak_rss_kb();
  RecordProperty("balancer_peak_rss_kb", static_cast<int>(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, kMaxRssKb) << "load_balancer peak RSS " << rss << " KiB";
}

TEST(LargeTransfer, OneGibDownloadStreamsInBoundedMemory) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kGiB) + "\r\n\r\n")) return;
    std::vector<char> buf(256 * 1024);
    for (std::uint64_t pos = 0; pos < kGiB;) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), kGiB - pos));
      fill_pattern(pos, buf.data(), n);
      if (!c.send({buf.data(), n})) return;
      pos += n;
    }
  });
  auto lb = start_balancer({up.backend()});
  std::uint64_t got = 0;
  bool intact = true;
  CurlRequest rq{.url = url(lb->port(), "/download")};
  rq.sink = [&](const char* data, std::size_t n) {
    if (!matches_pattern(got, data, n)) intact = false;
    got += n;
    return true;
  };
  rq.timeout = kBigTimeout;
  auto r = http(rq);
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(kGiB));
  EXPECT_EQ(got, kGiB);
  EXPECT_EQ(r.body_bytes, kGiB);
  EXPECT_TRUE(intact) << "the download arrived altered";
  long rss = lb->peak_rss_kb();
  RecordProperty("balancer_peak_rss_kb", static_cast<int>(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, kMaxRssKb) << "load_balancer peak RSS " << rss << " KiB";
}

}  // namespace
}  // namespace it
