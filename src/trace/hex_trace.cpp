#include "lb/trace/hex_trace.hpp"

#include "lb/util/hex_dump.hpp"

namespace lb::trace {

void append_trace_block(std::string_view label, std::string_view from, std::string_view to,
                        std::string_view bytes, std::size_t max_bytes, std::string& out) {
  out.append(label).append(" ").append(from).append("->").append(to).append(" ");
  out.append(std::to_string(bytes.size())).append(bytes.size() == 1 ? " byte\n" : " bytes\n");
  std::size_t shown = max_bytes == 0 ? bytes.size() : std::min(bytes.size(), max_bytes);
  util::append_hex_dump(bytes.substr(0, shown), out);
  if (shown < bytes.size()) {
    out.append("... ").append(std::to_string(bytes.size() - shown)).append(" more bytes not shown");
  } else if (!out.empty() && out.back() == '\n') {
    out.pop_back();
  }
}

void HexTrace::record(Direction d, std::string_view bytes) {
  if (bytes.empty()) return;
  block_.clear();
  if (d == Direction::received) {
    append_trace_block(label_, peer_, "lb", bytes, max_bytes_, block_);
  } else {
    append_trace_block(label_, "lb", peer_, bytes, max_bytes_, block_);
  }
  log_.info("{}", block_);
}

}  // namespace lb::trace
