// The load_balancer command line as an operator meets it: help, version, usage errors, and
// a clean stop on SIGTERM.

#include <gtest/gtest.h>

#include <regex>

#include "harness.hpp"

namespace it {
namespace {

TEST(Cli, HelpExitsZeroAndDescribesOptions) {
  for (const char* flag : {"--help", "-h"}) {
    auto r = run_program("load_balancer", {flag});
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_EQ(r.err, "") << flag;
    EXPECT_TRUE(r.out.starts_with("Usage: load_balancer")) << r.out;
    for (const char* option : {"--port", "--backend", "--strategy", "--preserve-host",
                               "--response-timeout", "--client-timeout", "--version"}) {
      EXPECT_NE(r.out.find(option), std::string::npos) << flag << " does not mention " << option;
    }
  }
}

TEST(Cli, VersionPrintsOneLine) {
  auto r = run_program("load_balancer", {"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(load_balancer \d+\.\d+\.\d+\n)"))) << r.out;
}

TEST(Cli, HelpWinsOverOtherBadFlags) {
  auto r = run_program("load_balancer", {"--help", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out.starts_with("Usage: load_balancer"));
}

TEST(Cli, UnknownFlagIsAUsageError) {
  expect_one_line_error(run_program("load_balancer", {"--no-such-flag"}), "--no-such-flag");
}

TEST(Cli, MisspelledFlagSuggestsTheRightOne) {
  auto r = run_program("load_balancer", {"--prot", "0"});
  expect_one_line_error(r, "--prot");
  EXPECT_NE(r.err.find("--port"), std::string::npos) << r.err;
}

TEST(Cli, BadValuesAreUsageErrors) {
  expect_one_line_error(run_program("load_balancer", {"-p", "70000"}), "70000");
  expect_one_line_error(run_program("load_balancer", {"-s", "fastest"}), "fastest");
  expect_one_line_error(run_program("load_balancer", {"--response-timeout", "soon"}), "soon");
  expect_one_line_error(run_program("load_balancer", {"-b"}), "-b");
}

TEST(Cli, BadTlsBackendOptionIsRefused) {
  auto r = run_program("load_balancer", {"-p", "0", "-b", "https://x:443,verify=perhaps"});
  expect_one_line_error(r, "https://x:443,verify=perhaps");
  EXPECT_NE(r.err.find("verify \"perhaps\" is not valid (expected on or off)"), std::string::npos)
      << r.err;
}

TEST(Cli, DuplicateBackendIsRefused) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("x")));
  expect_one_line_error(
      run_program("load_balancer", {"-p", "0", "-b", up.backend(), "-b", up.backend()}),
      up.backend());
}

TEST(Cli, SigtermStopsTheBalancerCleanly) {
  ScriptedUpstream up(ScriptedUpstream::reply_always(ok_response("x")));
  auto lb = start_balancer({up.backend()});
  // One served request so the stop also tears down a pooled upstream connection.
  ASSERT_EQ(http_get(url(lb->port())).status, 200);
  EXPECT_EQ(lb->terminate(), 0) << lb->log();
  EXPECT_FALSE(lb->running());
}

}  // namespace
}  // namespace it
