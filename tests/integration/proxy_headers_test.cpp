// What the balancer changes in heads on the way through, as a ScriptedUpstream sees the
// request and as the client sees the response.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace it {
namespace {

std::vector<std::string> names_of(const Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) out.push_back(n);
  return out;
}

// A balancer in front of one ScriptedUpstream that answers every request with `response`.
class HeaderRewrite : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra_args = {}, std::string response = ok_response("ok")) {
    up_ = std::make_unique<ScriptedUpstream>(ScriptedUpstream::reply_always(std::move(response)));
    lb_ = start_balancer({up_->backend()}, extra_args);
  }

  // Sends one raw request and returns the request the upstream received.
  Message forwarded(const std::string& request) {
    RawClient c(lb_->port());
    EXPECT_TRUE(c.send(request));
    auto r = c.read_response();
    EXPECT_TRUE(r) << "no response; buffered: " << c.buffered();
    if (r) EXPECT_EQ(r->status, 200) << r->head << r->body;
    std::size_t before = seen_;
    EXPECT_TRUE(up_->wait_for_requests(before + 1));
    auto all = up_->requests();
    if (all.size() <= before) throw std::runtime_error("the upstream saw no request");
    seen_ = all.size();
    return all.back();
  }

  std::unique_ptr<ScriptedUpstream> up_;
  std::unique_ptr<Process> lb_;
  std::size_t seen_ = 0;
};

TEST_F(HeaderRewrite, HostBecomesTheBackendAuthority) {
  start();
  auto rq = forwarded("GET /path/x?q=1&r=%20 HTTP/1.1\r\nHost: client.example\r\n\r\n");
  EXPECT_EQ(rq.start_line, "GET /path/x?q=1&r=%20 HTTP/1.1");
  EXPECT_EQ(rq.all("Host"), std::vector<std::string>{up_->backend()});
  EXPECT_EQ(rq.all("X-Forwarded-Host"), std::vector<std::string>{"client.example"});
}

TEST_F(HeaderRewrite, PreserveHostKeepsTheClientHost) {
  start({"--preserve-host"});
  auto rq = forwarded("GET / HTTP/1.1\r\nHost: client.example:8443\r\n\r\n");
  EXPECT_EQ(rq.all("Host"), std::vector<std::string>{"client.example:8443"});
  EXPECT_EQ(rq.all("X-Forwarded-Host"), std::vector<std::string>{"client.example:8443"});
}

