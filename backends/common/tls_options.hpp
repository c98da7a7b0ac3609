#pragma once

// The TLS flags of the bundled backends: --tls, --cert FILE, --key FILE. Pure: no I/O, errors
// are UsageError exceptions (start-up only).

#include <string>
#include <string_view>

#include "server_options.hpp"

namespace lb::backends {

// Whether and with what a sample backend serves HTTPS.
struct TlsOptions {
  bool enabled = false;   // --tls
  std::string cert_file;  // --cert: PEM, the leaf first, then any intermediate CAs
  std::string key_file;   // --key: PEM private key of the leaf, unencrypted
};

// Handles --tls, --cert and --key at the cursor. Returns false when the current flag is none
// of them; throws UsageError for a missing value.
bool parse_tls_flag(ArgCursor& args, TlsOptions& opt);

// Call after the last flag: throws UsageError when --tls lacks --cert or --key, or when
// --cert or --key comes without --tls.
void check_tls_options(const TlsOptions& opt);

// Help text lines for the flags parse_tls_flag takes; `alpn` is what --tls's line says ALPN
// selects ("http/1.1" for backend1 and backend2).
std::string tls_flags_help(std::string_view alpn = "http/1.1");

}  // namespace lb::backends
