#include "lb/trace/tls_report.hpp"

#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "lb/trace/x509_text.hpp"

namespace lb::trace {

namespace {

std::string_view handshake_type_name(unsigned type) {
  switch (type) {
    case 0:
      return "HelloRequest";
    case 1:
      return "ClientHello";
    case 2:
      return "ServerHello";
    case 4:
      return "NewSessionTicket";
    case 5:
      return "EndOfEarlyData";
    case 8:
      return "EncryptedExtensions";
    case 11:
      return "Certificate";
    case 12:
      return "ServerKeyExchange";
    case 13:
      return "CertificateRequest";
    case 14:
      return "ServerHelloDone";
    case 15:
      return "CertificateVerify";
    case 16:
      return "ClientKeyExchange";
    case 20:
      return "Finished";
    case 22:
      return "CertificateStatus";
    case 24:
      return "KeyUpdate";
    default:
      return "";
  }
}

std::string signature_text(SSL* ssl) {
  int type = NID_undef;
  int hash = NID_undef;
  if (SSL_get_peer_signature_type_nid(ssl, &type) != 1) return "none";
  std::string text;
  switch (type) {
    case EVP_PKEY_RSA:
      text = "RSA-PKCS1";
      break;
    case EVP_PKEY_RSA_PSS:
      text = "RSA-PSS";
      break;
    case EVP_PKEY_EC:
      text = "ECDSA";
      break;
    case EVP_PKEY_ED25519:
      return "Ed25519";
    case EVP_PKEY_ED448:
      return "Ed448";
    default:
      text = OBJ_nid2sn(type);
  }
  if (SSL_get_peer_signature_nid(ssl, &hash) == 1 && hash != NID_undef) {
    text += " with ";
    text += OBJ_nid2sn(hash);
  }
  return text;
}

std::string group_text(SSL* ssl) {
  int nid = SSL_get_negotiated_group(ssl);
  if (nid == NID_undef || nid == 0) return "none";
  const char* name = SSL_group_to_name(ssl, nid);
  return name != nullptr ? name : OBJ_nid2sn(nid);
}

void append_fact(std::string& out, std::string_view name, std::string_view value) {
  out.append("\n  ").append(name).append(": ").append(value);
}

void append_certificate(std::string& out, int depth, X509* cert) {
  out.append("\n    ").append(std::to_string(depth)).append(" subject: ");
  out.append(name_text(X509_get_subject_name(cert)));
  out.append("\n      issuer: ").append(name_text(X509_get_issuer_name(cert)));
  out.append("\n      SAN: ");
  auto sans = subject_alt_names(cert);
  if (sans.empty()) out.append("none");
  for (std::size_t i = 0; i < sans.size(); ++i) out.append(i > 0 ? ", " : "").append(sans[i]);
  out.append("\n      valid: ").append(time_text(X509_get0_notBefore(cert)));
  out.append(" .. ").append(time_text(X509_get0_notAfter(cert)));
  out.append("\n      key: ").append(key_text(cert));
  out.append("\n      SHA-256: ").append(sha256_fingerprint(cert));
}

std::string duration_text(std::chrono::microseconds d) {
  auto tenths = d.count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " ms";
}

}  // namespace

std::string tls_report(SSL* ssl, const HandshakeFacts& f) {
  std::string out(f.label);
  out.append(" TLS handshake with ").append(f.backend);
  out.append(" (").append(f.address).append("): ");
  if (f.failure.empty()) {
    out.append("ok in ").append(duration_text(f.duration));
  } else {
    out.append("FAILED after ").append(duration_text(f.duration)).append(": ").append(f.failure);
  }
  append_fact(out, "SNI", f.sni.empty() ? std::string_view("none (IP address)") : f.sni);
  append_fact(out, "ALPN offered", f.alpn_offered);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  out.append("\n  ALPN Protocol: ");
  if (alpn_len == 0) {
    out.append("none");
  } else {
    out.append(reinterpret_cast<const char*>(alpn), alpn_len);
  }
  bool done = f.failure.empty();
  append_fact(out, "version", done ? SSL_get_version(ssl) : "not negotiated");
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  append_fact(out, "cipher", done && cipher != nullptr ? SSL_CIPHER_standard_name(cipher) : "none");
  append_fact(out, "key exchange group", done ? group_text(ssl) : "none");
  append_fact(out, "server signature", done ? signature_text(ssl) : "none");
  append_fact(out, "session",
              !done                     ? "none"
              : SSL_session_reused(ssl) ? "resumed"
                                        : "new (full handshake)");
  std::string verification;
  long result = SSL_get_verify_result(ssl);
  if (!f.disabled_by.empty()) {
    verification = "DISABLED (" + std::string(f.disabled_by) + ")";
    if (result != X509_V_OK) {
      verification += "; it would have failed: ";
      verification += X509_verify_cert_error_string(result);
    }
  } else if (f.verify_failed) {
    verification = "FAILED: " + std::string(f.failure);
  } else if (done) {
    verification = "ok (chain trusted, certificate matches " + std::string(f.verify_name) + ")";
  } else {
    verification = "not reached";
  }
  append_fact(out, "verification", verification);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  int n = chain != nullptr ? sk_X509_num(chain) : 0;
  if (n == 0) {
    out.append(SSL_session_reused(ssl) ? "\n  certificate chain: none sent (session resumed)"
                                       : "\n  certificate chain: none received");
  } else {
    out.append("\n  certificate chain (").append(std::to_string(n)).append("):");
  }
  for (int i = 0; i < n; ++i) append_certificate(out, i, sk_X509_value(chain, i));
  return out;
}

std::string tls_message_line(std::string_view label, bool sent, int content_type, const void* buf,
                             std::size_t len) {
  const auto* bytes = static_cast<const unsigned char*>(buf);
  std::string out(label);
  out.append(sent ? " tls >>> " : " tls <<< ");
  if (content_type == SSL3_RT_HANDSHAKE && len >= 1) {
    std::string_view name = handshake_type_name(bytes[0]);
    out.append(name.empty() ? "handshake type " + std::to_string(bytes[0]) : std::string(name));
  } else if (content_type == SSL3_RT_ALERT && len >= 2) {
    out.append("alert ").append(SSL_alert_type_string_long(bytes[0] << 8));
    out.append(": ").append(SSL_alert_desc_string_long(bytes[1]));
  } else if (content_type == SSL3_RT_CHANGE_CIPHER_SPEC) {
    out.append("ChangeCipherSpec");
  } else {
    return {};  // record headers, inner content types, application data
  }
  out.append(" (").append(std::to_string(len)).append(len == 1 ? " byte)" : " bytes)");
  return out;
}

}  // namespace lb::trace
