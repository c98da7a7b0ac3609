#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace lb::trace {

// What the caller knows about one upstream handshake beyond what the SSL object holds.
struct HandshakeFacts {
  std::string_view label;         // connection ids, "c7/u3"
  std::string_view backend;       // "api.test:443"
  std::string_view address;       // the address connected to, "127.0.0.1:443"
  std::string_view sni;           // name sent as SNI; empty when none was sent
  std::string_view verify_name;   // name or IP the certificate must match
  std::string_view alpn_offered;  // "http/1.1" or "h2,http/1.1"
  std::chrono::microseconds duration{};
  std::string_view disabled_by;  // why verification is off ("--insecure"); empty when on
  std::string_view failure;      // why the handshake failed; empty when it succeeded
  bool verify_failed = false;    // `failure` is a certificate verification failure
};

// The --tls-trace block for a finished handshake (successful or not): a title line naming
// the connection, backend and outcome, then one indented line per fact (SNI, ALPN offered
// and "ALPN Protocol", version, cipher, key exchange group, server signature, session new
// or resumed, verification) and the peer's chain, each certificate with subject, issuer,
// SANs, validity, key and SHA-256 fingerprint. No trailing newline.
std::string tls_report(SSL* ssl, const HandshakeFacts& facts);

// One line for a TLS record seen by OpenSSL's message callback, or empty for records not
// worth showing: "c7/u3 tls >>> ClientHello (517 bytes)", "<<< alert fatal: bad_certificate".
std::string tls_message_line(std::string_view label, bool sent, int content_type, const void* buf,
                             std::size_t len);

}  // namespace lb::trace
