#include "lb/net/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/address.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "lb/net/endpoint.hpp"
#include "lb/trace/tls_report.hpp"
#include "lb/trace/x509_text.hpp"

namespace lb::net {

namespace {

constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);

// What the OpenSSL callbacks of one connection need and what they find out; hangs off the
// SSL object as ex_data and goes with it.
struct ConnState {
  TlsClient* client = nullptr;
  std::string label;
  int verify_error = X509_V_OK;  // the first certificate problem seen
  int verify_depth = 0;
  X509* verify_cert = nullptr;  // the certificate it concerns (owned reference)
};

void free_conn_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* state = static_cast<ConnState*>(ptr);
  if (state == nullptr) return;
  X509_free(state->verify_cert);
  delete state;
}

int conn_state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_conn_state);
  return index;
}

ConnState* conn_state(const SSL* ssl) {
  return static_cast<ConnState*>(SSL_get_ex_data(ssl, conn_state_index()));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out.empty() ? "no names" : out;
}

// In words, for the X-LB-Error body: what was wrong with which certificate.
std::string verify_error_text(const ConnState& s, std::string_view wanted) {
  X509* cert = s.verify_cert;
  std::string subject = cert != nullptr ? trace::name_text(X509_get_subject_name(cert)) : "?";
  std::string which = s.verify_depth == 0 ? "certificate" : "CA certificate " + subject;
  switch (s.verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return which + " has expired (notAfter " + trace::time_text(X509_get0_notAfter(cert), true) +
             ")";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return which + " is not yet valid (notBefore " +
             trace::time_text(X509_get0_notBefore(cert), true) + ")";
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "host name mismatch: certificate is for " + joined(trace::certificate_names(cert)) +
             ", wanted " + std::string(wanted);
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "IP address mismatch: certificate is for " + joined(trace::certificate_names(cert)) +
             ", wanted " + std::string(wanted);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return "unknown CA: the certificate (" + subject +
             ") is self-signed and not trusted; add it with --ca FILE or ,ca=FILE";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
      std::string issuer = cert != nullptr ? trace::name_text(X509_get_issuer_name(cert)) : "?";
      return "unknown CA: no trusted certificate for issuer " + issuer +
             "; add it with --ca FILE or ,ca=FILE";
    }
    default:
      return std::string(X509_verify_cert_error_string(s.verify_error)) + " (" + subject + ")";
  }
}

// In words: why a handshake failed that was not a certificate problem.
std::string handshake_error_text(const std::error_code& ec) {
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
    return "connection closed during the TLS handshake";
  }
  if (ec == asio::error::connection_reset) return "connection reset during the TLS handshake";
  if (ec.category() != asio::error::get_ssl_category()) return ec.message();
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  std::string text = reason != nullptr ? reason : ec.message();
  if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    text += " (is it plain HTTP? write the backend as http://HOST:PORT or add ,tls=off)";
  }
  return text;
}

}  // namespace

void load_ca_file(asio::ssl::context& ctx, const std::string& file, std::string_view prefix) {
  if (SSL_CTX_load_verify_locations(ctx.native_handle(), file.c_str(), nullptr) == 1) return;
  std::string reason;
  // The queue holds the cause (a system error for a missing file) and then what failed
  // because of it; the cause is the useful part.
  while (unsigned long e = ERR_get_error()) {
    if (!reason.empty()) continue;
    if (ERR_SYSTEM_ERROR(e)) {
      reason = std::strerror(ERR_GET_REASON(e));  // OpenSSL 3 has no string for these
    } else if (const char* r = ERR_reason_error_string(e)) {
      reason = r;
    }
  }
  if (reason.empty()) reason = "no certificates found";
  throw std::runtime_error(std::string(prefix) + file + ": cannot load CA certificates: " + reason);
}

