#pragma once

#include <cstddef>

#include "lb/http1/parser.hpp"
#include "lb/util/buffer.hpp"

namespace lb::http1 {

enum class HeadProgress {
  complete,   // the head is parsed; `pos` is its end offset in the buffer
  need_more,  // read more into buffer.free_space() (there is room), then call again
  error,      // the parser refused the input; parser.error() says why
  too_large,  // the head does not fit in max_head bytes
};

// One step of reading a message head that starts at offset 0 of `buffer`: parses the bytes
// from `pos` on and, when more are needed, makes room for them (growing the buffer up to
// `max_head`). The loop around it only reads; shared by the proxy and the bundled backends.
HeadProgress advance_head(Parser& parser, util::Buffer& buffer, std::size_t& pos,
                          std::size_t max_head);

}  // namespace lb::http1