TEST_F(HeaderRewrite, XForwardedForIsAddedOrAppended) {
  start();
  auto fresh = forwarded("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(fresh.all("X-Forwarded-For"), std::vector<std::string>{"127.0.0.1"});

  auto appended =
      forwarded("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7, 198.51.100.2\r\n\r\n");
  EXPECT_EQ(appended.all("X-Forwarded-For"),
            std::vector<std::string>{"203.0.113.7, 198.51.100.2, 127.0.0.1"});

  // Two lines are one list (RFC 9110 §5.3): the upstream gets one combined line.
  auto merged = forwarded(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: "
      "198.51.100.2\r\n\r\n");
  EXPECT_EQ(merged.all("X-Forwarded-For"),
            std::vector<std::string>{"203.0.113.7, 198.51.100.2, 127.0.0.1"});
}

TEST_F(HeaderRewrite, XForwardedProtoIsHttpEvenIfTheClientSaysOtherwise) {
  start();
  auto plain = forwarded("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(plain.all("X-Forwarded-Proto"), std::vector<std::string>{"http"});
  auto spoofed = forwarded(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n");
  EXPECT_EQ(spoofed.all("X-Forwarded-Proto"), std::vector<std::string>{"http"});
  EXPECT_EQ(spoofed.all("X-Forwarded-Host"), std::vector<std::string>{"a"});
}

TEST_F(HeaderRewrite, HopByHopRequestHeadersAreRemoved) {
  start();
  auto rq = forwarded(
      "GET / HTTP/1.1\r\n"
      "Host: a\r\n"
      "Connection: keep-alive, X-Private-Hop, Upgrade\r\n"
      "X-Private-Hop: secret\r\n"
      "Keep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\n"
      "TE: trailers\r\n"
      "Upgrade: websocket\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
      "X-End-To-End: kept\r\n"
      "\r\n");
  for (const char* name : {"Connection", "X-Private-Hop", "Keep-Alive", "Proxy-Connection", "TE",
                           "Upgrade", "Proxy-Authorization"}) {
    EXPECT_EQ(rq.header(name), std::nullopt) << name << " reached the upstream:\n" << rq.head;
  }
  EXPECT_EQ(rq.header("X-End-To-End"), "kept");
}

TEST_F(HeaderRewrite, EndToEndHeadersKeepOrderCaseAndDuplicates) {
  start();
  auto rq = forwarded(
      "GET / HTTP/1.1\r\nx-first: 1\r\nHost: a\r\nX-MiXeD-CaSe: 2\r\nX-Dup: a\r\nAccept: "
      "*/*\r\nX-Dup: b\r\n\r\n");
  std::vector<std::string> mine;
  for (const auto& n : names_of(rq.headers)) {
    if (n.starts_with("x-f") || n.starts_with("X-M") || n.starts_with("X-D") || n == "Accept") {
      mine.push_back(n);
    }
  }
  EXPECT_EQ(mine,
            (std::vector<std::string>{"x-first", "X-MiXeD-CaSe", "X-Dup", "Accept", "X-Dup"}));
  EXPECT_EQ(rq.all("X-Dup"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(HeaderRewrite, Http10RequestWithoutHostGetsTheBackendAuthority) {
  start();
  auto rq = forwarded("GET /old HTTP/1.0\r\n\r\n");
  EXPECT_EQ(rq.all("Host"), std::vector<std::string>{up_->backend()});
  EXPECT_EQ(rq.header("X-Forwarded-Host"), std::nullopt);
}

// The upstream request is HTTP/1.1, which requires a Host (RFC 9112 §3.2) even when the
// HTTP/1.0 client sent none and --preserve-host has nothing to preserve.
TEST_F(HeaderRewrite, PreserveHostWithoutClientHostStillSendsAHost) {
  start({"--preserve-host"});
  auto rq = forwarded("GET /old HTTP/1.0\r\n\r\n");
  EXPECT_EQ(rq.version, "HTTP/1.1");
  EXPECT_EQ(rq.all("Host"), std::vector<std::string>{up_->backend()}) << rq.head;
}

TEST_F(HeaderRewrite, ResponseHeadersPassThroughInOrderAndCase) {
  start({},
        "HTTP/1.1 299 Whatever Reason\r\n"
        "Set-Cookie: a=1; Path=/\r\n"
        "x-lower-case: v1\r\n"
        "Set-Cookie: b=2; HttpOnly\r\n"
        "X-UPPER-CASE: v2\r\n"
        "Set-Cookie: c=3\r\n"
        "Content-Length: 4\r\n"
        "\r\n"
        "body");
  auto r = http_get(url(lb_->port()));
  ASSERT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, 299);
  EXPECT_EQ(r.status_line, "HTTP/1.1 299 Whatever Reason");
  EXPECT_EQ(r.all("Set-Cookie"), (std::vector<std::string>{"a=1; Path=/", "b=2; HttpOnly", "c=3"}));
  auto names = names_of(r.headers);
  std::vector<std::string> mine;
  for (const auto& n : names) {
    if (n != "Content-Length") mine.push_back(n);
  }
  EXPECT_EQ(mine, (std::vector<std::string>{"Set-Cookie", "x-lower-case", "Set-Cookie",
                                            "X-UPPER-CASE", "Set-Cookie"}));
  EXPECT_EQ(r.body, "body");
}

TEST_F(HeaderRewrite, EmptyReasonPhraseIsKept) {
  start({}, "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok");
  RawClient c(lb_->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->start_line, "HTTP/1.1 200 ");
  EXPECT_EQ(r->body, "ok");
}

TEST_F(HeaderRewrite, HopByHopResponseHeadersAreRemoved) {
  start({},
        "HTTP/1.1 200 OK\r\n"
        "Connection: X-Backend-Hop\r\n"
        "X-Backend-Hop: internal\r\n"
        "Keep-Alive: timeout=30\r\n"
        "Proxy-Connection: keep-alive\r\n"
        "X-Visible: yes\r\n"
        "Content-Length: 2\r\n"
        "\r\n"
        "ok");
  RawClient c(lb_->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  for (const char* name : {"Connection", "X-Backend-Hop", "Keep-Alive", "Proxy-Connection"}) {
    EXPECT_EQ(r->header(name), std::nullopt) << name << " reached the client:\n" << r->head;
  }
  EXPECT_EQ(r->header("X-Visible"), "yes");
  EXPECT_EQ(r->body, "ok");
}

}  // namespace
}  // namespace it
