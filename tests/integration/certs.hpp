#pragma once

// A throwaway PKI for TLS tests, generated with the OpenSSL C API when a test suite starts:
// one CA and leaf certificates that each differ from a good one in exactly one way (expired,
// wrong host, not issued by the CA, IP addresses instead of names). Nothing is checked in.

#include <string>

#include "harness.hpp"

namespace it {

// PEM file paths of a certificate and its private key.
struct CertFiles {
  std::string cert;  // the certificate alone
  std::string key;   // PKCS#8, unencrypted
};

// A CA and leaf certificates written as PEM into a fresh temp dir, which the destructor
// removes. Key generation takes a noticeable fraction of a second: make one per test suite
// (a static in the fixture), not one per test. Every certificate has a distinct random
// serial; all are signed with SHA-256.
class TestPki {
 public:
  // Throws std::runtime_error with OpenSSL's error text when anything fails.
  TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const { return dir_.path(); }
  // The CA certificate: CN=LB Test CA, O=load_balancer tests; RSA 2048; valid from now-1d
  // to now+10y; basicConstraints CA:TRUE, keyUsage keyCertSign and cRLSign.
  const std::string& ca_file() const { return ca_file_; }

  // CN=api.test, SAN DNS:api.test, DNS:localhost; EC P-256; valid now-1d .. now+30d; issued
  // by the CA; EKU serverAuth.
  CertFiles good;
  // As `good` but notBefore now-30d, notAfter now-1d (see expired_not_after_date).
  CertFiles expired;
  // CN=other.test, SAN DNS:other.test; EC P-256; valid; issued by the CA.
  CertFiles wrong_host;
  // CN=api.test, SAN DNS:api.test, DNS:localhost; RSA 2048; valid; self-signed, not by the
  // CA (no keyUsage, so OpenSSL reports it as self-signed rather than as an unknown issuer).
  CertFiles self_signed;
  // CN=127.0.0.1, SAN IP:127.0.0.1, IP:::1; RSA 2048; valid; issued by the CA.
  CertFiles ip_san;
  // The good leaf followed by the CA certificate, for servers that send the chain.
  std::string good_chain;

  // The expired leaf's notAfter as "YYYY-MM-DD" (UTC), read back from the certificate.
  std::string expired_not_after_date;
  // SHA-256 of the DER of the (first) certificate in the PEM file `cert_path`, as upper-case
  // hex pairs joined by colons ("AB:CD:..."). Throws when the file holds no certificate.
  std::string sha256_fingerprint(const std::string& cert_path) const;

 private:
  void generate();

  TempDir dir_;  // removed with the certificates when the TestPki goes
  std::string ca_file_;
};

}  // namespace it
