#include "app/cli.h"

namespace pghealthd::app {

Options parse_cli(const std::vector<std::string>& args) {
  Options o;
  std::size_t first = 0;
  if (!args.empty() && args[0] == "check") {
    o.check = true;
    first = 1;
  }
  for (std::size_t i = first; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto take = [&]() -> std::optional<std::string> {
      if (value) return value;
      if (i + 1 < args.size()) return args[++i];
      o.error = arg + " needs a value";
      return std::nullopt;
    };
    auto flag = [&](bool& field) {
      if (value) o.error = arg + " takes no value";
      field = true;
    };
    if (arg == "--config" || arg == "-c") {
      if (auto v = take()) o.config_path = *v;
    } else if (arg == "--web.config.file") {
      if (auto v = take()) o.web_config_file = *v;
    } else if (arg == "--log-level") {
      if (auto v = take()) o.log_level = *v;
    } else if (o.check && arg == "--conninfo") {
      if (auto v = take()) o.conninfo = *v;
    } else if (o.check && arg == "--format") {
      if (auto v = take()) {
        if (*v == "json") o.json = true;
        else if (*v != "text") o.error = "--format must be text or json";
      }
    } else if (arg == "--check-config") {
      flag(o.check_config);
    } else if (arg == "--version") {
      flag(o.version);
    } else if (arg == "--help" || arg == "-h") {
      flag(o.help);
    } else {
      o.error = "unknown argument '" + arg + "'";
    }
    if (!o.error.empty()) break;
  }
  return o;
}

std::string usage() {
  return "Usage: pghealthd [--config PATH] [--check-config] [--log-level LEVEL] [--web.config.file PATH]\n"
         "                 [--version] [--help]\n"
         "       pghealthd check [--config PATH | --conninfo CONNINFO] [--format text|json]\n"
         "\n"
         "Watches PostgreSQL table health (dead rows, cache hits, index usage) and exports it to "
         "Prometheus.\n"
         "\n"
         "  -c, --config PATH    configuration file (default " +
         std::string(kDefaultConfigPath) +
         ")\n"
         "      --check-config   validate the configuration, print every problem as FILE:LINE:COL: message,\n"
         "                       and exit 0 when it is valid\n"
         "      --log-level L    trace, debug, info, warn, error, critical or off (overrides log_level)\n"
         "      --web.config.file F  TLS and basic auth, in the Prometheus exporters' web config format\n"
         "                       (overrides web_config_file)\n"
         "      --version        print the version and exit\n"
         "  -h, --help           print this help and exit\n"
         "\n"
         "check: collect once and print the health report (dead tuples, cache hit ratio, index health,\n"
         "vacuum and analyze recency, autovacuum, freeze age, sequences), worst first; exit 0 OK, 1 warning,\n"
         "2 critical.\n"
         "      --conninfo C     check this database (libpq conninfo or URI) instead of the configuration\n"
         "      --format F       text (default) or json\n";
}

}  // namespace pghealthd::app
