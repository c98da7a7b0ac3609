// Replies the balancer makes itself: broken or missing backends (502/503/504), health
// marking and failover, bad client input (400/408/413/414/431/501) and request smuggling.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>

#include "harness.hpp"

namespace it {
namespace {

// --- upstream failures -------------------------------------------------------------------

TEST(UpstreamErrors, ClosedPortGives502ConnectFailedNamingTheBackend) {
  RefusingPort dead;
  auto lb = start_balancer({dead.backend()});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 502, "connect_failed");
  EXPECT_NE(r.body.find(dead.backend()), std::string::npos) << r.body;
}

TEST(UpstreamErrors, FailoverToTheLiveBackendAndMarkDownAfterThreeFailures) {
  RefusingPort dead;
  ScriptedUpstream live(ScriptedUpstream::reply_always(ok_response("live")));
  auto lb = start_balancer({dead.backend(), live.backend()});
  const std::string refused = "cannot connect to backend " + dead.backend();
  const std::string marked = "backend " + dead.backend() + " is down: ";

  // Round robin offers the dead backend first every time until it is marked down.
  for (int i = 1; i <= 3; ++i) {
    auto r = http_get(url(lb->port()));
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.body;
    EXPECT_EQ(r.body, "live");
    EXPECT_EQ(lb->log_count(refused), static_cast<std::size_t>(i)) << lb->log();
    EXPECT_EQ(lb->log_count(marked), i < 3 ? 0u : 1u) << lb->log();
  }
  for (int i = 0; i < 6; ++i) {
    auto r = http_get(url(lb->port()));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "live");
  }
  EXPECT_EQ(lb->log_count(refused), 3u) << "a down backend was tried again:\n" << lb->log();
  EXPECT_EQ(live.requests().size(), 9u);
}

TEST(UpstreamErrors, AllBackendsDownGives503NoBackend) {
  RefusingPort dead;
  auto lb = start_balancer({dead.backend()});
  for (int i = 1; i <= 3; ++i) {
    expect_lb_error(http_get(url(lb->port())), 502, "connect_failed");
  }
  ASSERT_TRUE(lb->wait_for_log(" is down: ")) << lb->log();
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 503, "no_backend");
}

TEST(UpstreamErrors, HangingBackendGives504ResponseTimeout) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.hang();
  });
  auto lb = start_balancer({up.backend()}, {"--response-timeout", "300ms"});
  auto r = http_get(url(lb->port()));
  expect_lb_error(r, 504, "response_timeout");
  EXPECT_NE(r.body.find(up.backend()), std::string::npos) << r.body;
  EXPECT_EQ(up.requests().size(), 1u);
}

TEST(UpstreamErrors, GarbageResponseGives502BadResponse) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.send("garbage that is not HTTP\r\n\r\n");
  });
  auto lb = start_balancer({up.backend()});
  expect_lb_error(http_get(url(lb->port())), 502, "bad_response");
}

TEST(UpstreamErrors, CloseBeforeResponseGives502UpstreamClosed) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.close();
  });
  auto lb = start_balancer({up.backend()});
  expect_lb_error(http_get(url(lb->port())), 502, "upstream_closed");
  EXPECT_EQ(up.requests().size(), 1u) << "a fresh connection's request must not be replayed";
}

TEST(UpstreamErrors, ResetBeforeResponseGives502UpstreamClosed) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.reset();
  });
  auto lb = start_balancer({up.backend()});
  expect_lb_error(http_get(url(lb->port())), 502, "upstream_closed");
}

TEST(UpstreamErrors, TruncatedBodyClosesTheClientConnection) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    c.close();
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(c.read_response()) << "a cut-short body must not look complete";
  EXPECT_TRUE(c.peer_closed());
  EXPECT_TRUE(c.buffered().starts_with("HTTP/1.1 200 OK\r\n")) << c.buffered();
  EXPECT_TRUE(c.buffered().ends_with("\r\n\r\nonly ten b")) << c.buffered();
}

TEST(UpstreamErrors, ErrorReplyKeepsTheClientConnectionForTheNextRequest) {
  ScriptedUpstream up([](ScriptedConn& c) {
    auto rq = c.read_request();
    if (!rq) return;
    if (rq->target == "/broken") {
      c.send("garbage\r\n\r\n");
      return;
    }
    c.send(ok_response("fine"));
    while (c.read_request()) c.send(ok_response("fine"));
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET /broken HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 502);
  EXPECT_EQ(r1->header("X-LB-Error"), "bad_response");
  ASSERT_TRUE(c.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2) << "connection unusable after a 502: " << c.buffered();
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->body, "fine");
}

