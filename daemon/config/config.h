// The validated configuration of pghealthd: plain values, no YAML types. Only load_config() (load.h)
// produces a Config, so code that holds one may assume every value passed validation.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pghealthd::config {

using Duration = std::chrono::milliseconds;

// How pghealthd talks to one PostgreSQL server. Top-level `connection:` sets the defaults; a target's own
// `connection:` block overrides them key by key.
struct ConnectionSettings {
  Duration connect_timeout{std::chrono::seconds(10)};
  Duration statement_timeout{std::chrono::seconds(15)};  // server-side backstop for every query
  Duration lock_timeout{std::chrono::seconds(1)};
  Duration backoff_initial{std::chrono::seconds(1)};  // first retry after a lost connection
  Duration backoff_max{std::chrono::seconds(60)};     // cap of the exponential backoff
};

struct Target {
  std::string name;      // the `target` label
  std::string conninfo;  // libpq conninfo or URI; may hold a password, so never log it
  std::optional<std::string> password_file;
  std::vector<std::string> databases;  // explicit list; replaces conninfo's dbname
  bool autodiscover = false;
  std::vector<std::string> include_databases;  // regexes, full match; empty means all
  std::vector<std::string> exclude_databases{"template.*"};
  Duration discovery_interval{std::chrono::minutes(5)};
  ConnectionSettings connection;
};

struct Collector {
  bool enabled = true;
  Duration interval;
};

struct Collectors {
  Collector stat_user_tables{true, std::chrono::seconds(30)};
  Collector statio_user_tables{true, std::chrono::seconds(60)};
  Collector stat_user_indexes{true, std::chrono::seconds(300)};
};

struct Config {
  std::string listen = "127.0.0.1:9188";
  std::string log_level = "info";
  std::vector<Target> targets;
  Collectors collectors;
};

// A `host:port` listen address split into its parts; host "" means every interface.
struct ListenAddress {
  std::string host;
  unsigned short port = 0;
};

}  // namespace pghealthd::config
