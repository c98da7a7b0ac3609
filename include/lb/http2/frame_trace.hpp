#pragma once

#include <nghttp2/nghttp2.h>
#include <spdlog/logger.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/trace/hex_trace.hpp"

namespace lb::http2 {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Appends one decoded frame: "<label> h2 <from>-><to> <TYPE> stream=N length=N flags=A|B",
// type-specific facts (SETTINGS values, window increment, error code names, GOAWAY's last
// stream id, PING data), and for HEADERS the decoded field list, one "  name: value" line
// each. No '\n' at the end.
void append_frame_text(std::string_view label, std::string_view from, std::string_view to,
                       const nghttp2_frame& frame, const HeaderList& headers, std::string& out);

// The --trace frame log of one HTTP/2 upstream connection, beside its hex dump: one block
// per frame in the "trace" logger. Header fields of a received HEADERS frame are collected
// as nghttp2 decodes them and shown with the frame.
class FrameTracer {
 public:
  FrameTracer(spdlog::logger& log, std::string peer) : log_(log), peer_(std::move(peer)) {}

  // A HEADERS frame nghttp2 rejected midway leaves fields behind; the next one starts clean.
  void begin_received_headers() { received_.clear(); }
  void add_received_header(std::string_view name, std::string_view value) {
    received_.emplace_back(name, value);
  }
  // `label`: the connection's ids, with the stream's client ("c7/u3").
  void frame(trace::Direction d, const nghttp2_frame& frame, std::string_view label);

 private:
  spdlog::logger& log_;
  std::string peer_;
  HeaderList received_;
  HeaderList sent_;
  std::string block_;  // reused between frames
};

}  // namespace lb::http2