TEST(UpstreamErrors, MalformedBodyBeforeAnythingWasSentGives502) {
  // Head and a broken chunk arrive together: the client has seen nothing yet, so the
  // balancer can still answer properly instead of closing an empty connection.
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) {
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
    }
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "got only: \"" << c.buffered() << "\"";
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->header("X-LB-Error"), "bad_response");
}

TEST(UpstreamErrors, MalformedBodyAfterTheHeadClosesWithoutLastChunk) {
  std::promise<void> client_saw_first_chunk;
  ScriptedUpstream up([&](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    client_saw_first_chunk.get_future().wait_for(kTimeout);  // the head is out for sure
    c.send("zz\r\nbroken\r\n0\r\n\r\n");
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(c.read_until("hello\r\n")) << c.buffered();
  client_saw_first_chunk.set_value();
  EXPECT_TRUE(c.wait_closed());
  EXPECT_FALSE(c.read_response()) << "a broken body must not end like a complete one";
  EXPECT_EQ(c.buffered().find("broken"), std::string::npos);
  EXPECT_FALSE(c.buffered().ends_with("0\r\n\r\n")) << c.buffered();
}

TEST(UpstreamErrors, ResponseHeadOverTheLimitGives502) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 100; ++i)
      head += "X-Big-" + std::to_string(i) + ": " + std::string(1000, 'b') + "\r\n";
    c.send(head + "Content-Length: 2\r\n\r\nok");
  });
  auto lb = start_balancer({up.backend()});
  expect_lb_error(http_get(url(lb->port())), 502, "bad_response");
}

TEST(UpstreamErrors, BackendStallingMidBodyClosesTheClientAfterTheResponseTimeout) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (!c.read_request()) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
    c.hang();
  });
  auto lb = start_balancer({up.backend()}, {"--response-timeout", "300ms"});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(c.wait_closed());
  EXPECT_TRUE(c.buffered().ends_with("\r\n\r\nfirst part")) << c.buffered();
}

TEST(ClientErrors, StalledRequestBodyGives408) {
  ScriptedUpstream up([](ScriptedConn& c) { c.hang(); });
  auto lb = start_balancer({up.backend()}, {"--client-timeout", "300ms"});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten b"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.buffered();
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->header("X-LB-Error"), "request_timeout");
  EXPECT_TRUE(c.wait_closed());
}

// --- upstream connection reuse rules -----------------------------------------------------

TEST(UpstreamReuse, ConnectionCloseFromTheBackendIsNotPooledNorPassedOn) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.read_request()) c.send(ok_response("bye", "Connection: close\r\n"));
  });
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i << ": " << c.buffered();
    EXPECT_EQ(r->body, "bye");
    EXPECT_EQ(r->header("Connection"), std::nullopt) << "the backend's close is hop-by-hop";
  }
  EXPECT_FALSE(c.peer_closed());
  EXPECT_EQ(up.connections(), 2u);
}

TEST(UpstreamReuse, Http10BackendWithoutKeepAliveIsNotReused) {
  ScriptedUpstream up([](ScriptedConn& c) {
    // Keeps reading: a balancer reusing the connection would not notice anything wrong.
    while (c.read_request()) c.send("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  auto lb = start_balancer({up.backend()});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(url(lb->port())).body, "ok");
  EXPECT_EQ(up.connections(), 3u);
}

TEST(UpstreamReuse, StrayBytesAfterAResponseAreNeverServedToTheNextRequest) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.index() == 0) {
      if (!c.read_request()) return;
      // One response plus an unsolicited second one: response desync bait.
      c.send(ok_response("real-1") + ok_response("stray!"));
    }
    while (c.read_request()) c.send(ok_response("real-" + std::to_string(c.index() + 1)));
  });
  auto lb = start_balancer({up.backend()});
  EXPECT_EQ(http_get(url(lb->port())).body, "real-1");
  EXPECT_EQ(http_get(url(lb->port())).body, "real-2");
}

// --- stale pooled connections ----------------------------------------------------------

