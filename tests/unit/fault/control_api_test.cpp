#include "fault/control_api.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

using nlohmann::json;

class FaultControlApi : public ::testing::Test {
 protected:
  FaultControlApi() : decider_(startup(), *parse_action_list("503,ok")) {}

  static Settings startup() {
    Settings s;
    s.latency_ms = 5;
    return s;
  }

  // Calls the API and returns the reply body as JSON (checking the status).
  json call(std::string_view method, std::string_view path, std::string_view body = {},
            int status = 200) {
    ControlReply r = handle_control(method, path, body, decider_, stats_);
    EXPECT_EQ(r.status, status) << method << " " << path << " " << body << " -> " << r.body;
    EXPECT_TRUE(r.body.ends_with("\n"));
    return json::parse(r.body);
  }

  Decider decider_;
  Stats stats_;
};

TEST_F(FaultControlApi, GetConfig) {
  EXPECT_EQ(call("GET", "/_fault/config").dump(),
            R"({"error":"503","error_rate":0.0,"h2_goaway_after":0,"h2_max_streams":100,)"
            R"("h2_window":65535,"latency_ms":5,"mode":"up","seed":0})");
  EXPECT_EQ(call("HEAD", "/_fault/config")["latency_ms"], 5);
}

TEST_F(FaultControlApi, PutAndPostConfigPatch) {
  json j = call("PUT", "/_fault/config", R"({"mode":"down"})");
  EXPECT_EQ(j["mode"], "down");
  EXPECT_EQ(j["latency_ms"], 5);
  EXPECT_EQ(decider_.settings().mode, Mode::down);
  j = call("POST", "/_fault/config", R"({"error_rate":0.5,"seed":7,"error":"reset"})");
  EXPECT_EQ(j["mode"], "down");
  EXPECT_EQ(j["error_rate"], 0.5);
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["error"], "reset");
}

TEST_F(FaultControlApi, Http2SettingsAreConfigAndResetToStartUp) {
  json j = call("PUT", "/_fault/config", R"({"h2_goaway_after":2,"h2_max_streams":7})");
  EXPECT_EQ(j["h2_goaway_after"], 2);
  EXPECT_EQ(j["h2_max_streams"], 7);
  EXPECT_EQ(j["h2_window"], 65535);
  EXPECT_EQ(decider_.settings().h2_goaway_after, 2u);
  call("POST", "/_fault/reset");
  EXPECT_EQ(decider_.settings().h2_goaway_after, 0u);
  EXPECT_EQ(decider_.settings().h2_max_streams, 100u);
}

TEST_F(FaultControlApi, BadConfigIs400AndChangesNothing) {
  json j = call("PUT", "/_fault/config", R"({"mode":"down","latency_ms":"x"})", 400);
  EXPECT_EQ(j["error"], "latency_ms: expected an integer 0-3600000, got \"x\"");
  EXPECT_EQ(decider_.settings(), startup());
  EXPECT_EQ(call("PUT", "/_fault/config", "{", 400)["error"], "body is not valid JSON");
  EXPECT_EQ(call("PUT", "/_fault/config", "", 400)["error"], "body is not valid JSON");
  EXPECT_EQ(call("PUT", "/_fault/config", "[]", 400)["error"], "body must be a JSON object");
}

TEST_F(FaultControlApi, Script) {
  EXPECT_EQ(call("GET", "/_fault/script").dump(), R"({"responses":["503","ok"]})");
  json j = call("POST", "/_fault/script", R"({"responses":["ok",502,"reset","delay:20"]})");
  EXPECT_EQ(j.dump(), R"({"responses":["ok","502","reset","delay:20"]})");
  decider_.decide();
  EXPECT_EQ(call("GET", "/_fault/script").dump(), R"({"responses":["502","reset","delay:20"]})");
  EXPECT_EQ(call("PUT", "/_fault/script", R"({"responses":[]})").dump(), R"({"responses":[]})");
  call("PUT", "/_fault/script", R"({"responses":["hang"]})");
  EXPECT_EQ(call("DELETE", "/_fault/script").dump(), R"({"responses":[]})");
  EXPECT_TRUE(decider_.script().empty());
}

TEST_F(FaultControlApi, BadScriptIs400AndKeepsTheOldOne) {
  struct Case {
    const char* body;
    const char* error;
  } cases[] = {
      {R"({"responses":["ok","nope"]})",
       "responses[1]: unknown response 'nope' (expected ok, a status 200-599, reset, close, "
       "hang, garbage, truncate, reset-mid-body, bad-chunk or delay:<ms>)"},
      {R"({"responses":[true]})", "responses[0]: expected a string"},
      {R"({"responses":[700]})", "responses[0]: status: expected an integer 200-599, got '700'"},
      {R"({"responses":"ok"})", "responses: expected an array"},
      {R"({})", "responses: expected an array"},
      {R"({"responses":[],"x":1})", "unknown field 'x' (expected responses)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(call("POST", "/_fault/script", c.body, 400)["error"], c.error) << c.body;
  }
  EXPECT_EQ(decider_.script().size(), 2u);
}

TEST_F(FaultControlApi, StatsAndReset) {
  stats_.count_request("GET", "/x");
  stats_.connection_opened();
  json j = call("GET", "/_fault/stats");
  EXPECT_EQ(j["requests"], 1);
  EXPECT_EQ(j["by_path"]["/x"], 1);
  call("PUT", "/_fault/config", R"({"mode":"hang"})");
  call("DELETE", "/_fault/script");
  j = call("POST", "/_fault/reset");
  EXPECT_EQ(j.dump(),
            R"({"config":{"error":"503","error_rate":0.0,"h2_goaway_after":0,)"
            R"("h2_max_streams":100,"h2_window":65535,"latency_ms":5,"mode":"up","seed":0},)"
            R"("responses":["503","ok"]})");
  EXPECT_EQ(stats_.requests(), 0u);
  EXPECT_EQ(stats_.connections_open(), 1u);
  EXPECT_EQ(decider_.settings(), startup());
}

TEST_F(FaultControlApi, WrongMethodIs405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  } cases[] = {
      {"DELETE", "/_fault/config", "GET, HEAD, PUT, POST"},
      {"PATCH", "/_fault/script", "GET, HEAD, PUT, POST, DELETE"},
      {"POST", "/_fault/stats", "GET, HEAD"},
      {"GET", "/_fault/reset", "POST"},
  };
  for (const auto& c : cases) {
    ControlReply r = handle_control(c.method, c.path, "", decider_, stats_);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(r.allow, c.allow);
    EXPECT_EQ(json::parse(r.body)["error"], std::string(c.method) + " is not allowed on " + c.path +
                                                " (allowed: " + c.allow + ")");
  }
}

TEST_F(FaultControlApi, UnknownEndpointIs404) {
  for (const char* path : {"/_fault", "/_fault/", "/_fault/nope", "/_fault/config/x"}) {
    json j = call("GET", path, "", 404);
    EXPECT_EQ(j["error"].get<std::string>().rfind("no control endpoint " + std::string(path), 0),
              0u);
  }
}

}  // namespace
}  // namespace lb::fault
