#pragma once

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace lb::trace {

// Words for certificate fields, as the TLS trace and TLS error replies show them.

// "CN=api.test, O=Example" in the certificate's order.
std::string name_text(const X509_NAME* name);
// Subject alternative names: "DNS:api.test", "IP:127.0.0.1", "URI:...", "email:...".
std::vector<std::string> subject_alt_names(X509* cert);
// The DNS and IP names a certificate is valid for (its SANs, else its subject CN), bare:
// "api.test", "127.0.0.1".
std::vector<std::string> certificate_names(X509* cert);
// "2026-01-01 12:00:00 UTC", or "2026-01-01" with date_only.
std::string time_text(const ASN1_TIME* t, bool date_only = false);
// "RSA 2048 bits", "EC 256 bits (prime256v1)", "ED25519 256 bits".
std::string key_text(X509* cert);
// SHA-256 of the DER encoding as upper-case hex pairs joined by ':'.
std::string sha256_fingerprint(X509* cert);

}  // namespace lb::trace
