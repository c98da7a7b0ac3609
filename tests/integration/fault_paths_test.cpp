// fault_backend's broken paths seen through the balancer: the client-visible result of each
// (issue: "each broken path gives the documented client-visible result"), retries for
// idempotent requests only, and a POST never sent twice.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace it {
namespace {

struct Case {
  const char* path;
  int status;        // 0: the client sees a cut connection instead of a response
  const char* code;  // X-LB-Error
};

class BrokenPath : public ::testing::TestWithParam<Case> {};

TEST_P(BrokenPath, GivesTheDocumentedResult) {
  auto fault = start_fault();
  auto lb = start_balancer({backend_arg(fault->port())}, {"--response-timeout", "500ms"});
  auto r = http_get(url(lb->port(), GetParam().path));
  if (GetParam().status != 0) {
    EXPECT_EQ(r.status, GetParam().status) << r.body;
    EXPECT_EQ(r.header("X-LB-Error"), GetParam().code) << r.body;
    EXPECT_NE(r.body.find(backend_arg(fault->port())), std::string::npos) << r.body;
  } else {
    // The head went out before the backend broke: the only honest signal left is the
    // connection closing before the announced end (curl: partial file / recv error).
    EXPECT_NE(r.curl_code, 0) << "a cut response looked complete: " << r.status << " " << r.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Fault, BrokenPath,
                         ::testing::Values(Case{"/reset", 502, "upstream_closed"},
                                           Case{"/close", 502, "upstream_closed"},
                                           Case{"/hang", 504, "response_timeout"},
                                           Case{"/garbage", 502, "bad_response"},
                                           Case{"/truncate", 0, ""},
                                           Case{"/reset-mid-body", 0, ""}),
                         [](const auto& info) {
                           std::string name = info.param.path + 1;
                           for (auto& ch : name)
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return name;
                         });

TEST(FaultThroughBalancer, BadChunkNeverLooksComplete) {
  auto fault = start_fault();
  auto lb = start_balancer({backend_arg(fault->port())});
  auto r = http_get(url(lb->port(), "/bad-chunk"));
  // Either the broken framing arrived with the head (a proper 502), or the head had already
  // been forwarded and the connection is cut: never a clean 200.
  if (r.curl_code == 0) {
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(r.header("X-LB-Error"), "bad_response");
  }
}

TEST(FaultThroughBalancer, GetOnAResettingBackendIsRetriedOnTheOther) {
  auto broken = start_fault({"--mode", "reset"});
  auto fine = start_fault({"--id", "fine"});
  auto lb = start_balancer({backend_arg(broken->port()), backend_arg(fine->port())});
  auto r = http_get(url(lb->port(), "/anything"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Server"), "fine");
  EXPECT_EQ(fault_stats(broken->port())["resets"], 1);
}

TEST(FaultThroughBalancer, PostOnAResettingBackendIsNeverSentTwice) {
  auto broken = start_fault({"--mode", "reset"});
  auto fine = start_fault({"--id", "fine"});
  auto lb = start_balancer({backend_arg(broken->port()), backend_arg(fine->port())});
  auto r = http({.method = "POST", .url = url(lb->port(), "/orders"), .body = "n=1"});
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.header("X-LB-Error"), "upstream_closed");
  auto s_broken = fault_stats(broken->port());
  auto s_fine = fault_stats(fine->port());
  EXPECT_EQ(s_broken["by_method"]["POST"], 1) << s_broken.dump();
  EXPECT_FALSE(s_fine["by_method"].contains("POST")) << s_fine.dump();
}

TEST(FaultThroughBalancer, ScriptedFailuresMarkDownAfterFallAndProbesBringItBack) {
  // Three 503s from real traffic mark it down; /health answers 200 again (the script is
  // consumed), so two probes bring it back.
  auto fault = start_fault({"--script", "503,503,503"});
  auto lb = start_balancer({backend_arg(fault->port())},
                           {"--health-path", "/health", "--health-interval", "100ms"});
  // Probes consume script entries too; let the script drain through whatever comes first.
  ASSERT_TRUE(lb->wait_for_log(" is down: 3 consecutive failures")) << lb->log();
  ASSERT_TRUE(lb->wait_for_log(" is up: 2 consecutive successes")) << lb->log();
  auto r = http_get(url(lb->port(), "/"));
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace it
