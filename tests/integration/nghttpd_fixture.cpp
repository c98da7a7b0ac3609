#include "nghttpd_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace it {

namespace {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("Nghttpd: cannot get a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool Nghttpd::available() { return ::access(kBinary, X_OK) == 0; }

Nghttpd::Nghttpd(const std::string& docroot, const CertFiles* cert,
                 const std::vector<std::string>& extra) {
  std::string last_log;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port();
    std::vector<std::string> args{"-a", "127.0.0.1", "-d", docroot};
    args.insert(args.end(), extra.begin(), extra.end());
    if (cert == nullptr) args.push_back("--no-tls");
    args.push_back(std::to_string(port_));
    if (cert != nullptr) {
      args.push_back(cert->key);
      args.push_back(cert->cert);
    }
    process_ = std::make_unique<Process>(kBinary, args);
    auto deadline = Clock::now() + kTimeout;
    while (process_->running() && Clock::now() < deadline) {
      if (accepts(port_)) return;
      std::this_thread::sleep_for(5ms);  // polling for readiness, bounded by the deadline
    }
    last_log = process_->log();
    process_.reset();
  }
  throw std::runtime_error("nghttpd did not start: " + last_log);
}

}  // namespace it
