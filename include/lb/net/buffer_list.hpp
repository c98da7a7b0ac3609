#pragma once

#include <asio/buffer.hpp>
#include <cstddef>
#include <vector>

namespace lb::net {

// A non-owning view of a gather list, usable as an Asio ConstBufferSequence. Asio copies
// the buffer sequence into each write operation; passing a std::vector would cost two heap
// allocations per write, this view copies two words.
class BufferView {
 public:
  explicit BufferView(const std::vector<asio::const_buffer>& list)
      : data_(list.data()), size_(list.size()) {}
  const asio::const_buffer* begin() const { return data_; }
  const asio::const_buffer* end() const { return data_ + size_; }

 private:
  const asio::const_buffer* data_;
  std::size_t size_;
};

}  // namespace lb::net
