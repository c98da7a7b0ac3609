#include "lb/trace/keylog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace lb::trace {

KeyLog::KeyLog(const std::string& path) : path_(path) {
  // 0600: the file holds session secrets. Close-on-exec: a new binary after an upgrade
  // opens its own.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), path);
  file_ = ::fdopen(fd, "a");
  if (file_ == nullptr) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), path);
  }
}

KeyLog::~KeyLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void KeyLog::write(const char* line) {
  std::fputs(line, file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

}  // namespace lb::trace
