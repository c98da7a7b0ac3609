#include "server_options.hpp"

#include <spdlog/fmt/fmt.h>

#include <asio/ip/address.hpp>
#include <charconv>

namespace lb::backends {

ArgCursor::ArgCursor(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
}

bool ArgCursor::next() {
  if (started_) ++index_;
  started_ = true;
  if (index_ >= args_.size()) return false;
  flag_ = args_[index_];
  has_inline_value_ = false;
  if (auto eq = flag_.find('='); flag_.starts_with("--") && eq != std::string_view::npos) {
    inline_value_ = flag_.substr(eq + 1);
    flag_ = flag_.substr(0, eq);
    has_inline_value_ = true;
  }
  return true;
}

std::string_view ArgCursor::value() {
  if (has_inline_value_) return inline_value_;
  if (index_ + 1 >= args_.size()) throw UsageError(std::string(flag_) + " needs a value");
  return args_[++index_];
}

bool parse_server_flag(ArgCursor& args, ServerOptions& opt) {
  std::string_view flag = args.flag();
  if (flag == "--port") {
    std::string_view v = args.value();
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), opt.port);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
      throw UsageError("--port: expected 0-65535, got '" + std::string(v) + "'");
    }
  } else if (flag == "--listen") {
    std::string v(args.value());
    if (v.size() > 2 && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
    if (v == "localhost") v = "127.0.0.1";
    std::error_code ec;
    asio::ip::make_address(v, ec);
    if (ec) throw UsageError("--listen: '" + v + "' is not an IPv4 or IPv6 address");
    opt.listen = v;
  } else if (flag == "--id") {
    std::string_view v = args.value();
    // It goes into a header field value (RFC 9110 §5.5): visible characters and spaces.
    bool ok = !v.empty();
    for (unsigned char c : v) ok = ok && (c >= 0x20 && c != 0x7F);
    if (!ok) throw UsageError("--id: expected a non-empty name without control characters");
    opt.id = v;
  } else if (flag == "-l" || flag == "--loglevel") {
    std::string_view v = args.value();
    // spdlog also knows trace/critical/off, which the project's -l does not offer.
    if (v != "err" && v != "warn" && v != "info" && v != "debug") {
      throw UsageError("--loglevel: expected err|warn|info|debug, got '" + std::string(v) + "'");
    }
    opt.level = spdlog::level::from_str(std::string(v));
  } else {
    return false;
  }
  return true;
}

std::string server_flags_help(std::uint16_t default_port, std::string_view default_id) {
  return fmt::format(
      "  --port N            port to listen on (default {0}; 0 = any free port)\n"
      "  --listen ADDR       address to listen on (default 127.0.0.1; IPv6 allowed)\n"
      "  --id NAME           name sent in the Server header and bodies (default {1})\n"
      "  -l, --loglevel LVL  err|warn|info|debug (default info)\n",
      default_port, default_id);
}

}  // namespace lb::backends
