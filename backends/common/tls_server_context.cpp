#include "tls_server_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lb::backends {

namespace {

#ifdef ERR_RFLAG_COMMON
constexpr int kCommonReason = ERR_RFLAG_COMMON;  // OpenSSL 3: marks the ERR_R_ codes
#else
constexpr int kCommonReason = 0;
#endif

// "Failed in library X" (ERR_R_PEM_LIB, ERR_R_SYS_LIB...: the library's number as the
// reason): it only wraps the reason an earlier entry gives.
bool is_wrapper(unsigned long e) {
  if (ERR_SYSTEM_ERROR(e)) return false;
  int r = ERR_GET_REASON(e) & ~kCommonReason;
  return r > 0 && r < 64;
}

// The calling thread's OpenSSL error queue, oldest first; empties it.
std::vector<unsigned long> take_errors() {
  std::vector<unsigned long> errors;
  while (unsigned long e = ERR_get_error()) errors.push_back(e);
  return errors;
}

// One queued OpenSSL error as "reason (library)".
std::string error_text(unsigned long e) {
  if (ERR_SYSTEM_ERROR(e)) return std::strerror(ERR_GET_REASON(e));
  const char* reason = ERR_reason_error_string(e);
  const char* lib = ERR_lib_error_string(e);
  std::string text = reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(e));
  if (lib != nullptr) text.append(" (").append(lib).append(")");
  return text;
}

// OpenSSL's reasons for one failure in one line, without repeats or mere wrappers.
std::string reason_text(const std::vector<unsigned long>& errors) {
  std::string out, wrappers;
  for (unsigned long e : errors) {
    std::string& to = is_wrapper(e) ? wrappers : out;
    std::string text = error_text(e);
    if (to.find(text) != std::string::npos) continue;
    if (!to.empty()) to += "; ";
    to += text;
  }
  if (!out.empty()) return out;
  return wrappers.empty() ? "unknown OpenSSL error" : wrappers;
}

// Whether the failure is a key that belongs to another certificate.
bool is_key_mismatch(const std::vector<unsigned long>& errors) {
  for (unsigned long e : errors) {
    if (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) != ERR_LIB_X509) continue;
    int r = ERR_GET_REASON(e);
    if (r == X509_R_KEY_VALUES_MISMATCH || r == X509_R_KEY_TYPE_MISMATCH) return true;
  }
  return false;
}

[[noreturn]] void fail(const std::string& what, const std::vector<unsigned long>& errors) {
  throw TlsSetupError(what + ": " + reason_text(errors));
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void* arg) {
  auto policy = static_cast<AlpnPolicy>(reinterpret_cast<std::uintptr_t>(arg));
  std::string_view picked = pick_alpn({reinterpret_cast<const char*>(in), in_len}, policy);
  // RFC 7301 §3.2 allows a server to go on without ALPN when it shares no protocol with the
  // client; the client then speaks its default, which for https is HTTP/1.1 too.
  if (picked.empty()) return SSL_TLSEXT_ERR_NOACK;
  *out = reinterpret_cast<const unsigned char*>(picked.data());
  *out_len = static_cast<unsigned char>(picked.size());
  return SSL_TLSEXT_ERR_OK;
}

// Refuses to ask for a pass phrase: a backend started by a test or script has nobody to
// answer the terminal prompt OpenSSL would show.
int no_pass_phrase(char*, int, int, void*) { return 0; }

}  // namespace

std::string_view pick_alpn(std::string_view client_protocols, AlpnPolicy policy) {
  constexpr std::string_view kHttp11 = "http/1.1";
  constexpr std::string_view kH2 = "h2";
  std::string_view http11;
  std::string_view rest = client_protocols;
  while (!rest.empty()) {
    std::size_t len = static_cast<unsigned char>(rest.front());
    if (len == 0 || len >= rest.size()) return {};
    std::string_view name = rest.substr(1, len);
    if (name == kHttp11 && policy == AlpnPolicy::http11_only) return name;
    if (name == kH2 && policy == AlpnPolicy::h2_then_http11) return name;
    if (name == kHttp11 && http11.empty()) http11 = name;
    rest.remove_prefix(1 + len);
  }
  return http11;
}

asio::ssl::context make_tls_server_context(const TlsOptions& opt, AlpnPolicy alpn) {
  ERR_clear_error();
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    fail("cannot require TLS 1.2", take_errors());
  }
  SSL_CTX_set_default_passwd_cb(native, no_pass_phrase);
  if (SSL_CTX_use_certificate_chain_file(native, opt.cert_file.c_str()) != 1) {
    fail("cannot load the certificate from " + opt.cert_file, take_errors());
  }
  std::string mismatch =
      "the key in " + opt.key_file + " does not match the certificate in " + opt.cert_file;
  // OpenSSL 3 checks the pair while loading the key; older versions only on request.
  if (SSL_CTX_use_PrivateKey_file(native, opt.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    auto errors = take_errors();
    fail(is_key_mismatch(errors) ? mismatch : "cannot load the private key from " + opt.key_file,
         errors);
  }
  if (SSL_CTX_check_private_key(native) != 1) fail(mismatch, take_errors());
  SSL_CTX_set_alpn_select_cb(native, select_alpn,
                             reinterpret_cast<void*>(static_cast<std::uintptr_t>(alpn)));
  return ctx;
}

}  // namespace lb::backends
