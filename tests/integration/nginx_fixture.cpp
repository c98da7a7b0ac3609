#include "nginx_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace it {

namespace {

// A listening socket on 127.0.0.1 with a port the OS picked.
int listen_on_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("NginxTls: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 511) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("NginxTls: cannot listen on 127.0.0.1:0: " +
                             std::string(std::strerror(e)));
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// The text of an nginx string literal (a double-quoted config token). `$` would start a
// variable, so it is written as ${dollar}, which the configuration defines as "$".
std::string nginx_quoted(std::string_view text, bool& needs_dollar) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '$':
        out += "${dollar}";
        needs_dollar = true;
        break;
      default:
        out += c;
    }
  }
  return out + "\"";
}

std::string config_text(const std::string& dir, std::uint16_t port, const CertFiles& cert,
                        std::string_view body, bool http2) {
  bool needs_dollar = false;
  std::string quoted_body = nginx_quoted(body, needs_dollar);
  bool unused = false;
  auto path = [&](const std::string& p) { return nginx_quoted(p, unused); };
  std::ostringstream c;
  c << "daemon off;\n"
    << "master_process on;\n"
    << "worker_processes 1;\n"
    << "pid " << path(dir + "/nginx.pid") << ";\n"
    << "lock_file " << path(dir + "/nginx.lock") << ";\n"
    << "error_log " << path(dir + "/error.log") << " info;\n"
    << "events { worker_connections 256; }\n"
    << "http {\n"
    << "  access_log off;\n"
    << "  client_body_temp_path " << path(dir + "/client_body") << ";\n"
    << "  proxy_temp_path " << path(dir + "/proxy") << ";\n"
    << "  fastcgi_temp_path " << path(dir + "/fastcgi") << ";\n"
    << "  uwsgi_temp_path " << path(dir + "/uwsgi") << ";\n"
    << "  scgi_temp_path " << path(dir + "/scgi") << ";\n"
    << "  keepalive_timeout 60s;\n"
    << "  keepalive_requests 10000;\n";
  if (needs_dollar) c << "  geo $dollar { default \"$\"; }\n";  // geo values are literal
  c << "  server {\n"
    // Must match the inherited socket's address exactly, or nginx closes it and binds anew.
    << "    listen 127.0.0.1:" << port << (http2 ? " ssl http2;\n" : " ssl;\n")
    << "    ssl_certificate " << path(cert.cert) << ";\n"
    << "    ssl_certificate_key " << path(cert.key) << ";\n"
    << "    ssl_protocols TLSv1.2 TLSv1.3;\n"
    << "    default_type text/plain;\n"
    << "    location / {\n"
    << "      add_header Server-Id nginx always;\n"
    << "      return 200 " << quoted_body << ";\n"
    << "    }\n"
    << "  }\n"
    << "}\n";
  return c.str();
}

// refused: the connection failed or was closed (try again); rejected: the server answered
// with a TLS error, which trying again will not change.
enum class Probe { ready, refused, rejected, gave_up };

// One TLS handshake (no certificate checks) with 127.0.0.1:port, giving up at the deadline
// or as soon as `alive` says the server has gone. Sets `why` unless ready.
template <class Alive>
Probe probe_tls(SSL_CTX* ctx, std::uint16_t port, Clock::time_point deadline, Alive alive,
                std::string& why) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Probe::refused;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Probe result = Probe::refused;
  SSL* ssl = nullptr;
  short events = POLLOUT;  // first for the connect
  bool connected =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 || errno == EINPROGRESS;
  if (connected) ssl = SSL_new(ctx);
  if (ssl != nullptr && SSL_set_fd(ssl, fd) == 1) {
    SSL_set_connect_state(ssl);
    for (;;) {
      pollfd p{fd, events, 0};
      int left = static_cast<int>(std::clamp<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count(), 0,
          20));
      if (::poll(&p, 1, left) == 0) {
        if (Clock::now() >= deadline || !alive()) {
          result = Probe::gave_up;
          break;
        }
        continue;
      }
      ERR_clear_error();
      int r = SSL_do_handshake(ssl);
      if (r == 1) {
        result = Probe::ready;
        SSL_shutdown(ssl);  // close_notify, best effort
        break;
      }
      int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        if (e == SSL_ERROR_SSL) result = Probe::rejected;
        why = openssl_error_text();
        break;
      }
      events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    }
  }
  ERR_clear_error();
  if (ssl != nullptr) SSL_free(ssl);
  ::close(fd);
  return result;
}

}  // namespace

bool NginxTls::available() { return ::access(kBinary, X_OK) == 0; }

NginxTls::NginxTls(const CertFiles& cert, std::string_view body, bool http2) : dir_("lb-nginx") {
  int listen_fd = -1;
  try {
    listen_fd = listen_on_loopback(port_);
    {
      std::ofstream conf(dir_.file("nginx.conf"));
      conf << config_text(dir_.path(), port_, cert, body, http2);
      if (!conf.flush()) throw std::runtime_error("NginxTls: cannot write nginx.conf");
    }
    // "FD;" in NGINX is how an upgrading nginx hands its listeners to the new binary.
    process_ = std::make_unique<Process>(
        kBinary,
        std::vector<std::string>{"-p", dir_.path() + "/", "-c", dir_.file("nginx.conf"), "-e",
                                 dir_.file("error.log")},
        SpawnOptions{.env = {"NGINX=3;"}, .inherit_fd = listen_fd, .own_process_group = true});
    ::close(listen_fd);  // nginx holds the only copy now
    listen_fd = -1;
    wait_ready();
  } catch (...) {
    if (listen_fd >= 0) ::close(listen_fd);
    throw;  // the members go as well: process_ (nginx stopped), then dir_
  }
}

NginxTls::~NginxTls() {
  process_.reset();  // SIGTERM, then SIGKILL to the group; reaped before dir_ is removed
}

std::string NginxTls::error_log() const { return read_text(dir_.file("error.log")); }

void NginxTls::wait_ready() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) throw std::runtime_error("NginxTls: SSL_CTX_new: " + openssl_error_text());
  auto deadline = Clock::now() + kTimeout;
  Probe probe = Probe::refused;
  std::string probe_error;
  while (process_->running() && Clock::now() < deadline) {
    probe = probe_tls(
        ctx, port_, deadline, [this] { return process_->running(); }, probe_error);
    if (probe == Probe::ready || probe == Probe::rejected) break;
    std::this_thread::sleep_for(5ms);  // a refused connection: poll again
  }
  SSL_CTX_free(ctx);
  if (probe == Probe::ready) return;
  std::string where = "127.0.0.1:" + std::to_string(port_);
  std::string why =
      probe == Probe::rejected ? "TLS handshake refused on " + where + " (" + probe_error + ")"
      : process_->running()
          ? "no TLS handshake on " + where + " before the deadline (" + probe_error + ")"
          : "nginx exited (code " + std::to_string(process_->terminate()) + ")";
  throw std::runtime_error("NginxTls: " + why + "; nginx output:\n" + process_->log() +
                           "error log:\n" + error_log());
}

}  // namespace it
