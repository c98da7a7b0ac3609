#pragma once

#include <cstdio>
#include <string>

namespace lb::trace {

// The NSS key log file (RFC 9850 format, as SSLKEYLOGFILE in browsers and curl): OpenSSL
// hands over one line per secret; each is appended and flushed at once, so a capture tool
// reading the file meanwhile can decrypt connections still open.
class KeyLog {
 public:
  // Opens `path` for appending; throws std::system_error naming the path on failure.
  explicit KeyLog(const std::string& path);
  ~KeyLog();
  KeyLog(const KeyLog&) = delete;
  KeyLog& operator=(const KeyLog&) = delete;

  const std::string& path() const { return path_; }
  // Appends `line` and a newline.
  void write(const char* line);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace lb::trace
