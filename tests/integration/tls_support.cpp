#include "tls_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace it {

const TestPki& test_pki() {
  static const TestPki instance;
  return instance;
}

bool wait_until(const std::function<bool()>& done, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

std::string https_backend(std::uint16_t port, std::string_view options) {
  std::string spec = "https://localhost:" + std::to_string(port);
  if (!options.empty()) spec.append(",").append(options);
  return spec;
}

std::unique_ptr<ScriptedUpstream> https_upstream(const CertFiles& cert, const std::string& body,
                                                 const std::string& id,
                                                 std::vector<std::string> alpn) {
  return std::make_unique<ScriptedUpstream>(
      ScriptedUpstream::reply_always(ok_response(body, "Server-Id: " + id + "\r\n")),
      TlsServerConfig{.cert_file = cert.cert, .key_file = cert.key, .alpn = std::move(alpn)});
}

std::string verify_result_text(int error) {
  return std::to_string(error) + " (" + X509_verify_cert_error_string(error) + ")";
}

Owned<SSL_CTX> tls_client_ctx(const std::string& ca_file, const std::vector<std::string>& alpn,
                              int max_version) {
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return ctx;
  if (!ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (max_version != 0) {
    // Old versions need security level 0 on this side: the refusal must be the server's.
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  }
  if (!alpn.empty()) {
    std::string wire;  // RFC 7301 §3.1: each protocol name preceded by its length
    for (const auto& p : alpn) wire += static_cast<char>(p.size()) + p;
    SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
  }
  return ctx;
}

TlsTestClient::TlsTestClient(SSL_CTX* ctx, std::uint16_t port, const std::string& host,
                             SSL_SESSION* session) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{std::chrono::duration_cast<std::chrono::seconds>(kTimeout).count(), 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;  // the request would otherwise wait for the ACK of our Finished
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  ssl_.reset(SSL_new(ctx));
  SSL_set_fd(ssl_.get(), fd_);
  if (!host.empty()) {
    SSL_set_tlsext_host_name(ssl_.get(), host.c_str());
    SSL_set1_host(ssl_.get(), host.c_str());
  }
  if (session != nullptr) SSL_set_session(ssl_.get(), session);
}

TlsTestClient::~TlsTestClient() {
  if (SSL_is_init_finished(ssl_.get()) == 1 && end_ != SSL_ERROR_SYSCALL && end_ != SSL_ERROR_SSL) {
    SSL_shutdown(ssl_.get());
  }
  ERR_clear_error();
  ssl_.reset();
  ::close(fd_);
}

bool TlsTestClient::handshake() {
  ERR_clear_error();
  if (SSL_connect(ssl_.get()) == 1) return true;
  long verdict = SSL_get_verify_result(ssl_.get());
  error_ =
      openssl_error_text() + "; verify result " + verify_result_text(static_cast<int>(verdict));
  return false;
}

bool TlsTestClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<Message> TlsTestClient::read_response() {
  for (;;) {
    std::size_t consumed = 0;
    auto m = parse_message(buf_, MessageKind::response, consumed, end_ != 0);
    if (m) {
      buf_.erase(0, consumed);
      return m;
    }
    if (!read_more()) return std::nullopt;
  }
}

int TlsTestClient::read_to_end() {
  while (read_more()) {
  }
  return end_;
}

bool TlsTestClient::resumed() const { return SSL_session_reused(ssl_.get()) == 1; }

std::string TlsTestClient::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &len);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), len);
}

Owned<SSL_SESSION> TlsTestClient::session() const {
  return Owned<SSL_SESSION>(SSL_get1_session(ssl_.get()));
}

int TlsTestClient::protocol_version() const { return SSL_version(ssl_.get()); }

bool TlsTestClient::read_more() {
  if (end_ != 0) return false;
  std::array<char, 16384> chunk;
  ERR_clear_error();
  errno = 0;
  int n = SSL_read(ssl_.get(), chunk.data(), static_cast<int>(chunk.size()));
  if (n > 0) {
    buf_.append(chunk.data(), static_cast<std::size_t>(n));
    return true;
  }
  end_ = SSL_get_error(ssl_.get(), n);
  end_errno_ = errno;
  ERR_clear_error();
  return false;
}

namespace {

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) throw std::runtime_error("bad ASN1_TIME");
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

}  // namespace

std::string validity_text(const std::string& cert_path) {
  BIO* in = BIO_new_file(cert_path.c_str(), "r");
  X509* cert = in != nullptr ? PEM_read_bio_X509(in, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(in);
  ERR_clear_error();
  if (cert == nullptr) throw std::runtime_error("no certificate in " + cert_path);
  std::string text =
      time_text(X509_get0_notBefore(cert)) + " .. " + time_text(X509_get0_notAfter(cert));
  X509_free(cert);
  return text;
}

std::vector<std::string> tls_block(const std::string& log, std::string_view title) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(log)) {
    if (out.empty()) {
      if (line.find(title) != std::string::npos) out.push_back(line);
      continue;
    }
    if (!line.starts_with("  ")) break;
    out.push_back(line);
  }
  return out;
}

namespace {

std::string own_hexdump(std::string_view bytes) {
  std::string out;
  std::array<char, 16> offset{};
  for (std::size_t line = 0; line < bytes.size(); line += 16) {
    std::snprintf(offset.data(), offset.size(), "%08zx ", line);
    out += offset.data();
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 8) out += ' ';
      if (line + i < bytes.size()) {
        std::array<char, 4> hex{};
        std::snprintf(hex.data(), hex.size(), " %02x", static_cast<unsigned char>(bytes[line + i]));
        out += hex.data();
      } else {
        out += "   ";
      }
    }
    out += "  |";
    for (std::size_t i = line; i < std::min(bytes.size(), line + 16); ++i) {
      char c = bytes[i];
      out += c >= 0x20 && c < 0x7f ? c : '.';
    }
    out += "|\n";
  }
  return out;
}

}  // namespace

std::string hexdump_c(std::string_view bytes) {
  static constexpr const char* kTool = "/usr/bin/hexdump";
  if (::access(kTool, X_OK) != 0) return own_hexdump(bytes);
  TempDir dir;
  std::string path = dir.file("bytes");
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
  std::string command = std::string(kTool) + " -C -v " + path;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> chunk{};
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe))
    out.append(chunk.data(), n);
  if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed");
  // The last line holds only the total length ("00000028").
  if (out.ends_with('\n')) out.pop_back();
  out.erase(out.rfind('\n') + 1);
  return out;
}

}  // namespace it
