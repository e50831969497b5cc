// The command line (parse_cli) and autodiscovery's database filter (database_selected).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "app/cli.h"
#include "app/target_watch.h"

namespace {

using Catch::Matchers::Contains;
using pghealthd::app::Options;
using pghealthd::app::parse_cli;

bool selected(const std::string& name, const std::vector<std::string>& include,
              const std::vector<std::string>& exclude) {
  return pghealthd::config::selected(name, pghealthd::config::compile_patterns(include),
                                   pghealthd::config::compile_patterns(exclude));
}

}  // namespace

// --- parse_cli -------------------------------------------------------------------------------------------

TEST_CASE("no arguments run with the default configuration path", "[cli]") {
  const Options o = parse_cli({});
  CHECK(o.error.empty());
  CHECK(o.config_path == "/etc/pghealthd/pghealthd.yaml");
  CHECK_FALSE(o.check_config);
  CHECK_FALSE(o.version);
  CHECK_FALSE(o.help);
  CHECK_FALSE(o.log_level.has_value());
}

TEST_CASE("option --config takes the path from the next argument", "[cli]") {
  const Options o = parse_cli({"--config", "/tmp/p.yaml"});
  CHECK(o.error.empty());
  CHECK(o.config_path == "/tmp/p.yaml");
}

TEST_CASE("option --config=PATH takes the path after the equals sign", "[cli]") {
  const Options o = parse_cli({"--config=/tmp/with=sign.yaml"});
  CHECK(o.error.empty());
  CHECK(o.config_path == "/tmp/with=sign.yaml");
}

TEST_CASE("option -c is short for --config", "[cli]") {
  const Options o = parse_cli({"-c", "relative.yaml"});
  CHECK(o.error.empty());
  CHECK(o.config_path == "relative.yaml");
}

TEST_CASE("option --check-config only validates", "[cli]") {
  const Options o = parse_cli({"--check-config", "-c", "x.yaml"});
  CHECK(o.error.empty());
  CHECK(o.check_config);
  CHECK(o.config_path == "x.yaml");
  CHECK_FALSE(o.version);
  CHECK_FALSE(o.help);
}

TEST_CASE("option --version asks for the version", "[cli]") {
  const Options o = parse_cli({"--version"});
  CHECK(o.error.empty());
  CHECK(o.version);
  CHECK_FALSE(o.help);
  CHECK_FALSE(o.check_config);
}

TEST_CASE("options --help and -h ask for the usage text", "[cli]") {
  const std::string arg = GENERATE(as<std::string>{}, "--help", "-h");
  const Options o = parse_cli({arg});
  CHECK(o.error.empty());
  CHECK(o.help);
  CHECK_FALSE(o.version);
}

TEST_CASE("option --log-level overrides the configuration's level", "[cli]") {
  SECTION("as two arguments") {
    const Options o = parse_cli({"--log-level", "debug"});
    CHECK(o.error.empty());
    CHECK(o.log_level == "debug");
  }
  SECTION("with an equals sign") {
    const Options o = parse_cli({"--log-level=warn"});
    CHECK(o.error.empty());
    CHECK(o.log_level == "warn");
  }
}

TEST_CASE("all options together", "[cli]") {
  const Options o = parse_cli({"--log-level", "trace", "--config=a.yaml", "--check-config"});
  CHECK(o.error.empty());
  CHECK(o.log_level == "trace");
  CHECK(o.config_path == "a.yaml");
  CHECK(o.check_config);
}

TEST_CASE("an unknown argument is an error that names it", "[cli]") {
  const std::string arg = GENERATE(as<std::string>{}, "--verbose", "-x", "config.yaml", "--configs");
  const Options o = parse_cli({arg});
  CHECK(o.error == "unknown argument '" + arg + "'");
}

TEST_CASE("an unknown --option=value names the option", "[cli]") {
  const Options o = parse_cli({"--port=9188"});
  CHECK(o.error == "unknown argument '--port'");
}

TEST_CASE("an option without its value is an error", "[cli]") {
  const std::string arg = GENERATE(as<std::string>{}, "--config", "-c", "--log-level");
  const Options o = parse_cli({"--check-config", arg});
  CHECK(o.error == arg + " needs a value");
}

TEST_CASE("a flag given a value is an error", "[cli]") {
  const std::string flag = GENERATE(as<std::string>{}, "--check-config", "--version", "--help");
  const Options o = parse_cli({flag + "=yes"});
  CHECK(o.error == flag + " takes no value");
}

TEST_CASE("parsing stops at the first error", "[cli]") {
  const Options o = parse_cli({"--bogus", "--config", "later.yaml"});
  CHECK_THAT(o.error, Contains("--bogus"));
  CHECK(o.config_path == "/etc/pghealthd/pghealthd.yaml");
}

TEST_CASE("the usage text lists every option", "[cli]") {
  const std::string text = pghealthd::app::usage();
  for (const char* option :
       {"--config", "-c,", "--check-config", "--log-level", "--version", "--help", "-h,"}) {
    INFO(option);
    CHECK_THAT(text, Contains(option));
  }
  CHECK_THAT(text, Contains("/etc/pghealthd/pghealthd.yaml"));
}

// --- database_selected -----------------------------------------------------------------------------------

TEST_CASE("without include patterns every database not excluded is selected", "[cli][discovery]") {
  CHECK(selected("postgres", {}, {}));
  CHECK(selected("app", {}, {"template.*"}));
  CHECK_FALSE(selected("template0", {}, {"template.*"}));
  CHECK_FALSE(selected("template1", {}, {"template.*"}));
}

TEST_CASE("an include pattern must match the whole name", "[cli][discovery]") {
  CHECK(selected("app", {"app"}, {}));
  CHECK_FALSE(selected("app2", {"app"}, {}));
  CHECK_FALSE(selected("myapp", {"app"}, {}));
  CHECK_FALSE(selected("postgres", {"app"}, {}));
}

TEST_CASE("an exclude pattern must match the whole name", "[cli][discovery]") {
  CHECK(selected("my_template1", {}, {"template.*"}));
  CHECK(selected("app_test_copy", {}, {"app_test"}));
  CHECK_FALSE(selected("app_test", {}, {"app_test"}));
}

TEST_CASE("any of several include patterns selects a database", "[cli][discovery]") {
  const std::vector<std::string> include{"app_.*", "billing"};
  CHECK(selected("app_eu", include, {}));
  CHECK(selected("billing", include, {}));
  CHECK_FALSE(selected("shop", include, {}));
}

TEST_CASE("exclude wins over include", "[cli][discovery]") {
  const std::vector<std::string> include{"app_.*"};
  const std::vector<std::string> exclude{"app_test", ".*_old"};
  CHECK(selected("app_prod", include, exclude));
  CHECK_FALSE(selected("app_test", include, exclude));
  CHECK_FALSE(selected("app_2019_old", include, exclude));
}
