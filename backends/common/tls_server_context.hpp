#pragma once

// The server-side TLS context of the bundled backends (--tls).

#include <asio/ssl/context.hpp>
#include <stdexcept>
#include <string_view>

#include "tls_options.hpp"

namespace lb::backends {

// The certificate or key of --tls cannot be used; what() is one line naming the file and
// OpenSSL's reason.
class TlsSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Which protocols a server selects with ALPN.
enum class AlpnPolicy {
  http11_only,     // "http/1.1" (backend1, backend2, fault_backend --no-h2)
  h2_then_http11,  // "h2" when offered, else "http/1.1" (fault_backend)
};

// A TLS server context for `opt` (opt.enabled): TLS 1.2 or later, the certificate chain and
// key from opt's files, checked against each other, ALPN answering as pick_alpn does with
// `alpn` (and selecting nothing when the client offers none of those protocols), OpenSSL's
// default session tickets and session cache. Never prompts for a pass phrase: an encrypted
// key fails. Throws TlsSetupError. The context must outlive every connection made from it.
asio::ssl::context make_tls_server_context(const TlsOptions& opt,
                                           AlpnPolicy alpn = AlpnPolicy::http11_only);

// The protocol to select from a client's ALPN list (RFC 7301 §3.1 wire format: non-empty
// names, each preceded by its length byte), in the server's order of preference (RFC 7301
// §3.2), whatever the client's order: with http11_only "http/1.1" when it is on the list;
// with h2_then_http11 "h2" when it is on the list, else "http/1.1" when that is. Empty when
// none is, or when the list is malformed. The result is a view into `client_protocols`.
std::string_view pick_alpn(std::string_view client_protocols,
                           AlpnPolicy policy = AlpnPolicy::http11_only);

}  // namespace lb::backends