TEST(StalePool, IdleConnectionClosedByBackendIsNotUsed) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.index() == 0) {
      if (c.read_request()) c.send(ok_response("first"));
      return;  // closes the now idle keep-alive connection
    }
    while (c.read_request()) c.send(ok_response("fresh"));
  });
  auto lb = start_balancer({up.backend()});
  auto r1 = http_get(url(lb->port(), "/one"));
  EXPECT_EQ(r1.body, "first");
  ASSERT_TRUE(up.wait_for_finished(1));  // the pooled connection is closed now
  auto r2 = http_get(url(lb->port(), "/two"));
  EXPECT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.body, "fresh");
  EXPECT_EQ(up.connections(), 2u);
}

TEST(StalePool, BackendClosingAsTheRequestArrivesIsRetriedOnAFreshConnection) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.index() == 0) {
      if (c.read_request()) c.send(ok_response("first"));
      c.read_request();  // the reuse races with our idle timeout: close without answering
      return;
    }
    while (c.read_request()) c.send(ok_response("fresh"));
  });
  auto lb = start_balancer({up.backend()});
  EXPECT_EQ(http_get(url(lb->port(), "/one")).body, "first");
  auto r2 = http_get(url(lb->port(), "/two"));
  EXPECT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.body, "fresh");
  auto seen = up.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].target, "/two");
  EXPECT_EQ(seen[2].target, "/two");
}

// RFC 9110 §9.2.2: "A proxy MUST NOT automatically retry non-idempotent requests." The
// backend may have acted on the POST before closing.
TEST(StalePool, NonIdempotentRequestIsNotReplayed) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.index() == 0) {
      if (c.read_request()) c.send(ok_response("first"));
      c.read_request();
      return;
    }
    while (c.read_request()) c.send(ok_response("replayed"));
  });
  auto lb = start_balancer({up.backend()});
  EXPECT_EQ(http_get(url(lb->port(), "/one")).body, "first");
  RawClient c(lb->port());
  // One write: the whole request reaches the balancer at once, as small POSTs usually do.
  ASSERT_TRUE(c.send("POST /pay HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\namount=100"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502) << r->body;
  EXPECT_EQ(r->header("X-LB-Error"), "upstream_closed");
  std::size_t posts = 0;
  for (const auto& rq : up.requests()) posts += rq.method == "POST";
  EXPECT_EQ(posts, 1u) << "the POST reached the backend more than once";
}

// --- bad client input --------------------------------------------------------------------

struct Rejection {
  std::optional<Message> response;
  bool closed = false;
  std::uint64_t upstream_bytes = 0;
  std::string log;
};

// Sends `request` (one write) to a balancer whose only backend records what it gets.
Rejection send_bad(const std::string& request, std::vector<std::string> args = {}) {
  ScriptedUpstream up([](ScriptedConn& c) { c.hang(); });
  // Should the request wrongly be forwarded, the hanging backend turns it into a quick 504
  // rather than a long wait.
  args.insert(args.end(), {"--response-timeout", "3s"});
  auto lb = start_balancer({up.backend()}, args);
  Rejection out;
  {
    RawClient c(lb->port());
    EXPECT_TRUE(c.send(request));
    out.response = c.read_response();
    // A reply without Connection: close already fails the test; no need to wait long.
    bool announced_close =
        out.response && iequals(out.response->header("Connection").value_or(""), "close");
    out.closed = c.wait_closed(announced_close ? kTimeout : Clock::duration(1s));
  }
  up.stop();  // settles every byte the balancer sent upstream
  out.upstream_bytes = up.bytes_received();
  out.log = lb->log();
  return out;
}

void expect_rejected(const Rejection& r, int status, const std::string& code) {
  ASSERT_TRUE(r.response) << "no response";
  EXPECT_EQ(r.response->status, status) << r.response->head << r.response->body;
  EXPECT_EQ(r.response->header("X-LB-Error"), code) << r.response->head;
  EXPECT_TRUE(iequals(r.response->header("Connection").value_or(""), "close")) << r.response->head;
  EXPECT_TRUE(r.closed) << "the balancer kept the connection open";
  EXPECT_EQ(r.upstream_bytes, 0u) << "the rejected request reached the backend";
}

TEST(ClientErrors, SlowHeadGives408) {
  ScriptedUpstream up([](ScriptedConn& c) { c.hang(); });
  auto lb = start_balancer({up.backend()}, {"--client-timeout", "300ms"});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Half"));  // and then nothing
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->header("X-LB-Error"), "request_timeout");
  EXPECT_TRUE(c.wait_closed());
  up.stop();
  EXPECT_EQ(up.bytes_received(), 0u);
}

