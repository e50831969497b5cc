// pghealthd's entry point: command line, configuration, logging; everything else lives in the core library.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <variant>

#include "app/app.h"
#include "app/check.h"
#include "app/cli.h"
#include "config/load.h"
#include "http/web_config.h"
#include "version.h"

int main(int argc, char** argv) {
  using namespace pghealthd;
  const auto opts = app::parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  if (!opts.error.empty()) {
    std::cerr << "pghealthd: " << opts.error << "\n\n" << app::usage();
    return 2;
  }
  if (opts.help) {
    std::cout << app::usage();
    return 0;
  }
  if (opts.version) {
    std::cout << "pghealthd " << PGHEALTHD_VERSION << "\n";
    return 0;
  }

  // Logs go to stderr, where journald picks them up.
  auto logger = spdlog::stderr_color_mt("pghealthd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_default_logger(logger);

  if (opts.check && opts.conninfo) {
    config::Config cfg;  // defaults; the conninfo is used as given, never pasted into YAML
    config::Target t;
    t.name = "check";
    t.conninfo = *opts.conninfo;
    cfg.targets.push_back(t);
    spdlog::set_level(spdlog::level::warn);
    return app::run_check(cfg, opts.json);
  }
  auto loaded = config::load_config(opts.config_path);
  if (auto* problems = std::get_if<std::vector<config::Problem>>(&loaded)) {
    for (const auto& p : *problems) std::cerr << config::format_problem(opts.config_path, p) << "\n";
    std::cerr << "pghealthd: " << problems->size() << " problem(s) in " << opts.config_path << "\n";
    return 1;
  }
  auto& cfg = std::get<config::Config>(loaded);
  if (opts.log_level) {
    const auto level = spdlog::level::from_str(*opts.log_level);
    if (level == spdlog::level::off && *opts.log_level != "off") {
      std::cerr << "pghealthd: --log-level must be one of trace, debug, info, warn, error, critical, off\n";
      return 2;
    }
    cfg.log_level = *opts.log_level;
  }
  if (opts.web_config_file) cfg.web_config_file = *opts.web_config_file;
  if (!cfg.web_config_file.empty()) {
    auto web = http::load_web_config(cfg.web_config_file);
    if (auto* problems = std::get_if<std::vector<config::Problem>>(&web)) {
      for (const auto& p : *problems) std::cerr << config::format_problem(cfg.web_config_file, p) << "\n";
      std::cerr << "pghealthd: " << problems->size() << " problem(s) in " << cfg.web_config_file << "\n";
      return 1;
    }
  }
  if (opts.check) {
    spdlog::set_level(spdlog::level::warn);
    return app::run_check(cfg, opts.json);
  }
  if (opts.check_config) {
    std::cout << opts.config_path << ": OK (" << cfg.targets.size() << " target(s))\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  return app::run(cfg, opts.config_path);
}
