#pragma once

#include <spdlog/logger.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace lb::trace {

// Which way bytes went, as the balancer sees it.
enum class Direction { received, sent };

// Appends one --trace block: "<label> <from>-><to> <n> bytes", then `bytes` as hexdump -C
// lines, at most `max_bytes` of them (0 = all) followed by "... K more bytes not shown".
// No '\n' after the last line (the logger ends the record).
void append_trace_block(std::string_view label, std::string_view from, std::string_view to,
                        std::string_view bytes, std::size_t max_bytes, std::string& out);

// The --trace tap of one connection leg: every byte its stream reads or writes becomes one
// block in the "trace" logger. `peer` names the far end ("client", or the backend as
// "NAME(ADDR)"); the label carries the connection ids ("c7", "c7/u3") and changes when a
// pooled upstream connection serves another client. Runs on its connection's loop only.
class HexTrace {
 public:
  HexTrace(spdlog::logger& log, std::size_t max_bytes, std::string peer)
      : log_(log), max_bytes_(max_bytes), peer_(std::move(peer)) {}

  void set_label(std::string label) { label_ = std::move(label); }
  const std::string& label() const { return label_; }
  const std::string& peer() const { return peer_; }
  void record(Direction d, std::string_view bytes);

 private:
  spdlog::logger& log_;
  std::size_t max_bytes_;
  std::string peer_;
  std::string label_;
  std::string block_;  // reused between records
};

}  // namespace lb::trace
