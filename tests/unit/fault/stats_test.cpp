#include "fault/stats.hpp"

#include <gtest/gtest.h>

namespace lb::fault {
namespace {

TEST(FaultStats, EmptyShape) {
  Stats s;
  EXPECT_EQ(s.to_json().dump(),
            R"({"requests":0,"by_path":{},"by_method":{},"by_status":{},)"
            R"("faults":{"reset":0,"close":0,"hang":0,"garbage":0,"truncate":0,)"
            R"("reset-mid-body":0,"bad-chunk":0},"resets":0,"closes":0,"hangs":0,)"
            R"("bad_requests":0,"bytes_received":0,"bytes_sent":0,"connections_open":0,)"
            R"("connections_total":0,"h2_connections_total":0,"h2_streams_total":0,)"
            R"("h2_streams_max_concurrent":0,"h2_refused_streams":0,"h2_resets_sent":0,)"
            R"("h2_goaways_sent":0})");
}

TEST(FaultStats, CountsEverything) {
  Stats s;
  s.connection_opened();
  s.connection_opened();
  s.connection_closed();
  EXPECT_EQ(s.count_request("GET", "/a"), 1u);
  EXPECT_EQ(s.count_request("GET", "/a"), 2u);
  EXPECT_EQ(s.count_request("POST", "/b"), 3u);
  s.count_status(200);
  s.count_status(200);
  s.count_status(503);
  for (auto k : {ActionKind::reset, ActionKind::reset_mid_body, ActionKind::close, ActionKind::hang,
                 ActionKind::garbage, ActionKind::truncate, ActionKind::bad_chunk, ActionKind::ok,
                 ActionKind::status, ActionKind::delay}) {
    s.count_fault(k);
  }
  s.count_bad_request();
  s.add_received(10);
  s.add_received(5);
  s.add_sent(7);
  auto j = s.to_json();
  EXPECT_EQ(j["requests"], 3);
  EXPECT_EQ(j["by_path"].dump(), R"({"/a":2,"/b":1})");
  EXPECT_EQ(j["by_method"].dump(), R"({"GET":2,"POST":1})");
  EXPECT_EQ(j["by_status"].dump(), R"({"200":2,"503":1})");
  EXPECT_EQ(j["faults"].dump(),
            R"({"reset":1,"close":1,"hang":1,"garbage":1,"truncate":1,"reset-mid-body":1,)"
            R"("bad-chunk":1})");
  EXPECT_EQ(j["resets"], 2);
  EXPECT_EQ(j["closes"], 1);
  EXPECT_EQ(j["hangs"], 1);
  EXPECT_EQ(j["bad_requests"], 1);
  EXPECT_EQ(j["bytes_received"], 15);
  EXPECT_EQ(j["bytes_sent"], 7);
  EXPECT_EQ(j["connections_open"], 1);
  EXPECT_EQ(j["connections_total"], 2);
}

TEST(FaultStats, ResetKeepsOpenConnectionsOnly) {
  Stats s;
  s.connection_opened();
  s.count_request("GET", "/");
  s.count_status(200);
  s.add_sent(3);
  s.reset();
  auto j = s.to_json();
  EXPECT_EQ(j["requests"], 0);
  EXPECT_TRUE(j["by_path"].empty());
  EXPECT_EQ(j["bytes_sent"], 0);
  EXPECT_EQ(j["connections_open"], 1);
  EXPECT_EQ(j["connections_total"], 0);
  EXPECT_EQ(s.count_request("GET", "/"), 1u);
}

TEST(FaultStats, Http2Counters) {
  Stats s;
  s.h2_connection_opened();
  s.h2_connection_opened();
  s.h2_stream_opened(1);
  s.h2_stream_opened(3);  // the highest concurrency seen on one connection is kept
  s.h2_stream_opened(2);
  s.h2_stream_refused();
  s.h2_reset_sent();
  s.h2_reset_sent();
  s.h2_goaway_sent();
  auto j = s.to_json();
  EXPECT_EQ(j["h2_connections_total"], 2);
  EXPECT_EQ(j["h2_streams_total"], 3);
  EXPECT_EQ(j["h2_streams_max_concurrent"], 3);
  EXPECT_EQ(j["h2_refused_streams"], 1);
  EXPECT_EQ(j["h2_resets_sent"], 2);
  EXPECT_EQ(j["h2_goaways_sent"], 1);
  EXPECT_EQ(j["requests"], 0) << "streams are not requests by themselves";
  s.reset();
  j = s.to_json();
  for (const char* key : {"h2_connections_total", "h2_streams_total", "h2_streams_max_concurrent",
                          "h2_refused_streams", "h2_resets_sent", "h2_goaways_sent"}) {
    EXPECT_EQ(j[key], 0) << key;
  }
  s.h2_stream_opened(1);
  EXPECT_EQ(s.to_json()["h2_streams_max_concurrent"], 1);
}

TEST(FaultStats, DistinctPathsAreCapped) {
  Stats s;
  for (std::size_t i = 0; i < kMaxPathKeys + 5; ++i)
    s.count_request("GET", "/p" + std::to_string(i));
  s.count_request("GET", "/p0");  // already known: still counted by name
  auto j = s.to_json();
  EXPECT_EQ(j["by_path"].size(), kMaxPathKeys + 1);
  EXPECT_EQ(j["by_path"][std::string(kOtherPaths)], 5);
  EXPECT_EQ(j["by_path"]["/p0"], 2);
  EXPECT_EQ(j["requests"], kMaxPathKeys + 6);
}

}  // namespace
}  // namespace lb::fault