TEST(ClientErrors, IdleConnectionIsClosedSilently) {
  ScriptedUpstream up([](ScriptedConn& c) { c.hang(); });
  auto lb = start_balancer({up.backend()}, {"--idle-timeout", "300ms"});
  RawClient c(lb->port());
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(c.buffered(), "") << "an idle connection gets no 408";
}

TEST(ClientErrors, LongRequestLineGives414) {
  expect_rejected(send_bad("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"), 414,
                  "uri_too_long");
}

TEST(ClientErrors, LargeHeaderBlockGives431) {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 40; ++i)
    req += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'f') + "\r\n";
  expect_rejected(send_bad(req + "\r\n"), 431, "headers_too_large");
}

TEST(ClientErrors, HeaderBlockOverCustomLimitGives431) {
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(3000, 'b') + "\r\n\r\n";
  expect_rejected(send_bad(req, {"--max-header-size", "2k"}), 431, "headers_too_large");
}

TEST(ClientErrors, UnknownMethodGives501) {
  expect_rejected(send_bad("FOO / HTTP/1.1\r\nHost: a\r\n\r\n"), 501, "not_implemented");
}

TEST(ClientErrors, UnknownTransferCodingGives501) {
  expect_rejected(send_bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
                           "chunked\r\n\r\n0\r\n\r\n"),
                  501, "not_implemented");
}

TEST(ClientErrors, BodyOverLimitGives413) {
  expect_rejected(send_bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n" +
                               std::string(2000, 'x'),
                           {"--max-body-size", "1k"}),
                  413, "body_too_large");
}

struct SmugglingCase {
  const char* name;
  std::string request;
};

void PrintTo(const SmugglingCase& c, std::ostream* os) { *os << c.name; }

class Smuggling : public ::testing::TestWithParam<SmugglingCase> {};

TEST_P(Smuggling, RejectedWith400AndNothingReachesTheBackend) {
  expect_rejected(send_bad(GetParam().request), 400, "bad_request");
}

// Each request carries a second, smuggled one that must not reach the backend either.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    ClientErrors, Smuggling,
    ::testing::Values(
        SmugglingCase{"ContentLengthAndTransferEncoding",
                      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: "
                      "chunked\r\n\r\n0\r\n\r\n" +
                          kSmuggled},
        SmugglingCase{"TransferEncodingAndContentLength",
                      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                      "40\r\n\r\n0\r\n\r\n" +
                          kSmuggled},
        SmugglingCase{"TwoDifferentContentLengths",
                      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: "
                      "41\r\n\r\nhello" +
                          kSmuggled},
        SmugglingCase{
            "InvalidChunkSize",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"
            "0\r\n\r\n" +
                kSmuggled},
        SmugglingCase{"ObsFold",
                      "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n" + kSmuggled},
        SmugglingCase{"BareCrInHeader",
                      "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: one\rtwo\r\n\r\n" + kSmuggled},
        SmugglingCase{"SpaceBeforeColon",
                      "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello" + kSmuggled},
        SmugglingCase{"NegativeContentLength",
                      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n" + kSmuggled},
        SmugglingCase{"NulInHeader", "GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a" +
                                         std::string(1, '\0') + "b\r\n\r\n" + kSmuggled}),
    [](const ::testing::TestParamInfo<SmugglingCase>& info) { return info.param.name; });

// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
// request message that lacks a Host header field and to any request message that contains
// more than one Host header field line".
INSTANTIATE_TEST_SUITE_P(
    HostValidation, Smuggling,
    ::testing::Values(SmugglingCase{"MissingHostInHttp11", "GET / HTTP/1.1\r\n\r\n" + kSmuggled},
                      SmugglingCase{"TwoHostLines",
                                    "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n" +
                                        kSmuggled}),
    [](const ::testing::TestParamInfo<SmugglingCase>& info) { return info.param.name; });

TEST(ClientErrors, ChunkedBodyOverLimitGives413) {
  ScriptedUpstream up([](ScriptedConn& c) { c.hang(); });
  auto lb = start_balancer({up.backend()}, {"--max-body-size", "1k"});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                     std::string(2000, 'x') + "\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("X-LB-Error"), "body_too_large");
  EXPECT_TRUE(c.wait_closed());
}

}  // namespace
}  // namespace it
