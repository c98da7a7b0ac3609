// Distribution over the bundled sample backends, keep-alive, pipelining and HTTP/1.0
// clients.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace it {
namespace {

// The nginx smooth weighted round robin, as its documentation describes it: each pick adds
// every weight to its backend's score, takes the highest score (first on ties), and
// subtracts the total weight from the winner.
std::vector<std::size_t> smooth_weighted_reference(const std::vector<unsigned>& weights,
                                                   std::size_t picks) {
  std::vector<long> score(weights.size(), 0);
  long total = 0;
  for (unsigned w : weights) total += w;
  std::vector<std::size_t> out;
  for (std::size_t n = 0; n < picks; ++n) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      score[i] += weights[i];
      if (score[i] > score[best]) best = i;
    }
    score[best] -= total;
    out.push_back(best);
  }
  return out;
}

// The sample backend that served a response: its Server header, checked against the body.
std::string served_by(const CurlResponse& r) {
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 200);
  auto server = r.header("Server");
  if (!server) {
    ADD_FAILURE() << "no Server header";
    return {};
  }
  EXPECT_EQ(r.body, "Hello from " + *server + "\n");
  return *server;
}

TEST(Distribution, RoundRobinAlternatesInOrder) {
  auto b1 = start_backend(1, "alpha");
  auto b2 = start_backend(2, "beta");
  auto lb = start_balancer({backend_arg(b1->port()), backend_arg(b2->port())});
  std::vector<std::string> seen, expected;
  for (int i = 0; i < 8; ++i) {
    seen.push_back(served_by(http_get(url(lb->port()))));
    expected.push_back(i % 2 == 0 ? "alpha" : "beta");
  }
  EXPECT_EQ(seen, expected);
}

TEST(Distribution, SampleBackendsAnswerWithTheirDefaultNames) {
  auto b1 = start_backend(1);
  auto b2 = start_backend(2);
  auto lb = start_balancer({backend_arg(b1->port()), backend_arg(b2->port())});
  EXPECT_EQ(served_by(http_get(url(lb->port()))), "backend1");
  EXPECT_EQ(served_by(http_get(url(lb->port()))), "backend2");
}

class WeightedDistribution : public ::testing::TestWithParam<std::vector<unsigned>> {};

TEST_P(WeightedDistribution, FollowsSmoothWeightedSequence) {
  const auto& weights = GetParam();
  std::vector<std::unique_ptr<Process>> backends;
  std::vector<std::string> args, ids;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    ids.push_back("w" + std::to_string(i));
    backends.push_back(start_backend(1 + static_cast<int>(i % 2), ids.back()));
    args.push_back(backend_arg(backends.back()->port(), weights[i]));
  }
  auto lb = start_balancer(args, {"-s", "weighted"});
  unsigned total = 0;
  for (unsigned w : weights) total += w;
  std::vector<std::string> seen, expected;
  for (std::size_t idx : smooth_weighted_reference(weights, 2 * total)) {
    expected.push_back(ids[idx]);
    seen.push_back(served_by(http_get(url(lb->port()))));
  }
  EXPECT_EQ(seen, expected);
}

INSTANTIATE_TEST_SUITE_P(Weights, WeightedDistribution,
                         ::testing::Values(std::vector<unsigned>{2, 1},
                                           std::vector<unsigned>{5, 1, 1},
                                           std::vector<unsigned>{1, 3}));

class SampleBackends : public ::testing::Test {
 protected:
  void SetUp() override {
    b1_ = start_backend(1, "alpha");
    b2_ = start_backend(2, "beta");
    lb_ = start_balancer({backend_arg(b1_->port()), backend_arg(b2_->port())});
  }
  std::uint16_t port() const { return lb_->port(); }

  std::unique_ptr<Process> b1_, b2_, lb_;
};

TEST_F(SampleBackends, KeepAliveServesManyRequestsOnOneConnection) {
  RawClient c(port());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: lb.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i << " got no response; buffered: " << c.buffered();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Server"), i % 2 == 0 ? "alpha" : "beta");
    EXPECT_EQ(r->header("Connection"), std::nullopt);
    EXPECT_FALSE(c.peer_closed());
  }
}

TEST_F(SampleBackends, PipelinedRequestsAreAnsweredInOrder) {
  RawClient c(port());
  std::string batch;
  for (int i = 1; i <= 3; ++i) {
    batch += "GET /echo?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: lb.test\r\n\r\n";
  }
  ASSERT_TRUE(c.send(batch));  // one write: all three arrive together
  for (int i = 1; i <= 3; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << "response " << i << " missing; buffered: " << c.buffered();
    ASSERT_EQ(r->status, 200);
    auto echo = nlohmann::json::parse(r->body);
    EXPECT_EQ(echo.at("target"), "/echo?n=" + std::to_string(i));
    EXPECT_EQ(echo.at("method"), "GET");
    EXPECT_EQ(echo.at("server"), i % 2 == 1 ? "alpha" : "beta");
  }
  EXPECT_EQ(c.buffered(), "");
  EXPECT_FALSE(c.peer_closed());
}

