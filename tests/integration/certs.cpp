#include "certs.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "harness.hpp"
#include "openssl_owned.hpp"

namespace it {

namespace {

[[noreturn]] void fail(std::string_view what) {
  throw std::runtime_error("TestPki: " + std::string(what) + ": " + openssl_error_text());
}

void check(int ok, std::string_view what) {
  if (ok != 1) fail(what);
}

template <class T>
Owned<T> check(T* p, std::string_view what) {
  if (p == nullptr) fail(what);
  return Owned<T>(p);
}

enum class KeyType { rsa2048, ec_p256 };

Owned<EVP_PKEY> make_key(KeyType type) {
  if (type == KeyType::rsa2048) return check(EVP_RSA_gen(2048), "RSA key generation");
  return check(EVP_EC_gen("P-256"), "EC key generation");
}

constexpr std::time_t kDay = 24 * 60 * 60;

std::time_t add_years(std::time_t t, int years) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  tm.tm_year += years;
  return ::timegm(&tm);
}

struct CertSpec {
  std::string cn;
  std::string org;  // empty: no O
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  // (NID, value in the x509v3_config syntax), added in order.
  std::vector<std::pair<int, std::string>> extensions;
};

// Signs with `issuer_key`; `issuer` null means self-signed (the issuer name is the subject).
Owned<X509> make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Owned<X509> cert = check(X509_new(), "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 159 random bits keep it so.
  Owned<BIGNUM> serial = check(BN_new(), "BN_new");
  check(BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    fail("serial number");
  }

  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add_entry = [&](const char* field, const std::string& value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0),
          std::string("subject ") + field);
  };
  add_entry("CN", spec.cn);
  if (!spec.org.empty()) add_entry("O", spec.org);
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name),
        "issuer name");

  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after) == nullptr) {
    fail("validity");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    Owned<X509_EXTENSION> ext = check(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()),
                                      std::string(OBJ_nid2sn(nid)) + "=" + value);
    check(X509_add_ext(cert.get(), ext.get(), -1), "X509_add_ext");
  }

  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

Owned<BIO> open_for_writing(const std::string& path) {
  return check(BIO_new_file(path.c_str(), "w"), "cannot write " + path);
}

void write_cert(const std::string& path, std::initializer_list<X509*> certs) {
  Owned<BIO> out = open_for_writing(path);
  for (X509* c : certs) check(PEM_write_bio_X509(out.get(), c), "writing " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  Owned<BIO> out = open_for_writing(path);
  check(PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "writing " + path);
}

}  // namespace

TestPki::TestPki() : dir_("lb-pki") { generate(); }

void TestPki::generate() {
  const std::time_t now = std::time(nullptr);
  const std::time_t yesterday = now - kDay;
  const std::string api_names = "DNS:api.test,DNS:localhost";

  Owned<EVP_PKEY> ca_key = make_key(KeyType::rsa2048);
  Owned<X509> ca = make_cert({.cn = "LB Test CA",
                              .org = "load_balancer tests",
                              .not_before = yesterday,
                              .not_after = add_years(now, 10),
                              .extensions = {{NID_basic_constraints, "critical,CA:TRUE"},
                                             {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                             {NID_subject_key_identifier, "hash"}}},
                             ca_key.get(), nullptr, ca_key.get());
  ca_file_ = dir_.file("ca.pem");
  write_cert(ca_file_, {ca.get()});
  write_key(dir_.file("ca.key"), ca_key.get());

  // Leaves differ from `good` only in what their name says.
  auto leaf_extensions = [](KeyType type, const std::string& san, bool by_ca) {
    std::vector<std::pair<int, std::string>> ext{{NID_basic_constraints, "critical,CA:FALSE"},
                                                 {NID_ext_key_usage, "serverAuth"},
                                                 {NID_subject_alt_name, san},
                                                 {NID_subject_key_identifier, "hash"}};
    if (by_ca) {
      // RSA keys may also be used for TLS 1.2 RSA key exchange.
      ext.emplace_back(NID_key_usage, type == KeyType::rsa2048
                                          ? "critical,digitalSignature,keyEncipherment"
                                          : "critical,digitalSignature");
      ext.emplace_back(NID_authority_key_identifier, "keyid:always");
    }
    return ext;
  };
  auto issue = [&](const std::string& name, KeyType type, const std::string& cn,
                   const std::string& san, std::time_t not_before, std::time_t not_after,
                   bool by_ca) {
    Owned<EVP_PKEY> key = make_key(type);
    CertSpec spec{.cn = cn,
                  .not_before = not_before,
                  .not_after = not_after,
                  .extensions = leaf_extensions(type, san, by_ca)};
    Owned<X509> cert = by_ca ? make_cert(spec, key.get(), ca.get(), ca_key.get())
                             : make_cert(spec, key.get(), nullptr, key.get());
    CertFiles files{dir_.file(name + ".pem"), dir_.file(name + ".key")};
    write_cert(files.cert, {cert.get()});
    write_key(files.key, key.get());
    return std::pair{std::move(files), std::move(cert)};
  };

  const std::time_t in_30_days = now + 30 * kDay;
  auto [good_files, good_cert] =
      issue("good", KeyType::ec_p256, "api.test", api_names, yesterday, in_30_days, true);
  good = std::move(good_files);
  good_chain = dir_.file("good_chain.pem");
  write_cert(good_chain, {good_cert.get(), ca.get()});

  auto [expired_files, expired_cert] =
      issue("expired", KeyType::ec_p256, "api.test", api_names, now - 30 * kDay, yesterday, true);
  expired = std::move(expired_files);
  std::tm tm{};
  check(ASN1_TIME_to_tm(X509_get0_notAfter(expired_cert.get()), &tm), "reading notAfter");
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  expired_not_after_date = date;

  wrong_host = issue("wrong_host", KeyType::ec_p256, "other.test", "DNS:other.test", yesterday,
                     in_30_days, true)
                   .first;
  self_signed =
      issue("self_signed", KeyType::rsa2048, "api.test", api_names, yesterday, in_30_days, false)
          .first;
  ip_san = issue("ip_san", KeyType::rsa2048, "127.0.0.1", "IP:127.0.0.1,IP:::1", yesterday,
                 in_30_days, true)
               .first;
}

std::string TestPki::sha256_fingerprint(const std::string& cert_path) const {
  Owned<BIO> in = check(BIO_new_file(cert_path.c_str(), "r"), "cannot read " + cert_path);
  Owned<X509> cert = check(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr),
                           "no certificate in " + cert_path);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  check(X509_digest(cert.get(), EVP_sha256(), md, &len), "X509_digest");
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X", md[i]);
    if (i > 0) out += ':';
    out += hex;
  }
  return out;
}

}  // namespace it
