#pragma once

// The server-side TLS context of backend1 and backend2 (--tls).

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

// A TLS server context for `opt` (opt.enabled): TLS 1.2 or later, the certificate chain and
// key from opt's files, checked against each other, ALPN answering "http/1.1" when the
// client offers it (and selecting nothing otherwise), OpenSSL's default session tickets and
// session cache. Never prompts for a pass phrase: an encrypted key fails. Throws
// TlsSetupError. The context must outlive every connection made from it.
asio::ssl::context make_tls_server_context(const TlsOptions& opt);

// The protocol to select from a client's ALPN list (RFC 7301 §3.1 wire format: non-empty
// names, each preceded by its length byte): "http/1.1" when it is on the list, else empty.
// A malformed list selects nothing.
std::string_view pick_alpn(std::string_view client_protocols);

}  // namespace lb::backends
