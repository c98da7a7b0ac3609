#include "lb/config/cli.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lb::config {
namespace {

using namespace std::chrono_literals;

CliResult parse(std::initializer_list<const char*> args) {
  std::vector<const char*> v(args);
  return parse_cli(v);
}

// The message of the UsageError, or a marker that makes the comparison fail visibly.
std::string error_of(const std::vector<const char*>& args) {
  try {
    parse_cli(args);
  } catch (const UsageError& e) {
    return e.what();
  } catch (...) {
    return "<exception other than UsageError>";
  }
  return "<no error>";
}

std::string backend_error(std::string_view text) {
  try {
    parse_backend(text);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ParseCli, DefaultsWithNoArguments) {
  CliResult r = parse({});
  const Config& c = r.config;
  EXPECT_EQ(r.action, CliAction::run);
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.listen, "0.0.0.0");
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0].name(), "127.0.0.1:9001");
  EXPECT_EQ(c.backends[1].name(), "127.0.0.1:9002");
  EXPECT_TRUE(c.default_backends);
  EXPECT_EQ(c.strategy, Strategy::round_robin);
  EXPECT_EQ(c.log_level, LogLevel::info);
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.mode, Mode::mp);
  EXPECT_EQ(c.timeouts.connect, 5s);
  EXPECT_EQ(c.timeouts.response, 60s);
  EXPECT_EQ(c.timeouts.client, 10s);
  EXPECT_EQ(c.timeouts.idle, 60s);
  EXPECT_EQ(c.timeouts.drain, 30s);
  EXPECT_EQ(c.limits.max_body, 0u);
  EXPECT_EQ(c.limits.max_header_bytes, 32u * 1024);
  EXPECT_FALSE(c.preserve_host);
}

void expect_every_flag_set(const Config& c) {
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.listen, "127.0.0.1");
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0].name(), "a:1");
  EXPECT_EQ(c.backends[1].name(), "b:2");
  EXPECT_EQ(c.backends[1].weight, 3u);
  EXPECT_FALSE(c.default_backends);
  EXPECT_EQ(c.strategy, Strategy::weighted);
  EXPECT_EQ(c.log_level, LogLevel::debug);
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.mode, Mode::mp);
  EXPECT_EQ(c.timeouts.connect, 250ms);
  EXPECT_EQ(c.timeouts.response, 2min);
  EXPECT_EQ(c.timeouts.client, 3s);
  EXPECT_EQ(c.timeouts.idle, 1h);
  EXPECT_EQ(c.limits.max_body, 10u << 20);
  EXPECT_EQ(c.limits.max_header_bytes, 64u << 10);
  EXPECT_TRUE(c.preserve_host);
}

TEST(ParseCli, EveryLongFlagWithSeparateValue) {
  CliResult r = parse({"--port",
                       "9000",
                       "--listen",
                       "127.0.0.1",
                       "--backend",
                       "a:1",
                       "--backend",
                       "b:2,weight=3",
                       "--strategy",
                       "weighted",
                       "--loglevel",
                       "debug",
                       "--workers",
                       "4",
                       "--mode",
                       "mp",
                       "--connect-timeout",
                       "250ms",
                       "--response-timeout",
                       "2m",
                       "--client-timeout",
                       "3",
                       "--idle-timeout",
                       "1h",
                       "--max-body-size",
                       "10m",
                       "--max-header-size",
                       "64k",
                       "--preserve-host"});
  EXPECT_EQ(r.action, CliAction::run);
  expect_every_flag_set(r.config);
}

TEST(ParseCli, EveryLongFlagWithEqualsValue) {
  CliResult r = parse({"--port=9000", "--listen=127.0.0.1", "--backend=a:1",
                       "--backend=b:2,weight=3", "--strategy=weighted", "--loglevel=debug",
                       "--workers=4", "--mode=mp", "--connect-timeout=250ms",
                       "--response-timeout=2m", "--client-timeout=3", "--idle-timeout=1h",
                       "--max-body-size=10MB", "--max-header-size=64K", "--preserve-host"});
  expect_every_flag_set(r.config);
}