TEST_F(SampleBackends, EchoShowsTheForwardedRequest) {
  auto r = http({.method = "PUT",
                 .url = url(port(), "/echo?x=1&y=%20"),
                 .headers = {"X-Test: yes"},
                 .body = "payload"});
  ASSERT_EQ(r.status, 200) << r.error;
  auto echo = nlohmann::json::parse(r.body);
  EXPECT_EQ(echo.at("method"), "PUT");
  EXPECT_EQ(echo.at("target"), "/echo?x=1&y=%20");
  EXPECT_EQ(echo.at("body"), "payload");
  EXPECT_EQ(echo.at("body_length"), 7);
  bool saw_test_header = false;
  for (const auto& h : echo.at("headers")) {
    if (iequals(h.at(0).get<std::string>(), "x-test")) saw_test_header = h.at(1) == "yes";
  }
  EXPECT_TRUE(saw_test_header) << r.body;
}

TEST_F(SampleBackends, Http10ClientGetsUnchunkedResponseAndClose) {
  RawClient c(port());
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
  std::string all = c.read_until_close();
  EXPECT_TRUE(c.peer_closed());
  std::size_t consumed = 0;
  auto r = parse_message(all, MessageKind::response, consumed, /*eof=*/true);
  ASSERT_TRUE(r) << all;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Transfer-Encoding"), std::nullopt);
  EXPECT_EQ(r->body, "Hello from alpha\n");
  EXPECT_EQ(consumed, all.size()) << "bytes after the response: " << all.substr(consumed);
}

TEST(Http10, KeepAliveRequestedKeepsTheConnection) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("hello")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "hello");
  EXPECT_EQ(r1->header("Content-Length"), "5");
  EXPECT_TRUE(iequals(r1->header("Connection").value_or(""), "keep-alive")) << r1->head;
  EXPECT_FALSE(c.peer_closed());

  // Without keep-alive the second request is the last one.
  ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\n\r\n"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hello");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(c.buffered(), "");
  ASSERT_TRUE(up.wait_for_requests(2));
  EXPECT_EQ(up.requests()[1].target, "/b");
}

TEST(Http10, ConnectionCloseFromHttp11ClientIsHonoured) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("hello")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  EXPECT_TRUE(iequals(r->header("Connection").value_or(""), "close")) << r->head;
  EXPECT_TRUE(c.wait_closed());
}

TEST(Connections, HalfClosedClientStillGetsItsResponse) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("hello")));
  auto lb = start_balancer({up.backend()});
  RawClient c(lb->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  c.shutdown_write();
  auto r = c.read_response();
  ASSERT_TRUE(r) << c.buffered();
  EXPECT_EQ(r->body, "hello");
  EXPECT_TRUE(c.wait_closed());
}

TEST(Connections, UpstreamConnectionsAreReusedAcrossClients) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("hello")));
  auto lb = start_balancer({up.backend()});
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(url(lb->port()));  // a new client connection each time
    EXPECT_EQ(r.status, 200) << r.error;
  }
  EXPECT_EQ(up.requests().size(), 5u);
  EXPECT_EQ(up.connections(), 1u);
}

TEST(Connections, ClientLeavingMidResponseDoesNotAffectOthers) {
  ScriptedUpstream up([](ScriptedConn& c) {
    if (c.index() > 0) return ScriptedUpstream::reply_always(ok_response("next"))(c);
    if (!c.read_request()) return;
    constexpr std::uint64_t kSize = 256ULL << 20;
    c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n");
    std::vector<char> buf(64 * 1024, 'z');
    for (std::uint64_t sent = 0; sent < kSize; sent += buf.size()) {
      if (!c.send({buf.data(), buf.size()})) return;  // the balancer gave up on us
    }
  });
  auto lb = start_balancer({up.backend()});
  {
    RawClient c(lb->port());
    ASSERT_TRUE(c.send("GET /huge HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(c.read_until("zzzz"));
  }  // closed with most of the body unread
  ASSERT_TRUE(up.wait_for_finished(1)) << "the balancer kept reading the abandoned response";
  auto r = http_get(url(lb->port(), "/next"));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "next");
  EXPECT_EQ(up.connections(), 2u) << "the half-read upstream connection was reused";
  EXPECT_TRUE(lb->running());
}

}  // namespace
}  // namespace it
