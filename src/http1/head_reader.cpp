#include "lb/http1/head_reader.hpp"

#include <algorithm>

namespace lb::http1 {

HeadProgress advance_head(Parser& parser, util::Buffer& buffer, std::size_t& pos,
                          std::size_t max_head) {
  if (pos < buffer.size()) {
    auto r = parser.parse(buffer.base(), pos, buffer.size());
    pos += r.consumed;
    if (r.event == Parser::Event::head) return HeadProgress::complete;
    if (r.event == Parser::Event::error) return HeadProgress::error;
  }
  if (buffer.free_space().empty()) {
    if (buffer.capacity() >= max_head) return HeadProgress::too_large;
    buffer.grow(std::min(buffer.capacity() * 2, max_head));
  }
  return HeadProgress::need_more;
}

}  // namespace lb::http1