TEST(ParseCli, ShortFlagsSeparateAndAttached) {
  for (auto args : {std::vector<const char*>{"-p", "9000", "-b", "a:1", "-b", "b:2,weight=3", "-s",
                                             "weighted", "-l", "debug", "-w", "4"},
                    std::vector<const char*>{"-p9000", "-ba:1", "-bb:2,weight=3", "-sweighted",
                                             "-ldebug", "-w4"}}) {
    Config c = parse_cli(args).config;
    EXPECT_EQ(c.port, 9000);
    ASSERT_EQ(c.backends.size(), 2u);
    EXPECT_EQ(c.backends[0].name(), "a:1");
    EXPECT_EQ(c.backends[1].weight, 3u);
    EXPECT_EQ(c.strategy, Strategy::weighted);
    EXPECT_EQ(c.log_level, LogLevel::debug);
    EXPECT_EQ(c.workers, 4u);
  }
}

TEST(ParseCli, EveryChoiceValue) {
  EXPECT_EQ(parse({"-s", "round_robin"}).config.strategy, Strategy::round_robin);
  EXPECT_EQ(parse({"-s", "weighted"}).config.strategy, Strategy::weighted);
  EXPECT_EQ(parse({"-s", "random"}).config.strategy, Strategy::random);
  EXPECT_EQ(parse({"-l", "err"}).config.log_level, LogLevel::err);
  EXPECT_EQ(parse({"-l", "warn"}).config.log_level, LogLevel::warn);
  EXPECT_EQ(parse({"-l", "info"}).config.log_level, LogLevel::info);
  EXPECT_EQ(parse({"-l", "debug"}).config.log_level, LogLevel::debug);
  EXPECT_EQ(parse({"--mode", "sp"}).config.mode, Mode::sp);
  EXPECT_EQ(parse({"--mode", "mp"}).config.mode, Mode::mp);
}

TEST(ParseCli, NumericBounds) {
  EXPECT_EQ(parse({"-p", "0"}).config.port, 0);
  EXPECT_EQ(parse({"-p", "65535"}).config.port, 65535);
  EXPECT_EQ(parse({"-w", "1"}).config.workers, 1u);
  EXPECT_EQ(parse({"-w", "1024"}).config.workers, 1024u);
  EXPECT_EQ(parse({"--max-header-size", "1k"}).config.limits.max_header_bytes, 1024u);
  EXPECT_EQ(parse({"--max-body-size", "0"}).config.limits.max_body, 0u);
  EXPECT_EQ(parse({"--idle-timeout", "24h"}).config.timeouts.idle, 24h);
  EXPECT_EQ(parse({"--drain-timeout", "250ms"}).config.timeouts.drain, 250ms);
  EXPECT_EQ(parse({"--connect-timeout", "1ms"}).config.timeouts.connect, 1ms);
}

TEST(ParseCli, HealthAndRetryFlags) {
  Config d = parse({}).config;
  EXPECT_TRUE(d.health.active);
  EXPECT_EQ(d.health.path, "/");
  EXPECT_EQ(d.health.interval, 5s);
  EXPECT_EQ(d.health.timeout, 2s);
  EXPECT_EQ(d.health.fall, 3u);
  EXPECT_EQ(d.health.rise, 2u);
  EXPECT_EQ(d.retries, 2u);

  Config c =
      parse({"--health-path", "/healthz", "--health-interval", "250ms", "--health-timeout=1s",
             "--no-active-health", "--fall", "5", "--rise=1", "--retries", "0"})
          .config;
  EXPECT_FALSE(c.health.active);
  EXPECT_EQ(c.health.path, "/healthz");
  EXPECT_EQ(c.health.interval, 250ms);
  EXPECT_EQ(c.health.timeout, 1s);
  EXPECT_EQ(c.health.fall, 5u);
  EXPECT_EQ(c.health.rise, 1u);
  EXPECT_EQ(c.retries, 0u);

  EXPECT_EQ(error_of({"--fall", "0"}), "--fall: \"0\" is not a count (expected 1..100)");
  EXPECT_EQ(error_of({"--retries", "11"}), "--retries: \"11\" is not a count (expected 0..10)");
  EXPECT_EQ(error_of({"--health-path", "healthz"}),
            "--health-path: \"healthz\" is not a request path (expected e.g. / or /healthz)");
  EXPECT_EQ(error_of({"--health-interval", "0"}),
            "--health-interval: \"0\" is zero; a timeout must be at least 1ms");
}

