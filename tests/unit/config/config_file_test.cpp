#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "lb/config/cli.hpp"

namespace lb::config {
namespace {

using namespace std::chrono_literals;

// A config file with `text` for the length of a test.
class File {
 public:
  explicit File(const std::string& text) {
    char name[] = "/tmp/lb-config-XXXXXX";
    int fd = ::mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_) << text;
  }
  ~File() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Config parse_with(const File& f, std::vector<const char*> more = {}) {
  std::vector<const char*> args{"-c", f.path().c_str()};
  args.insert(args.end(), more.begin(), more.end());
  return parse_cli(args).config;
}

std::string error_with(const File& f, std::vector<const char*> more = {}) {
  try {
    parse_with(f, std::move(more));
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigFile, BackendsAsObjectsOrSpecsAndGlobalSettings) {
  File f(R"({
    "backends": [
      {"host": "10.0.0.7", "port": 8080, "weight": 2},
      {"host": "api.test", "port": 8443, "tls": true, "sni": "api.internal", "verify": false,
       "ca": "ca.pem", "proto": "h1"},
      {"host": "127.0.0.1", "port": 9003, "h2c": true},
      {"host": "::1", "port": 9004},
      "10.0.0.8:8080,weight=3"
    ],
    "strategy": "weighted",
    "port": 9000,
    "health-path": "/healthz",
    "health-interval": "2s",
    "fall": 5,
    "retries": 1,
    "connect-timeout": "250ms",
    "drain-timeout": 10,
    "max-body-size": "10m",
    "preserve-host": true,
    "no-active-health": false,
    "trace-max-bytes": "64k",
    "workers": 3,
    "mode": "sp",
    "admin": "127.0.0.1:9100"
  })");
  Config c = parse_with(f);
  ASSERT_EQ(c.backends.size(), 5u);
  EXPECT_EQ(c.backends[0].host, "10.0.0.7");
  EXPECT_EQ(c.backends[0].port, 8080);
  EXPECT_EQ(c.backends[0].weight, 2u);
  EXPECT_TRUE(c.backends[1].tls.enabled);
  EXPECT_EQ(c.backends[1].tls.sni, "api.internal");
  EXPECT_FALSE(c.backends[1].tls.verify);
  EXPECT_EQ(c.backends[1].tls.ca_file, "ca.pem");
  EXPECT_EQ(c.backends[1].protocol, Protocol::h1);
  EXPECT_EQ(c.backends[2].protocol, Protocol::h2);
  EXPECT_FALSE(c.backends[2].tls.enabled);
  EXPECT_EQ(c.backends[3].host, "::1");
  EXPECT_EQ(c.backends[4].weight, 3u);
  EXPECT_FALSE(c.default_backends);
  EXPECT_EQ(c.strategy, Strategy::weighted);
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.health.path, "/healthz");
  EXPECT_EQ(c.health.interval, 2s);
  EXPECT_EQ(c.health.fall, 5u);
  EXPECT_TRUE(c.health.active);
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.timeouts.connect, 250ms);
  EXPECT_EQ(c.timeouts.drain, 10s);
  EXPECT_EQ(c.limits.max_body, 10u << 20);
  EXPECT_TRUE(c.preserve_host);
  EXPECT_EQ(c.trace.max_bytes, 64u << 10);
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.mode, Mode::sp);
  EXPECT_TRUE(c.admin);
  EXPECT_EQ(c.admin_port, 9100);
  EXPECT_EQ(c.config_file, f.path());
}

TEST(ConfigFile, CommandLineFlagsWinOverTheFile) {
  File f(R"({"strategy": "random", "port": 9000, "retries": 5, "backends": ["a:1"]})");
  Config c = parse_with(f, {"--port", "7000", "-s", "round_robin"});
  EXPECT_EQ(c.port, 7000);
  EXPECT_EQ(c.strategy, Strategy::round_robin);
  EXPECT_EQ(c.retries, 5u);  // not on the command line: the file's
  // Flags before -c win just the same.
  std::vector<const char*> args{"--retries", "0", "-c", f.path().c_str()};
  EXPECT_EQ(parse_cli(args).config.retries, 0u);
}