namespace {

bool is_ip_literal(const std::string& name) {
  std::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

// OpenSSL's C callbacks, with access to the client's private members.
struct TlsCallbacks {
  static int verify(int ok, X509_STORE_CTX* store) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    ConnState* s = conn_state(ssl);
    if (!ok && s != nullptr && s->verify_error == X509_V_OK) {
      s->verify_error = X509_STORE_CTX_get_error(store);
      s->verify_depth = X509_STORE_CTX_get_error_depth(store);
      s->verify_cert = X509_STORE_CTX_get_current_cert(store);
      if (s->verify_cert != nullptr) X509_up_ref(s->verify_cert);
    }
    // With verification off the handshake goes on; the report says what would have failed.
    return s != nullptr && !s->client->verify_ ? 1 : ok;
  }

  static int new_session(SSL* ssl, SSL_SESSION* session) {
    ConnState* s = conn_state(ssl);
    if (s == nullptr) return 0;
    SSL_SESSION_free(s->client->session_);
    s->client->session_ = session;
    return 1;  // we keep the reference
  }

  static void keylog(const SSL* ssl, const char* line) {
    ConnState* s = conn_state(ssl);
    if (s != nullptr && s->client->tracing_.keylog != nullptr)
      s->client->tracing_.keylog->write(line);
  }

  static void message(int write_p, int, int content_type, const void* buf, std::size_t len,
                      SSL* ssl, void*) {
    ConnState* s = conn_state(ssl);
    if (s == nullptr || s->client->tracing_.report == nullptr) return;
    std::string line = trace::tls_message_line(s->label, write_p != 0, content_type, buf, len);
    if (!line.empty()) s->client->tracing_.report->debug("{}", line);
  }
};

TlsClient::TlsClient(const config::BackendSpec& backend, const config::Tls& global,
                     TlsTracing tracing, std::string_view alpn)
    : backend_name_(backend.name()),
      name_(backend.tls_name()),
      name_is_ip_(is_ip_literal(name_)),
      verify_(backend.tls.verify && !global.insecure),
      disabled_by_(global.insecure      ? "--insecure"
                   : backend.tls.verify ? ""
                                        : "verify=off"),
      alpn_text_(alpn),
      tracing_(tracing),
      ctx_(asio::ssl::context::tls_client) {
  SSL_CTX* ctx = ctx_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  ctx_.set_default_verify_paths();
  if (!global.ca_file.empty()) load_ca_file(ctx_, global.ca_file, "--ca ");
  if (!backend.tls.ca_file.empty()) {
    load_ca_file(ctx_, backend.tls.ca_file, "backend " + backend_name_ + ": ca=");
  }
  // The chain is always verified so the report can say what would have failed; only the
  // verify callback decides whether a failure ends the handshake.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, &TlsCallbacks::verify);
  // Resumption: the newest session is kept here rather than in OpenSSL's cache (one
  // backend per context, no lookups by id needed).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsCallbacks::new_session);
  if (tracing_.keylog != nullptr) SSL_CTX_set_keylog_callback(ctx, &TlsCallbacks::keylog);
  std::string_view rest = alpn_text_;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view proto = rest.substr(0, comma);
    alpn_wire_.push_back(static_cast<char>(proto.size()));
    alpn_wire_.append(proto);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                          static_cast<unsigned>(alpn_wire_.size()));
}

TlsClient::~TlsClient() { SSL_SESSION_free(session_); }

asio::awaitable<TlsResult> TlsClient::handshake(Stream& stream, std::string_view label) {
  auto started = std::chrono::steady_clock::now();
  auto& tls = stream.start_tls(ctx_);
  SSL* ssl = tls.native_handle();
  auto* state = new ConnState{this, std::string(label)};
  SSL_set_ex_data(ssl, conn_state_index(), state);
  if (!name_is_ip_) {
    SSL_set_tlsext_host_name(ssl, name_.c_str());
    SSL_set1_host(ssl, name_.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name_.c_str());
  }
  if (session_ != nullptr && SSL_SESSION_is_resumable(session_) == 1) {
    SSL_set_session(ssl, session_);
  }
  if (tracing_.report != nullptr && tracing_.report->should_log(spdlog::level::debug)) {
    SSL_set_msg_callback(ssl, &TlsCallbacks::message);
  }

  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kToken);

  TlsResult result;
  if (ec) {
    bool cert_problem = state->verify_error != X509_V_OK && verify_;
    result.status = cert_problem ? TlsResult::Status::verify_failed : TlsResult::Status::failed;
    result.reason = cert_problem ? verify_error_text(*state, name_) : handshake_error_text(ec);
  } else {
    const unsigned char* proto = nullptr;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    result.protocol.assign(reinterpret_cast<const char*>(proto), proto_len);
    result.resumed = SSL_session_reused(ssl) == 1;
  }
  ERR_clear_error();
  if (tracing_.report != nullptr) {
    std::error_code ignored;
    auto peer = stream.socket().remote_endpoint(ignored);
    std::string address = ignored ? std::string("?") : endpoint_text(peer);
    trace::HandshakeFacts facts;
    facts.label = label;
    facts.backend = backend_name_;
    facts.address = address;
    facts.sni = name_is_ip_ ? std::string_view() : std::string_view(name_);
    facts.verify_name = name_;
    facts.alpn_offered = alpn_text_;
    facts.duration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    facts.disabled_by = disabled_by_;
    facts.failure = result.reason;
    facts.verify_failed = result.status == TlsResult::Status::verify_failed;
    tracing_.report->info("{}", trace::tls_report(ssl, facts));
  }
  co_return result;
}

}  // namespace lb::net