TEST(ParseCli, LaterValueWinsForSingleValuedFlags) {
  EXPECT_EQ(parse({"-p", "1", "--port=2"}).config.port, 2);
  EXPECT_EQ(parse({"-s", "random", "-s", "weighted"}).config.strategy, Strategy::weighted);
}

TEST(ParseCli, BackendsKeepCommandLineOrder) {
  Config c = parse({"-b", "c:3", "--backend", "[::1]:9001", "-b", "http://a:1/"}).config;
  ASSERT_EQ(c.backends.size(), 3u);
  EXPECT_EQ(c.backends[0].name(), "c:3");
  EXPECT_EQ(c.backends[1].host, "::1");
  EXPECT_EQ(c.backends[1].name(), "[::1]:9001");
  EXPECT_EQ(c.backends[2].name(), "a:1");
  EXPECT_FALSE(c.default_backends);
}

TEST(ParseCli, ListenAcceptsIpv4AndIpv6WithOrWithoutBrackets) {
  EXPECT_EQ(parse({"--listen", "10.1.2.3"}).config.listen, "10.1.2.3");
  EXPECT_EQ(parse({"--listen", "::"}).config.listen, "::");
  EXPECT_EQ(parse({"--listen", "[::1]"}).config.listen, "::1");
  EXPECT_EQ(parse({"--listen=[fe80::1]"}).config.listen, "fe80::1");
  EXPECT_EQ(parse({"--listen", "::ffff:10.0.0.1"}).config.listen, "::ffff:10.0.0.1");
}

TEST(ParseCli, HelpAndVersionStopParsing) {
  EXPECT_EQ(parse({"-h"}).action, CliAction::help);
  EXPECT_EQ(parse({"--help"}).action, CliAction::help);
  EXPECT_EQ(parse({"--version"}).action, CliAction::version);
  EXPECT_EQ(parse({"-p", "1", "--help", "--bogus"}).action, CliAction::help);
  EXPECT_EQ(parse({"--version", "--help"}).action, CliAction::version);
  // Arguments before --help are still checked, as getopt-style tools do.
  EXPECT_EQ(error_of({"--prot", "1", "--help"}),
            R"(unknown option "--prot" (did you mean --port?))");
}