TEST(ConfigFile, WithoutBackendsTheFlagsOrTheDefaultsGiveThem) {
  File f(R"({"retries": 0})");
  Config c = parse_with(f);
  EXPECT_TRUE(c.default_backends);
  EXPECT_EQ(parse_with(f, {"-b", "a:1"}).backends.size(), 1u);
}

TEST(ConfigFile, EveryMistakeIsOneLineNamingThePlace) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"backends": [{"host": "a", "port": 1}, {"host": "b", "port": 70000}]})",
       ": /backends/1/port: 70000 is out of range 1..65535"},
      {R"({"backends": [{"host": "a", "wieght": 2}]})",
       R"(: /backends/0/wieght: unknown key, did you mean "weight"?)"},
      {R"({"backends": [{"host": "a", "weight": 0}]})",
       ": /backends/0/weight: 0 is out of range 1..1000"},
      {R"({"backends": [{"port": 1}]})", ": /backends/0/host: missing (expected a host name"},
      {R"({"backends": [{"host": "a", "tls": "yes"}]})",
       R"(: /backends/0/tls: "yes" is not true or false)"},
      {R"({"backends": [{"host": "a", "proto": "h3"}]})",
       R"(: /backends/0: backend "a,proto=h3": proto "h3" is not valid (expected auto, h1 or h2))"},
      {R"({"backends": [42]})", ": /backends/0: expected an object such as"},
      {R"({"backends": []})", ": /backends: is empty (expected at least one backend)"},
      {R"({"backends": {"host": "a"}})", ": /backends: expected a list of backends"},
      {R"({"backends": ["a:1", {"host": "A", "port": 1}]})",
       ": /backends: backend A:1 is given twice"},
      {R"({"stratgy": "random"})", R"(: /stratgy: unknown key, did you mean "strategy"?)"},
      {R"({"frobnicate": 1})", ": /frobnicate: unknown key"},
      {R"({"port": "x"})", R"(: /port: "x" is not a port number (expected 0..65535))"},
      {R"({"port": true})", ": /port: true is not a string or a whole number"},
      {R"({"preserve-host": "yes"})", R"(: /preserve-host: "yes" is not true or false)"},
      {R"({"health-interval": "0"})", ": /health-interval: "},
      {R"({"strategy": ""})", ": /strategy: is empty"},
      {R"([1, 2])", ": expected a JSON object"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    File f(text);
    std::string e = error_with(f);
    EXPECT_EQ(e.rfind(f.path(), 0), 0u) << e;
    EXPECT_NE(e.find(expected), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(ConfigFile, SyntaxErrorsGiveLineAndColumn) {
  File f("{\n  \"backends\": [\n    \"a:1\",\n  ]\n}\n");
  std::string e = error_with(f);
  EXPECT_EQ(e.rfind(f.path() + ":4:3: JSON syntax error: ", 0), 0u) << e;
  File empty("");
  EXPECT_NE(error_with(empty).find(": JSON syntax error: "), std::string::npos);
}

TEST(ConfigFile, BackendsFromBothPlacesAreRefused) {
  File f(R"({"backends": ["a:1"]})");
  EXPECT_NE(error_with(f, {"-b", "b:2"})
                .find("backends come from -b or from the config file, "
                      "not both"),
            std::string::npos);
}

TEST(ConfigFile, UnreadableFileSaysSo) {
  std::vector<const char*> args{"-c", "/nonexistent/lb.json"};
  try {
    parse_cli(args);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "/nonexistent/lb.json: cannot read the config file: No such file or directory");
  }
}

}  // namespace
}  // namespace lb::config
