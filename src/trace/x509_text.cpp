#include "lb/trace/x509_text.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

namespace lb::trace {

namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : -1;
  if (family < 0 || inet_ntop(family, ip->data, buf.data(), buf.size()) == nullptr) {
    return "<invalid>";
  }
  return buf.data();
}

std::string asn1_string_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

using GeneralNames =
    std::unique_ptr<GENERAL_NAMES, decltype([](GENERAL_NAMES* g) { GENERAL_NAMES_free(g); })>;

GeneralNames sans_of(X509* cert) {
  return GeneralNames(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
}

}  // namespace

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(bio.get(), name, 0,
                     (XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) | ASN1_STRFLGS_UTF8_CONVERT);
  return bio_text(bio.get());
}

std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> out;
  auto names = sans_of(cert);
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    switch (n->type) {
      case GEN_DNS:
        out.push_back("DNS:" + asn1_string_text(n->d.dNSName));
        break;
      case GEN_IPADD:
        out.push_back("IP:" + ip_text(n->d.iPAddress));
        break;
      case GEN_URI:
        out.push_back("URI:" + asn1_string_text(n->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.push_back("email:" + asn1_string_text(n->d.rfc822Name));
        break;
      default:
        out.emplace_back("other");
    }
  }
  return out;
}

std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> out;
  for (const auto& san : subject_alt_names(cert)) {
    if (san.starts_with("DNS:") || san.starts_with("IP:"))
      out.push_back(san.substr(san.find(':') + 1));
  }
  if (!out.empty()) return out;
  // RFC 6125 §6.4.4: the subject CN counts only when there are no DNS SANs.
  const X509_NAME* subject = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (i >= 0) {
    out.push_back(asn1_string_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  }
  return out;
}

std::string time_text(const ASN1_TIME* t, bool date_only) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "<invalid time>";
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), date_only ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

std::string key_text(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return "unknown";
  std::string type;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      type = "RSA";
      break;
    case EVP_PKEY_RSA_PSS:
      type = "RSA-PSS";
      break;
    case EVP_PKEY_EC:
      type = "EC";
      break;
    case EVP_PKEY_ED25519:
      type = "ED25519";
      break;
    case EVP_PKEY_ED448:
      type = "ED448";
      break;
    default:
      type = EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key) : "unknown";
  }
  std::string text = type + " " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
  std::array<char, 64> group{};
  std::size_t len = 0;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
      EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) == 1) {
    text += " (" + std::string(group.data(), len) + ")";
  }
  return text;
}

std::string sha256_fingerprint(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) return "<digest failed>";
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

}  // namespace lb::trace