TEST(ParseCli, AdminAddress) {
  EXPECT_FALSE(parse({}).config.admin);
  Config c = parse({"--admin", "127.0.0.1:9100"}).config;
  EXPECT_TRUE(c.admin);
  EXPECT_EQ(c.admin_listen, "127.0.0.1");
  EXPECT_EQ(c.admin_port, 9100);
  c = parse({"--admin=[::1]:0"}).config;
  EXPECT_EQ(c.admin_listen, "::1");
  EXPECT_EQ(c.admin_port, 0);
  EXPECT_EQ(error_of({"--admin", "9100"}),
            R"(--admin: "9100" is not ADDR:PORT (e.g. 127.0.0.1:9100 or [::1]:9100))");
  EXPECT_EQ(error_of({"--admin", "[::1"}),
            R"(--admin: "[::1" is not ADDR:PORT (e.g. 127.0.0.1:9100 or [::1]:9100))");
  EXPECT_NE(error_of({"--admin", "localhost:9100"}).find("is not an IP address"),
            std::string::npos);
  EXPECT_NE(error_of({"--admin", "127.0.0.1:70000"}).find("is not a port number"),
            std::string::npos);
}

TEST(ParseCli, ErrorMessagesFromTheSpec) {
  EXPECT_EQ(error_of({"--port", "abc"}),
            R"(--port: "abc" is not a port number (expected 0..65535))");
  EXPECT_EQ(error_of({"--prot", "80"}), R"(unknown option "--prot" (did you mean --port?))");
  EXPECT_EQ(error_of({"-b"}), "-b: missing value (expected HOST:PORT)");
  EXPECT_EQ(
      error_of({"--strategy", "fastest"}),
      R"(--strategy: "fastest" is not a strategy (expected round_robin, weighted or random))");
  EXPECT_EQ(error_of({"--backend=https://x,verify=maybe"}),
            R"(--backend: backend "https://x,verify=maybe": verify "maybe" is not valid )"
            "(expected on or off)");
  EXPECT_EQ(error_of({"-b", "a:1", "-b", "a:1"}),
            "-b: backend a:1 is given twice (list each HOST:PORT once; use ,weight=N to send it "
            "more)");
}

struct ErrorCase {
  std::vector<const char*> args;
  std::string starts;    // the flag as typed, or "unknown option" / "unexpected argument"
  std::string contains;  // the reason
};

TEST(ParseCli, EveryErrorIsOneLineNamingFlagAndReason) {
  const std::vector<ErrorCase> cases = {
      {{"-p", "abc"}, "-p: ", "not a port number (expected 0..65535)"},
      {{"-p", "65536"}, "-p: ", "not a port number"},
      {{"-p", "-1"}, "-p: ", R"("-1" is not a port number)"},
      {{"-p", "+80"}, "-p: ", "not a port number"},
      {{"-p", " 80"}, "-p: ", "not a port number"},
      {{"-p", "99999999999999999999999"}, "-p: ", "not a port number"},
      {{"-p"}, "-p: ", "missing value (expected 0..65535)"},
      {{"--port="}, "--port: ", "missing value"},
      {{"-p", ""}, "-p: ", "missing value"},
      {{"-b", "-p", "80"}, "-b: ", "missing value (expected HOST:PORT)"},
      {{"--backend", "--port=1"}, "--backend: ", "missing value"},
      {{"--listen", "localhost"}, "--listen: ", "is not an IP address"},
      {{"--listen", "1.2.3"}, "--listen: ", "is not an IP address"},
      {{"--listen", "[::1"}, "--listen: ", "is not an IP address"},
      {{"--listen", "fe80::1%eth0"}, "--listen: ", "is not an IP address"},
      {{"--listen"}, "--listen: ", "missing value (expected an IPv4 or IPv6 address"},
      {{"-s", "Round_Robin"}, "-s: ", "is not a strategy"},
      {{"-s"}, "-s: ", "missing value (expected round_robin, weighted or random)"},
      {{"-l", "verbose"}, "-l: ", R"("verbose" is not a log level (expected err, warn, info or )"},
      {{"--loglevel=error"}, "--loglevel: ", "is not a log level"},
      {{"-w", "0"}, "-w: ", "is not a worker count (expected 1..1024)"},
      {{"-w", "1025"}, "-w: ", "is not a worker count"},
      {{"--workers", "many"}, "--workers: ", "is not a worker count"},
      {{"--mode", "multi"}, "--mode: ", R"("multi" is not a mode (expected sp or mp))"},
      {{"--max-body-size", "10x"}, "--max-body-size: ", "is not a size (expected a size like"},
      {{"--max-body-size", "-1"}, "--max-body-size: ", "is not a size"},
      {{"--max-body-size", "99999999999999999999g"}, "--max-body-size: ", "is not a size"},
      {{"--max-header-size", "1023"}, "--max-header-size: ", "too small (expected at least 1k)"},
      {{"--max-header-size", "big"}, "--max-header-size: ", "is not a size"},
      {{"--preserve-host=yes"}, "--preserve-host: ", R"(takes no value (remove "yes"))"},
      {{"--help=1"}, "--help: ", "takes no value"},
      {{"-hx"}, "-h: ", "takes no value"},
      {{"--frobnicate"}, "unknown option \"--frobnicate\"", "(see --help"},
      {{"--Port=1"}, "unknown option \"--Port\"", "(did you mean --port?)"},
      {{"--backends", "a:1"}, "unknown option", "(did you mean --backend?)"},
      {{"--idle-timout", "1s"}, "unknown option", "(did you mean --idle-timeout?)"},
      {{"--preserve_host"}, "unknown option", "(did you mean --preserve-host?)"},
      {{"-x"}, "unknown option \"-x\"", "(see --help"},
      {{"-port", "80"}, "unknown option \"-port\"", "(did you mean --port?)"},
      {{"-backend=a:1"}, "unknown option \"-backend\"", "(did you mean --backend?)"},
      {{"foo"}, "unexpected argument \"foo\"", "takes only options; see --help"},
      {{"-"}, "unexpected argument \"-\"", "see --help"},
      {{"--"}, "unexpected argument \"--\"", "see --help"},
      {{"-b", "a:1", "b:2"}, "unexpected argument \"b:2\"", "to add a backend write -b b:2"},
      {{"-b", "a:1", "--backend=A:1"}, "--backend: ", "backend A:1 is given twice"},
      {{"-b", "[::1]:80", "-b", "[0:0::1]"}, "-b: ", "backend [0:0::1]:80 is given twice"},
      {{"-b", "app.", "-b", "http://app:80/"}, "-b: ", "is given twice"},
      {{"-b", "a:1,weight=2", "-b", "a:1,weight=3"}, "-b: ", "is given twice"},
      {{"-b", "a:443,tls=yes"}, "-b: backend \"a:443,tls=yes\": ", "is not valid"},
      {{"-k=1"}, "-k: ", "takes no value"},
      {{"--ca"}, "--ca: ", "missing value"},
      {{"--trace-max-bytes", "lots"}, "--trace-max-bytes: ", "is not a size"},
      {{"--trace-file="}, "--trace-file: ", "missing value"},
      {{"--tls-trac"}, "unknown option", "(did you mean --tls-trace?)"},
      {{"-b", "ftp://a"}, "-b: ", R"(scheme "ftp" is not supported)"},
      {{"-b", ":80"}, "-b: ", "host is empty"},
  };
  for (const auto& c : cases) {
    std::string msg = error_of(c.args);
    SCOPED_TRACE(msg);
    EXPECT_EQ(msg.rfind(c.starts, 0), 0u) << "should start with " << c.starts;
    EXPECT_NE(msg.find(c.contains), std::string::npos) << "should contain " << c.contains;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(ParseCli, EveryTimeoutRefusesZeroNegativeGarbageAndHuge) {
  for (const char* flag :
       {"--connect-timeout", "--response-timeout", "--client-timeout", "--idle-timeout"}) {
    const std::string f = std::string(flag) + ": ";
    EXPECT_EQ(error_of({flag, "0"}), f + R"("0" is zero; a timeout must be at least 1ms)");
    EXPECT_EQ(error_of({flag, "0ms"}), f + R"("0ms" is zero; a timeout must be at least 1ms)");
    EXPECT_EQ(error_of({flag, "-1s"}),
              f + R"("-1s" is negative (expected a duration like 500ms, 5s, 1m or 1h, at most )"
                  "24h)");
    EXPECT_EQ(error_of({flag, "2x"}), f + R"("2x" is not a duration (expected a duration like )"
                                          "500ms, 5s, 1m or 1h, at most 24h)");
    EXPECT_NE(error_of({flag, "1.5s"}).find("is not a duration"), std::string::npos);
    EXPECT_NE(error_of({flag, "25h"}).find(R"("25h" is too long)"), std::string::npos);
    EXPECT_NE(error_of({flag, "99999999999999999999h"}).find("is not a duration"),
              std::string::npos);
    EXPECT_EQ(error_of({flag}), f + "missing value (expected a duration like 500ms, 5s, 1m or "
                                    "1h, at most 24h)");
  }
}

TEST(ParseCli, ControlCharactersInValuesAreEscaped) {
  std::string msg = error_of({"--port", "8\n0\x1b"});
  EXPECT_EQ(msg, R"(--port: "8\x0a0\x1b" is not a port number (expected 0..65535))");
}

TEST(ParseCli, NullArgumentIsAUsageError) {
  EXPECT_EQ(error_of({"-p", "1", nullptr}).rfind("unexpected argument \"\"", 0), 0u);
  EXPECT_EQ(error_of({"-p", nullptr}), "-p: missing value (expected 0..65535)");
}

// Seeded, so failures reproduce: random bytes after every flag must give a value or a
// UsageError, never another exception.
TEST(ParseCli, OnlyUsageErrorEscapes) {
  std::mt19937 rng(12345);
  const char* flags[] = {"-p",
                         "--listen",
                         "-b",
                         "-s",
                         "-l",
                         "-w",
                         "--mode",
                         "--connect-timeout",
                         "--max-body-size",
                         "--max-header-size",
                         "--preserve-host",
                         "-x",
                         "x"};
  const std::string alphabet = "0123456789:[]/.,=-+kKmMgGbBsShHwight:peh\x01\xff ";
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    for (std::size_t n = rng() % 24; n > 0; --n) value += alphabet[rng() % alphabet.size()];
    std::vector<const char*> args = {flags[rng() % std::size(flags)], value.c_str()};
    std::string msg = error_of(args);
    EXPECT_NE(msg, "<exception other than UsageError>") << args[0] << " " << value;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("1m"), 1min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("7"), 7s);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_EQ(parse_duration("2S"), 2s);
  EXPECT_EQ(parse_duration("5MS"), 5ms);
  EXPECT_EQ(parse_duration("007s"), 7s);
  EXPECT_EQ(parse_duration("9223372036854775807ms"), Millis(INT64_MAX));
}

TEST(ParseDuration, RejectsMalformedNegativeAndOverflow) {
  for (const char* bad :
       {"", "-1s", "-0", "+1s", "2x", "s", "ms", "1.5s", " 1s", "1s ", "1 s", "1sec", "1ms5", "1d",
        "0x10", "99999999999999999999", "9223372036854776s", "2562047788015216h"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
}

TEST(ParseSize, AcceptsBinaryMultiplesCaseInsensitive) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("64k"), 64u << 10);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("10m"), 10u << 20);
  EXPECT_EQ(parse_size("1g"), 1u << 30);
  EXPECT_EQ(parse_size("10MB"), 10u << 20);
  EXPECT_EQ(parse_size("10mb"), 10u << 20);
  EXPECT_EQ(parse_size("1Gb"), 1u << 30);
  EXPECT_EQ(parse_size("512b"), 512u);
  EXPECT_EQ(parse_size("8589934591g"), 8589934591ULL << 30);
}

TEST(ParseSize, RejectsGarbageAndOverflow) {
  for (const char* bad : {"", "k", "b", "10x", "-1", "+1", "1.5k", "10 m", " 10", "10kbb", "10kib",
                          "1t", "99999999999999999999", "8589934592g"}) {
    EXPECT_EQ(parse_size(bad), std::nullopt) << bad;
  }
}

struct BackendCase {
  const char* text;
  const char* host;
  std::uint16_t port;
  unsigned weight;
};

TEST(ParseBackend, AcceptedForms) {
  const BackendCase cases[] = {
      {"host:8080", "host", 8080, 1},
      {"10.0.0.1:9000", "10.0.0.1", 9000, 1},
      {"host", "host", 80, 1},
      {"my_app.internal:1", "my_app.internal", 1, 1},
      {"[::1]:8080", "::1", 8080, 1},
      {"[::1]", "::1", 80, 1},
      {"[2001:db8::7]:65535", "2001:db8::7", 65535, 1},
      {"http://host:8080", "host", 8080, 1},
      {"http://host:8080/", "host", 8080, 1},
      {"HTTP://host", "host", 80, 1},
      {"http://[::1]:81/", "::1", 81, 1},
      {"host:8080,weight=5", "host", 8080, 5},
      {"host,weight=1000", "host", 80, 1000},
      {"host,weight=1", "host", 80, 1},
      {"http://h:1/,weight=2", "h", 1, 2},
      {"[::1]:9,weight=3", "::1", 9, 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    BackendSpec b = parse_backend(c.text);
    EXPECT_EQ(b.host, c.host);
    EXPECT_EQ(b.port, c.port);
    EXPECT_EQ(b.weight, c.weight);
  }
}

struct TlsCase {
  const char* text;
  std::uint16_t port;
  bool tls;
};

TEST(ParseBackend, TlsFromSchemeOrPort443AndTlsOptionWins) {
  const TlsCase cases[] = {
      {"https://host", 443, true},      {"HTTPS://host:8443/", 8443, true},
      {"host:443", 443, true},          {"[::1]:443", 443, true},
      {"http://host:443", 443, false},  {"host:8443", 8443, false},
      {"host:8443,tls=on", 8443, true}, {"https://host,tls=off", 443, false},
      {"host:443,tls=off", 443, false}, {"http://host,tls=on", 80, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    BackendSpec b = parse_backend(c.text);
    EXPECT_EQ(b.port, c.port);
    EXPECT_EQ(b.tls.enabled, c.tls);
    EXPECT_TRUE(b.tls.verify);
    EXPECT_TRUE(b.tls.sni.empty());
  }
}

TEST(ParseBackend, TlsOptionsInAnyOrder) {
  BackendSpec b =
      parse_backend("https://10.0.0.1:8443,ca=/etc/ca.pem,verify=off,sni=api.test,weight=4");
  EXPECT_EQ(b.host, "10.0.0.1");
  EXPECT_EQ(b.port, 8443);
  EXPECT_EQ(b.weight, 4u);
  EXPECT_TRUE(b.tls.enabled);
  EXPECT_FALSE(b.tls.verify);
  EXPECT_EQ(b.tls.sni, "api.test");
  EXPECT_EQ(b.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(b.tls_name(), "api.test");
  EXPECT_EQ(parse_backend("https://api.test").tls_name(), "api.test");
}

TEST(ParseCli, TlsAndTraceFlags) {
  auto cfg = parse({"-b", "api.test:443", "-k", "--ca", "ca.pem", "--keylog=keys.txt", "--trace",
                    "--tls-trace", "--trace-max-bytes", "64k", "--trace-file", "t.log"})
                 .config;
  EXPECT_TRUE(cfg.tls.insecure);
  EXPECT_EQ(cfg.tls.ca_file, "ca.pem");
  EXPECT_EQ(cfg.tls.keylog_file, "keys.txt");
  EXPECT_TRUE(cfg.trace.hex);
  EXPECT_TRUE(cfg.trace.tls);
  EXPECT_EQ(cfg.trace.max_bytes, 64u << 10);
  EXPECT_EQ(cfg.trace.file, "t.log");
  auto plain = parse({}).config;
  EXPECT_FALSE(plain.tls.insecure);
  EXPECT_FALSE(plain.trace.hex);
  EXPECT_FALSE(plain.trace.tls);
  EXPECT_EQ(plain.trace.max_bytes, 4096u);
  EXPECT_EQ(parse({"--trace-max-bytes", "0"}).config.trace.max_bytes, 0u);
}

TEST(ParseBackend, RefusedFormsSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://host", R"(scheme "ftp" is not supported (use http://, https://, h2c:// or none))"},
      {"host,tls=maybe", R"(tls "maybe" is not valid (expected on or off))"},
      {"host,verify=", "is not valid (expected on or off)"},
      {"host,sni=", R"(sni "" is not a host name)"},
      {"host,sni=bad name", "is not a host name"},
      {"host,sni=10.0.0.1", "is not a host name"},
      {"host,ca=", "ca is empty"},
      {"host,tls=on,tls=off", R"(option "tls" is given twice)"},
      {"://host", R"(scheme "" is not supported)"},
      {"", "host is empty (expected HOST:PORT)"},
      {":8080", "host is empty"},
      {"http://", "host is empty"},
      {"http://:80", "host is empty"},
      {",weight=2", "host is empty"},
      {"host:", R"(port "" is not a port number (expected 1..65535))"},
      {"host:0", R"(port "0" is not a port number)"},
      {"host:65536", "is not a port number"},
      {"host:abc", "is not a port number"},
      {"host:-1", "is not a port number"},
      {"host:80:90", "IPv6 addresses need brackets"},
      {"::1", "IPv6 addresses need brackets (expected [IPV6]:PORT, e.g. [::1]:8080)"},
      {"[::1", "missing ']' after the IPv6 address"},
      {"[host]:80", R"("host" is not an IPv6 address)"},
      {"[]:80", R"("" is not an IPv6 address)"},
      {"[::1]8080", R"(unexpected "8080" after ']')"},
      {"host,weight=0", R"(weight "0" is not valid (expected 1..1000))"},
      {"host,weight=1001", "is not valid (expected 1..1000)"},
      {"host,weight=", "is not valid"},
      {"host,weight=x", "is not valid"},
      {"host,weight=2,weight=3", R"(option "weight" is given twice)"},
      {"host,w=2",
       R"(unknown option "w=2" (expected weight=N, tls=on|off, sni=NAME, verify=on|off, )"
       "ca=FILE or proto=auto|h1|h2)"},
      {"host,", R"(unknown option "")"},
      {"http://host/path", "paths are not supported (expected http://HOST:PORT)"},
      {"http://host//", "paths are not supported"},
      {"ho st:80", R"("ho st" is not a valid host name)"},
      {"user@host:80", "is not a valid host name"},
      {"-host:80", "is not a valid host name"},
      {"9001", R"("9001" looks like a port (expected HOST:PORT, e.g. 127.0.0.1:9001))"},
      {"10.0.0:80", R"("10.0.0" is not a valid IPv4 address)"},
      {"1.2.3.256", "is not a valid IPv4 address"},
  };
  for (const auto& [text, why] : cases) {
    std::string msg = backend_error(text);
    SCOPED_TRACE(msg);
    EXPECT_EQ(msg.rfind("backend \"" + std::string(text) + "\": ", 0), 0u);
    EXPECT_NE(msg.find(why), std::string::npos) << "should contain " << why;
  }
}

TEST(BackendSpec, AuthorityOmitsTheSchemesDefaultPort) {
  EXPECT_EQ(parse_backend("https://host").authority(), "host");
  EXPECT_EQ(parse_backend("host:443").authority(), "host");
  EXPECT_EQ(parse_backend("http://host:443").authority(), "host:443");
  EXPECT_EQ(parse_backend("https://host:80").authority(), "host:80");
  EXPECT_EQ(parse_backend("https://host").name(), "host:443");
}

TEST(BackendSpec, AuthorityOmitsPort80AndBracketsIpv6) {
  EXPECT_EQ((BackendSpec{"host", 80, 1}).authority(), "host");
  EXPECT_EQ((BackendSpec{"host", 80, 1}).name(), "host:80");
  EXPECT_EQ((BackendSpec{"host", 8080, 1}).authority(), "host:8080");
  EXPECT_EQ((BackendSpec{"host", 8080, 1}).name(), "host:8080");
  EXPECT_EQ((BackendSpec{"::1", 80, 1}).authority(), "[::1]");
  EXPECT_EQ((BackendSpec{"::1", 80, 1}).name(), "[::1]:80");
  EXPECT_EQ((BackendSpec{"::1", 9001, 1}).authority(), "[::1]:9001");
  EXPECT_EQ((BackendSpec{"10.0.0.1", 9001, 1}).authority(), "10.0.0.1:9001");
}

TEST(ToString, NamesMatchCliSpelling) {
  EXPECT_STREQ(to_string(Strategy::round_robin), "round_robin");
  EXPECT_STREQ(to_string(Strategy::weighted), "weighted");
  EXPECT_STREQ(to_string(Strategy::random), "random");
  EXPECT_STREQ(to_string(LogLevel::err), "err");
  EXPECT_STREQ(to_string(LogLevel::warn), "warn");
  EXPECT_STREQ(to_string(LogLevel::info), "info");
  EXPECT_STREQ(to_string(LogLevel::debug), "debug");
  EXPECT_STREQ(to_string(Mode::sp), "sp");
  EXPECT_STREQ(to_string(Mode::mp), "mp");
}

TEST(HelpText, ListsEveryOptionDefaultSpecSyntaxAndExitCodes) {
  std::string help(help_text());
  EXPECT_EQ(help.rfind("Usage: load_balancer [options]\n", 0), 0u);
  for (const char* s : {"-p, --port N",
                        "--listen ADDR",
                        "-b, --backend SPEC",
                        "-s, --strategy",
                        "-l, --loglevel",
                        "-w, --workers N",
                        "--mode",
                        "--connect-timeout D",
                        "--response-timeout D",
                        "--client-timeout D",
                        "--idle-timeout D",
                        "--drain-timeout D",
                        "--admin ADDR:PORT",
                        "-c, --config FILE",
                        "--check",
                        "--max-body-size SIZE",
                        "--max-header-size SIZE",
                        "--preserve-host",
                        "-h, --help",
                        "--version",
                        "(default 8080)",
                        "(default 0.0.0.0)",
                        "127.0.0.1:9001 and 127.0.0.1:9002",
                        "(default round_robin)",
                        "(default info)",
                        "(default mp)",
                        "(default 5s)",
                        "(default 60s)",
                        "(default 10s)",
                        "(default 0)",
                        "(default 32k)",
                        "[SCHEME://]HOST[:PORT][,OPTION,...]",
                        "weight=N",
                        "tls=on|off",
                        "sni=NAME",
                        "verify=off",
                        "ca=FILE",
                        "proto=auto|h1|h2",
                        "h2c",
                        "-k, --insecure",
                        "--ca FILE",
                        "--keylog FILE",
                        "--trace ",
                        "--tls-trace",
                        "--trace-max-bytes SIZE",
                        "--trace-file FILE",
                        "(default 4k)",
                        "SSLKEYLOGFILE",
                        "[::1]:9001",
                        "http://",
                        "Exit codes:",
                        "  0  ",
                        "  2  ",
                        "TLS to backends"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_EQ(help.back(), '\n');
}

}  // namespace
}  // namespace lb::config
