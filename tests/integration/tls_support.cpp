#include "tls_support.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace it {

const TestPki& test_pki() {
  static const TestPki instance;
  return instance;
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/lb-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string_view::npos;
       p = text.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
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

void expect_lb_error(const CurlResponse& r, long status, const std::string& code) {
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("X-LB-Error"), code) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_TRUE(r.body.starts_with(std::to_string(status) + " ")) << r.body;
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
