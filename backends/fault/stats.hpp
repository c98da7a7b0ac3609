#pragma once

// Counters of what fault_backend saw, for GET /_fault/stats. Control calls are not counted
// as requests and their bytes are not counted; their connections (and HTTP/2 streams) are.

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "action.hpp"

namespace lb::fault {

// Distinct paths counted by name; the rest are counted under kOtherPaths.
inline constexpr std::size_t kMaxPathKeys = 1000;
inline constexpr std::string_view kOtherPaths = "(other)";

class Stats {
 public:
  // Counts a non-control request; returns its 1-based number (X-Fault-Request).
  std::uint64_t count_request(std::string_view method, std::string_view path);
  // A response head with this status was sent (complete or not; control replies excluded).
  void count_status(int status) { ++by_status_[status]; }
  // A broken behaviour was carried out (reset, close, hang, garbage, truncate,
  // reset_mid_body, bad_chunk; others are ignored).
  void count_fault(ActionKind kind);
  // Input that was not a valid request (answered 400/413/414/431/501/505 and closed).
  void count_bad_request() { ++bad_requests_; }
  void add_received(std::uint64_t n) { bytes_received_ += n; }
  void add_sent(std::uint64_t n) { bytes_sent_ += n; }
  void connection_opened() {
    ++connections_open_;
    ++connections_total_;
  }
  void connection_closed() { --connections_open_; }

  // HTTP/2 (connections are also counted by connection_opened):
  // a connection started speaking HTTP/2;
  void h2_connection_opened() { ++h2_connections_total_; }
  // a stream was accepted, `open` streams (this one included) are open on its connection;
  void h2_stream_opened(std::uint64_t open) {
    ++h2_streams_total_;
    if (open > h2_streams_max_concurrent_) h2_streams_max_concurrent_ = open;
  }
  // a stream above a GOAWAY's last-stream-id arrived and was left unprocessed;
  void h2_stream_refused() { ++h2_refused_streams_; }
  // an RST_STREAM or a GOAWAY frame was sent.
  void h2_reset_sent() { ++h2_resets_sent_; }
  void h2_goaway_sent() { ++h2_goaways_sent_; }

  // Zeroes every counter except the number of open connections.
  void reset();

  std::uint64_t requests() const { return requests_; }
  std::uint64_t connections_open() const { return connections_open_; }

  // {"requests", "by_path", "by_method", "by_status", "faults", "resets", "closes", "hangs",
  //  "bad_requests", "bytes_received", "bytes_sent", "connections_open", "connections_total",
  //  "h2_connections_total", "h2_streams_total", "h2_streams_max_concurrent",
  //  "h2_refused_streams", "h2_resets_sent", "h2_goaways_sent"}
  nlohmann::ordered_json to_json() const;

 private:
  static constexpr std::size_t kFaultKinds = static_cast<std::size_t>(ActionKind::delay) + 1;

  std::uint64_t requests_ = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_path_;
  std::map<std::string, std::uint64_t, std::less<>> by_method_;
  std::map<int, std::uint64_t> by_status_;
  std::array<std::uint64_t, kFaultKinds> faults_{};
  std::uint64_t bad_requests_ = 0;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t connections_open_ = 0;
  std::uint64_t connections_total_ = 0;
  std::uint64_t h2_connections_total_ = 0;
  std::uint64_t h2_streams_total_ = 0;
  std::uint64_t h2_streams_max_concurrent_ = 0;  // on any one connection
  std::uint64_t h2_refused_streams_ = 0;
  std::uint64_t h2_resets_sent_ = 0;
  std::uint64_t h2_goaways_sent_ = 0;
};

}  // namespace lb::fault
