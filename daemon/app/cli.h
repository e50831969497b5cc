// Command-line parsing, kept pure so it is unit-tested without running anything.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pghealthd::app {

inline constexpr const char* kDefaultConfigPath = "/etc/pghealthd/pghealthd.yaml";

struct Options {
  bool check = false;                     // the `check` subcommand: one-shot report
  std::optional<std::string> conninfo;    // check: a database instead of the configuration
  bool json = false;                      // check: --format json
  std::string config_path = kDefaultConfigPath;
  bool check_config = false;
  bool version = false;
  bool help = false;
  std::optional<std::string> log_level;  // overrides the config's log_level
  std::optional<std::string> web_config_file;  // overrides the config's web_config_file
  std::string error;                     // non-empty: the command line is wrong
};

[[nodiscard]] Options parse_cli(const std::vector<std::string>& args);  // args without argv[0]
[[nodiscard]] std::string usage();

}  // namespace pghealthd::app
