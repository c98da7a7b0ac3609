#include "fault/options.hpp"

#include <gtest/gtest.h>

#include "backends/usage_error_of.hpp"

namespace lb::fault {
namespace {

using lb::backends::ArgCursor;
using lb::backends::usage_error_of;

FaultOptions parse(std::vector<std::string_view> args) {
  return parse_fault_options(ArgCursor(std::move(args)));
}

// The UsageError text for these arguments ("" when they parse).
std::string error_of(std::vector<std::string_view> args) {
  return usage_error_of(parse, std::move(args));
}

TEST(FaultOptions, Defaults) {
  FaultOptions o = parse({});
  EXPECT_EQ(o.command, FaultOptions::Command::run);
  EXPECT_EQ(o.server.port, 9003);
  EXPECT_EQ(o.server.listen, "127.0.0.1");
  EXPECT_EQ(o.server.id, "fault_backend");
  EXPECT_EQ(o.server.level, spdlog::level::info);
  EXPECT_EQ(o.settings, Settings{});
  EXPECT_TRUE(o.script.empty());
}

TEST(FaultOptions, EveryFlag) {
  FaultOptions o =
      parse({"--port", "0", "--listen=[::1]", "--id", "fb 1", "-l", "warn", "--mode", "down",
             "--latency-ms=25", "--error-rate", "0.5", "--seed", "18446744073709551615", "--error",
             "reset", "--script", "ok, 503,delay:5"});
  EXPECT_EQ(o.server.port, 0);
  EXPECT_EQ(o.server.listen, "::1");
  EXPECT_EQ(o.server.id, "fb 1");
  EXPECT_EQ(o.server.level, spdlog::level::warn);
  EXPECT_EQ(o.settings.mode, Mode::down);
  EXPECT_EQ(o.settings.latency_ms, 25u);
  EXPECT_EQ(o.settings.error_rate, 0.5);
  EXPECT_EQ(o.settings.seed, 18446744073709551615ull);
  EXPECT_EQ(o.settings.error, (Action{ActionKind::reset, 0}));
  std::vector<Action> want{{ActionKind::ok, 0}, {ActionKind::status, 503}, {ActionKind::delay, 5}};
  EXPECT_EQ(o.script, want);
  EXPECT_EQ(parse({"--loglevel", "debug", "--listen", "localhost"}).server.listen, "127.0.0.1");
  EXPECT_TRUE(o.h2);
  EXPECT_FALSE(o.tls.enabled);
}

TEST(FaultOptions, TlsAndHttp2Flags) {
  FaultOptions o = parse({"--tls", "--cert", "c.pem", "--key=k.pem", "--no-h2", "--h2-max-streams",
                          "7", "--h2-window=1048576", "--h2-goaway-after", "3"});
  EXPECT_TRUE(o.tls.enabled);
  EXPECT_EQ(o.tls.cert_file, "c.pem");
  EXPECT_EQ(o.tls.key_file, "k.pem");
  EXPECT_FALSE(o.h2);
  EXPECT_EQ(o.settings.h2_max_streams, 7u);
  EXPECT_EQ(o.settings.h2_window, 1048576u);
  EXPECT_EQ(o.settings.h2_goaway_after, 3u);
  FaultOptions d = parse({});
  EXPECT_EQ(d.settings.h2_max_streams, 100u);
  EXPECT_EQ(d.settings.h2_window, 65535u);
  EXPECT_EQ(d.settings.h2_goaway_after, 0u);
  EXPECT_EQ(parse({"--h2-window", "0", "--h2-max-streams", "0"}).settings.h2_window, 0u);
}

TEST(FaultOptions, HelpAndVersionStopParsing) {
  EXPECT_EQ(parse({"--mode", "up", "-h", "--bogus"}).command, FaultOptions::Command::help);
  EXPECT_EQ(parse({"--help"}).command, FaultOptions::Command::help);
  EXPECT_EQ(parse({"--version"}).command, FaultOptions::Command::version);
  std::string usage = fault_usage();
  for (const char* flag :
       {"--port", "--listen", "--id", "--loglevel", "--mode", "--latency-ms", "--error-rate",
        "--seed", "--error", "--script", "--help", "--version", "--tls", "--cert FILE",
        "--key FILE", "--no-h2", "--h2-max-streams N", "--h2-window N", "--h2-goaway-after N"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(usage.find("default 9003"), std::string::npos);
  EXPECT_NE(usage.find("ALPN h2 or http/1.1"), std::string::npos) << usage;
}

TEST(FaultOptions, BadFlagsSayWhatIsWrong) {
  struct Case {
    std::vector<std::string_view> args;
    const char* error;
  } cases[] = {
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"--bogus=1"}, "unknown option '--bogus=1'"},
      {{"--port"}, "--port needs a value"},
      {{"--port", "70000"}, "--port: expected 0-65535, got '70000'"},
      {{"--listen", "nowhere"}, "--listen: 'nowhere' is not an IPv4 or IPv6 address"},
      {{"--id", ""}, "--id: expected a non-empty name without control characters"},
      {{"-l", "trace"}, "--loglevel: expected err|warn|info|debug, got 'trace'"},
      {{"--mode", "sideways"}, "--mode: expected up, down, reset or hang, got 'sideways'"},
      {{"--latency-ms", "-1"}, "--latency-ms: expected an integer 0-3600000, got '-1'"},
      {{"--error-rate", "2"}, "--error-rate: expected a number 0-1, got '2'"},
      {{"--seed", "x"}, "--seed: expected an integer 0-18446744073709551615, got 'x'"},
      {{"--error", "ok"}, "--error: 'ok' is not a failure"},
      {{"--script", "ok,boom"},
       "--script: entry 2: unknown response 'boom' (expected ok, a status 200-599, reset, "
       "close, hang, garbage, truncate, reset-mid-body, bad-chunk or delay:<ms>)"},
      {{"--tls"}, "--tls needs --cert FILE and --key FILE"},
      {{"--cert", "c.pem"}, "--cert needs --tls"},
      {{"--no-h2=1"}, "--no-h2 takes no value"},
      {{"--h2-window", "2147483648"},
       "--h2-window: expected an integer 0-2147483647, got '2147483648'"},
      {{"--h2-max-streams", "x"}, "--h2-max-streams: expected an integer 0-2147483647, got 'x'"},
      {{"--h2-goaway-after"}, "--h2-goaway-after needs a value"},
  };
  for (const auto& c : cases) EXPECT_EQ(error_of(c.args), c.error);
}

}  // namespace
}  // namespace lb::fault
