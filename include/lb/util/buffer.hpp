#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace lb::util {

// A byte buffer with a read region [begin, end) and free space after it. Allocated once
// per connection; grows only on request (e.g. a request head larger than the default) and
// never shrinks, so the request path does not allocate after warm-up.
class Buffer {
 public:
  explicit Buffer(std::size_t capacity)
      : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

  char* base() { return data_.get(); }
  const char* base() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

  // Unread bytes.
  char* data() { return data_.get() + begin_; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  std::size_t begin_offset() const { return begin_; }

  // Free space after the unread bytes, for the next read.
  std::span<char> free_space() { return {data_.get() + end_, capacity_ - end_}; }
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Like consume(), but never rewinds an emptied buffer: bytes before begin stay where they
  // are (for data still referenced, such as a request held for replay).
  void skip(std::size_t n) { begin_ += n; }
  void clear() { begin_ = end_ = 0; }

  // Moves the unread bytes to the front so free_space() is as large as possible.
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }

  // Raises the capacity to `capacity`, keeping offsets; pointers into the buffer become
  // invalid. No-op when already as large.
  void grow(std::size_t capacity) {
    if (capacity <= capacity_) return;
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace lb::util
