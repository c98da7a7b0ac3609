#pragma once

// The JSON config file (-c FILE) and what it shares with the command line: the options it
// may set, with the command line's own value checks and messages.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lb/config/config.hpp"

namespace lb::config {

// Applies cfg.config_file to `cfg`: every global setting not in `given` (long names of the
// options on the command line, which win), and the backends unless -b gave some (then the
// file must not have any). Throws UsageError with one line: "FILE:LINE:COL: ..." for JSON
// syntax, "FILE: /json/pointer: ..." for a bad value or an unknown key.
void apply_config_file(Config& cfg, const std::set<std::string, std::less<>>& given);

namespace detail {

struct FileOption {
  std::string_view name;  // the long option name, which is also the file's key
  bool takes_value;       // false: a switch, true/false in the file
  void (*apply)(Config&, std::string_view label, std::string_view value);
};
// Every long option but --help, --version, --backend and --config.
std::vector<FileOption> file_options();
std::size_t edit_distance(std::string_view a, std::string_view b);
// Throws UsageError naming `label` when two backends are the same HOST:PORT.
void check_unique_backends(std::string_view label, const std::vector<BackendSpec>& backends);

}  // namespace detail
}  // namespace lb::config
