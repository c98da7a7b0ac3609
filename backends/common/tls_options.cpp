#include "tls_options.hpp"

namespace lb::backends {

bool parse_tls_flag(ArgCursor& args, TlsOptions& opt) {
  std::string_view flag = args.flag();
  if (flag == "--tls") {
    if (args.raw() != "--tls") throw UsageError("--tls takes no value");
    opt.enabled = true;
  } else if (flag == "--cert" || flag == "--key") {
    std::string_view v = args.value();
    if (v.empty()) throw UsageError(std::string(flag) + " needs a file name");
    (flag == "--cert" ? opt.cert_file : opt.key_file) = v;
  } else {
    return false;
  }
  return true;
}

void check_tls_options(const TlsOptions& opt) {
  bool cert = !opt.cert_file.empty();
  bool key = !opt.key_file.empty();
  if (opt.enabled) {
    if (!cert && !key) throw UsageError("--tls needs --cert FILE and --key FILE");
    if (!cert) throw UsageError("--tls needs --cert FILE");
    if (!key) throw UsageError("--tls needs --key FILE");
  } else if (cert || key) {
    throw UsageError(std::string(cert && key ? "--cert and --key need"
                                 : cert      ? "--cert needs"
                                             : "--key needs") +
                     " --tls");
  }
}

std::string tls_flags_help(std::string_view alpn) {
  return "  --tls               serve HTTPS (TLS 1.2 or later, ALPN " + std::string(alpn) +
         ") instead of HTTP\n"
         "  --cert FILE         PEM certificate for --tls: the leaf, then any intermediates\n"
         "  --key FILE          PEM private key (unencrypted) of that certificate\n";
}

}  // namespace lb::backends
