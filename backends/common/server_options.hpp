#pragma once

// Command-line handling shared by the bundled backends (backend1, backend2, fault_backend):
// the flags every one of them takes, and a cursor over argv that knows `--flag value` and
// `--flag=value`. Pure: no I/O, errors are UsageError exceptions (start-up only).

#include <spdlog/common.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lb::backends {

// Where and as whom a backend serves.
struct ServerOptions {
  std::string listen = "127.0.0.1";  // IPv4 or IPv6 address (brackets removed)
  std::uint16_t port = 0;            // 0 = the OS picks
  std::string id;                    // Server header value; visible characters and spaces
  spdlog::level::level_enum level = spdlog::level::info;
};

// A bad command line; what() is one line naming the flag (without the program name).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Walks the arguments after the program name.
class ArgCursor {
 public:
  explicit ArgCursor(std::vector<std::string_view> args) : args_(std::move(args)) {}
  ArgCursor(int argc, char** argv);

  // Moves to the next argument; false when there is none.
  bool next();
  // The current argument's name: `--port` for both `--port 80` and `--port=80`.
  std::string_view flag() const { return flag_; }
  // The current argument exactly as given.
  std::string_view raw() const { return args_[index_]; }
  // The current flag's value: the `=` part, or else the next argument (consumed). Throws
  // UsageError "<flag> needs a value" when there is none.
  std::string_view value();

 private:
  std::vector<std::string_view> args_;
  std::size_t index_ = 0;
  bool started_ = false;
  std::string_view flag_;
  std::string_view inline_value_;
  bool has_inline_value_ = false;
};

// Handles --port, --listen, --id and -l/--loglevel at the cursor. Returns false when the
// current flag is none of them; throws UsageError for a bad value.
bool parse_server_flag(ArgCursor& args, ServerOptions& opt);

// Help text lines for the flags parse_server_flag takes.
std::string server_flags_help(std::uint16_t default_port, std::string_view default_id);

}  // namespace lb::backends
