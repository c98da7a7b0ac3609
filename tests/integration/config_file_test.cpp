// -c FILE with the real binary: the README's example passes --check as written, a file
// drives a running balancer, and every bad file is one line and exit status 2.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "harness.hpp"

namespace it {
namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The first ```json block after `heading` in README.md.
std::string readme_json(const std::string& heading) {
  std::string readme = read_text(std::string(LB_SOURCE_DIR) + "/README.md");
  auto at = readme.find(heading);
  if (at == std::string::npos) return {};
  auto start = readme.find("```json\n", at);
  if (start == std::string::npos) return {};
  start += 8;
  return readme.substr(start, readme.find("```", start) - start);
}

TEST(ConfigFileRun, TheReadmeExamplePassesCheck) {
  std::string example = readme_json("### Config file");
  ASSERT_FALSE(example.empty()) << "no JSON example under ### Config file in README.md";
  TempDir dir;
  write(dir.file("lb.json"), example);
  auto r = run_program("load_balancer", {"-c", dir.file("lb.json"), "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "load_balancer: configuration OK (2 backends)\n");
  EXPECT_EQ(r.err, "");
}

TEST(ConfigFileRun, BackendsAndSettingsComeFromTheFile) {
  auto a = start_fault({"--id", "a"});
  auto b = start_fault({"--id", "b"});
  TempDir dir;
  write(dir.file("lb.json"), R"({
    "backends": [{"host": "127.0.0.1", "port": )" +
                                 std::to_string(a->port()) + R"(, "weight": 2}, ")" +
                                 backend_arg(b->port()) + R"("],
    "strategy": "weighted"
  })");
  auto lb = start_balancer({}, {"-c", dir.file("lb.json")});
  EXPECT_TRUE(lb->wait_for_log("strategy weighted")) << lb->log();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(http_get(url(lb->port())).status, 200);
  EXPECT_EQ(fault_stats(a->port())["requests"], 4);
  EXPECT_EQ(fault_stats(b->port())["requests"], 2);
}

TEST(ConfigFileRun, BadFilesAreOneLineAndExitTwo) {
  TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"{\"backends\": [\"a:1\",]}", "lb.json:1:21: JSON syntax error: "},
      {R"({"backends": [{"host": "a", "port": 70000}]})",
       "lb.json: /backends/0/port: 70000 is out of range 1..65535"},
      {R"({"backends": [{"host": "a", "wieght": 1}]})",
       R"(lb.json: /backends/0/wieght: unknown key, did you mean "weight"?)"},
      {R"({"backends": []})", "lb.json: /backends: is empty"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    write(dir.file("lb.json"), text);
    expect_one_line_error(run_program("load_balancer", {"-c", dir.file("lb.json")}), message);
    expect_one_line_error(run_program("load_balancer", {"-c", dir.file("lb.json"), "--check"}),
                          message);
  }
}

}  // namespace
}  // namespace it
