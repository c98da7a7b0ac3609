#include "fault/route.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

TEST(FaultRoute, FixedPaths) {
  struct Case {
    const char* target;
    Endpoint endpoint;
  } cases[] = {
      {"/", Endpoint::hello},
      {"/anything/else?x=1", Endpoint::hello},
      {"/echo", Endpoint::echo},
      {"/echo?a=b", Endpoint::echo},
      {"/health", Endpoint::health},
      {"/reset", Endpoint::reset},
      {"/close", Endpoint::close},
      {"/hang", Endpoint::hang},
      {"/truncate", Endpoint::truncate},
      {"/reset-mid-body", Endpoint::reset_mid_body},
      {"/garbage", Endpoint::garbage},
      {"/bad-chunk", Endpoint::bad_chunk},
      {"/slow-headers", Endpoint::slow_headers},
      {"/drip", Endpoint::drip},
      {"/trailers", Endpoint::trailers},
      {"/cookies", Endpoint::cookies},
      {"/h2/rst-stream", Endpoint::h2_rst_stream},
      {"/h2/goaway", Endpoint::h2_goaway},
      {"/h2/slow-window", Endpoint::h2_slow_window},
      {"/h2", Endpoint::hello},
      {"/_fault", Endpoint::control},
      {"/_fault/config", Endpoint::control},
      {"/_fault/anything", Endpoint::control},
      {"/_faultless", Endpoint::hello},
      {"/echo/", Endpoint::hello},
      {"/status", Endpoint::hello},
  };
  for (const auto& c : cases) {
    Route r = route_request(c.target);
    EXPECT_EQ(r.endpoint, c.endpoint) << c.target;
    EXPECT_TRUE(r.error.empty()) << c.target << ": " << r.error;
  }
  EXPECT_EQ(route_request("/echo?a=b").path, "/echo");
}

TEST(FaultRoute, NumberedPaths) {
  Route r = route_request("/status/503");
  EXPECT_EQ(r.endpoint, Endpoint::status);
  EXPECT_EQ(r.status, 503);
  r = route_request("/delay/150?x");
  EXPECT_EQ(r.endpoint, Endpoint::delay);
  EXPECT_EQ(r.ms, 150u);
  r = route_request("/bytes/1000");
  EXPECT_EQ(r.endpoint, Endpoint::bytes);
  EXPECT_EQ(r.bytes, 1000u);
  EXPECT_FALSE(r.seed);
  r = route_request("/bytes/0?seed=18446744073709551615");
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(r.seed, 18446744073709551615ull);
  r = route_request("/stream/5000");
  EXPECT_EQ(r.endpoint, Endpoint::stream);
  EXPECT_EQ(r.bytes, 5000u);
  EXPECT_EQ(r.chunk_size, kDefaultChunkSize);
  r = route_request("/stream/5000?seed=3&chunk_size=100");
  EXPECT_EQ(r.chunk_size, 100u);
  EXPECT_EQ(r.seed, 3u);
}

TEST(FaultRoute, QueryParametersAndDefaults) {
  Route r = route_request("/drip");
  EXPECT_EQ(r.bytes, kDefaultDripBytes);
  EXPECT_EQ(r.ms, kDefaultDripMs);
  r = route_request("/drip?duration_ms=100&bytes=5&other=x");
  EXPECT_EQ(r.bytes, 5u);
  EXPECT_EQ(r.ms, 100u);
  r = route_request("/truncate");
  EXPECT_EQ(r.bytes, 100u);
  EXPECT_EQ(r.sent, 10u);
  r = route_request("/reset-mid-body?length=5000&sent=4000");
  EXPECT_EQ(r.bytes, 5000u);
  EXPECT_EQ(r.sent, 4000u);
  r = route_request("/truncate?sent=0");
  EXPECT_EQ(r.sent, 0u);
  EXPECT_TRUE(r.error.empty());
  r = route_request("/slow-headers");
  EXPECT_EQ(r.ms, kDefaultSlowHeadersMs);
  r = route_request("/slow-headers?delay_ms=40");
  EXPECT_EQ(r.ms, 40u);
}

TEST(FaultRoute, RstStreamCodeAndWhen) {
  Route r = route_request("/h2/rst-stream");
  EXPECT_EQ(r.endpoint, Endpoint::h2_rst_stream);
  EXPECT_EQ(r.h2_code, 2u);  // INTERNAL_ERROR
  EXPECT_FALSE(r.after_headers);
  r = route_request("/h2/rst-stream?code=REFUSED_STREAM&after_headers=1");
  EXPECT_EQ(r.h2_code, 7u);
  EXPECT_TRUE(r.after_headers);
  EXPECT_TRUE(r.error.empty());
  r = route_request("/h2/rst-stream?after_headers=0&code=cancel");
  EXPECT_EQ(r.h2_code, 8u);
  EXPECT_FALSE(r.after_headers);
  EXPECT_EQ(route_request("/h2/rst-stream?code=0xb").h2_code, 11u);
  EXPECT_EQ(route_request("/h2/rst-stream?code=4294967295").h2_code, 4294967295u);
}

TEST(FaultRoute, BadParametersBecomeErrors) {
  struct Case {
    const char* target;
    const char* error;
  } cases[] = {
      {"/status/abc", "status: expected an integer 200-599, got 'abc'"},
      {"/status/", "status: expected an integer 200-599, got ''"},
      {"/status/199", "status: expected an integer 200-599, got '199'"},
      {"/status/600", "status: expected an integer 200-599, got '600'"},
      {"/status/503/x", "status: expected an integer 200-599, got '503/x'"},
      {"/delay/3600001", "delay: expected an integer 0-3600000, got '3600001'"},
      {"/bytes/-1", "bytes: expected an integer 0-1099511627776, got '-1'"},
      {"/bytes/1099511627777", "bytes: expected an integer 0-1099511627776, got '1099511627777'"},
      {"/bytes/10?seed=x", "seed: expected an integer 0-18446744073709551615, got 'x'"},
      {"/stream/10?chunk_size=0", "chunk_size: expected an integer 1-1048576, got '0'"},
      {"/drip?bytes=1073741825", "bytes: expected an integer 0-1073741824, got '1073741825'"},
      {"/drip?duration_ms=", "duration_ms: expected an integer 0-3600000, got ''"},
      {"/truncate?length=10&sent=10", "sent: must be less than length (10)"},
      {"/reset-mid-body?length=0", "length: expected an integer 1-1099511627776, got '0'"},
      {"/slow-headers?delay_ms=x", "delay_ms: expected an integer 0-3600000, got 'x'"},
      {"/h2/rst-stream?code=BOGUS",
       "code: expected an HTTP/2 error code name (PROTOCOL_ERROR, CANCEL, REFUSED_STREAM, ...) "
       "or a number 0-4294967295, got 'BOGUS'"},
      {"/h2/rst-stream?after_headers=2", "after_headers: expected an integer 0-1, got '2'"},
  };
  for (const auto& c : cases) EXPECT_EQ(route_request(c.target).error, c.error) << c.target;
}

TEST(FaultRoute, AbsoluteFormUsesThePath) {
  Route r = route_request("http://example.com:8080/status/404?x=1");
  EXPECT_EQ(r.endpoint, Endpoint::status);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.path, "/status/404");
  EXPECT_EQ(route_request("http://example.com").path, "/");
  EXPECT_EQ(route_request("https://example.com/_fault/stats").endpoint, Endpoint::control);
}

}  // namespace
}  // namespace lb::fault
