// Stopping the balancer: SIGTERM/SIGINT drain (requests in flight finish, idle keep-alive
// connections close at once, nothing new is accepted, exit 0 within --drain-timeout),
// SIGQUIT stops at once, SIGHUP does not stop anything.

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {
namespace {

TEST(GracefulStop, RequestsInFlightFinishAndTheProcessExitsZero) {
  constexpr std::size_t kRequests = 10;
  auto fb = start_fault();
  auto lb = start_balancer({backend_arg(fb->port())});
  std::vector<CurlResponse> rs;
  std::thread load([&] {
    rs = concurrently(
        kRequests, [&](std::size_t) { return CurlRequest{.url = url(lb->port(), "/delay/700")}; });
  });
  // Every request has reached the backend (none is waiting in an accept queue).
  EXPECT_TRUE(wait_for_stat(fb->port(), "requests", kRequests));
  auto stop_sent = Clock::now();
  lb->signal(SIGTERM);
  load.join();
  for (const auto& r : rs) {
    EXPECT_EQ(r.curl_code, 0) << r.error;
    EXPECT_EQ(r.status, 200) << r.body;
    // The response itself says the connection ends: no client reuses it.
    EXPECT_EQ(r.header("Connection"), "close");
  }
  auto code = lb->wait_exit(kTimeout);
  ASSERT_TRUE(code) << lb->log();
  EXPECT_EQ(*code, 0) << lb->log();
  EXPECT_LT(Clock::now() - stop_sent, 10s);
  EXPECT_NE(lb->log().find("stopped: every connection finished"), std::string::npos) << lb->log();
}

TEST(GracefulStop, IdleKeepAliveConnectionsCloseAtOnceAndNewOnesAreRefused) {
  auto b = start_backend(1);
  auto lb = start_balancer({backend_arg(b->wait_for_port())});
  const std::uint16_t port = lb->port();
  RawClient idle(port);
  ASSERT_TRUE(idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = idle.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  lb->signal(SIGINT);
  // The idle connection is closed by the balancer, well before the 60 s idle timeout.
  EXPECT_TRUE(idle.wait_closed(10s));
  auto code = lb->wait_exit(kTimeout);
  ASSERT_TRUE(code) << lb->log();
  EXPECT_EQ(*code, 0);
  EXPECT_THROW(RawClient{port}, std::runtime_error);
}

TEST(GracefulStop, DrainTimeoutEndsRequestsThatTakeLonger) {
  auto fb = start_fault();
  auto lb = start_balancer({backend_arg(fb->port())}, {"--drain-timeout", "300ms"});
  CurlResponse hung;
  std::thread load([&] { hung = http_get(url(lb->port(), "/hang")); });
  EXPECT_TRUE(wait_for_stat(fb->port(), "requests", 1));
  auto stop_sent = Clock::now();
  lb->signal(SIGTERM);
  auto code = lb->wait_exit(kTimeout);
  load.join();
  ASSERT_TRUE(code) << lb->log();
  EXPECT_EQ(*code, 0);
  EXPECT_LT(Clock::now() - stop_sent, 5s);
  EXPECT_NE(hung.curl_code, 0);  // cut: the balancer could not answer in time
  EXPECT_NE(lb->log().find("stopping: 1 connections still open after 300ms, closing them"),
            std::string::npos)
      << lb->log();
}

TEST(ImmediateStop, SigquitDoesNotWaitForRequests) {
  auto fb = start_fault();
  auto lb = start_balancer({backend_arg(fb->port())});  // drain timeout 30 s
  CurlResponse hung;
  std::thread load([&] { hung = http_get(url(lb->port(), "/hang")); });
  EXPECT_TRUE(wait_for_stat(fb->port(), "requests", 1));
  auto stop_sent = Clock::now();
  lb->signal(SIGQUIT);
  auto code = lb->wait_exit(kTimeout);
  load.join();
  ASSERT_TRUE(code) << lb->log();
  EXPECT_EQ(*code, 0);
  EXPECT_LT(Clock::now() - stop_sent, 5s);
  EXPECT_NE(hung.curl_code, 0);
  EXPECT_NE(lb->log().find("(SIGQUIT): stopping now"), std::string::npos) << lb->log();
}

TEST(Signals, SighupAndSigpipeStopNothing) {
  auto b = start_backend(1);
  auto lb = start_balancer({backend_arg(b->wait_for_port())});
  lb->signal(SIGHUP);
  ASSERT_TRUE(lb->wait_for_log("SIGHUP")) << lb->log();
  lb->signal(SIGPIPE);
  EXPECT_EQ(http_get(url(lb->port())).status, 200);
  EXPECT_TRUE(lb->running());
}

}  // namespace
}  // namespace it
