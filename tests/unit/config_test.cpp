// parse_config() on YAML text: a valid file lands in Config, every kind of mistake is reported with its
// 1-based line and column, and all mistakes of a file are reported together.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/load.h"
#include "config/pattern.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using pghealthd::config::Config;
using pghealthd::config::Duration;
using pghealthd::config::format_problem;
using pghealthd::config::load_config;
using pghealthd::config::parse_config;
using pghealthd::config::parse_duration;
using pghealthd::config::parse_listen;
using pghealthd::config::Problem;

// The smallest valid targets block, for tests about the rest of the file (lines 1-3 when it comes first).
constexpr std::string_view kOneTarget =
    "targets:\n"
    "  - name: main\n"
    "    conninfo: host=db1 dbname=app\n";

std::string describe(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += format_problem("config.yaml", p) + "\n";
  return out;
}

Config config_of(std::string_view yaml, const std::string& base_dir = ".") {
  auto result = parse_config(yaml, base_dir);
  if (auto* problems = std::get_if<std::vector<Problem>>(&result)) {
    FAIL("expected a valid configuration, got:\n" << describe(*problems));
  }
  return std::get<Config>(std::move(result));
}

std::vector<Problem> problems_of(std::string_view yaml, const std::string& base_dir = ".") {
  auto result = parse_config(yaml, base_dir);
  if (std::holds_alternative<Config>(result))
    FAIL("expected problems, the configuration was accepted:\n" << yaml);
  return std::get<std::vector<Problem>>(std::move(result));
}

// Checks that `yaml` has exactly one problem, at line:column, whose message contains `text`.
void check_single_problem(std::string_view yaml, int line, int column, const std::string& text) {
  INFO("configuration:\n" << yaml);
  const auto problems = problems_of(yaml);
  INFO("problems:\n" << describe(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == line);
  CHECK(problems[0].column == column);
  CHECK_THAT(problems[0].message, Contains(text));
}

// A directory under the system temp dir, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("pghealthd-config-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

// --- valid configurations ------------------------------------------------------------------------------

TEST_CASE("a full configuration puts every value in its place", "[config]") {
  TempDir dir;
  dir.write("secret/pw", "hunter2\n");
  const std::string yaml =
      "listen: \"[::1]:9999\"\n"
      "log_level: debug\n"
      "connection:\n"
      "  connect_timeout: 3s\n"
      "  statement_timeout: 20s\n"
      "  lock_timeout: 500ms\n"
      "  backoff_initial: 2s\n"
      "  backoff_max: 2m\n"
      "collectors:\n"
      "  stat_user_tables:\n"
      "    interval: 15s\n"
      "  statio_user_tables:\n"
      "    enabled: false\n"
      "  stat_user_indexes:\n"
      "    interval: 1h\n"
      "    enabled: true\n"
      "targets:\n"
      "  - name: primary\n"
      "    conninfo: host=db1 port=5432 user=pghealthd dbname=app\n"
      "    password_file: secret/pw\n"
      "    databases: [app, billing]\n"
      "    connection:\n"
      "      statement_timeout: 5s\n"
      "      backoff_max: 10s\n"
      "  - name: replica\n"
      "    conninfo: postgresql://pghealthd@db2/postgres\n"
      "    autodiscover: true\n"
      "    include_databases: [\"app.*\", shop]\n"
      "    exclude_databases: [app_test]\n"
      "    discovery_interval: 10m\n";
  const Config cfg = config_of(yaml, dir.path().string());

  CHECK(cfg.listen == "[::1]:9999");
  CHECK(cfg.log_level == "debug");

  CHECK(cfg.collectors.stat_user_tables.enabled);
  CHECK(cfg.collectors.stat_user_tables.interval == 15s);
  CHECK_FALSE(cfg.collectors.statio_user_tables.enabled);
  CHECK(cfg.collectors.statio_user_tables.interval == 60s);  // not set: the default stays
  CHECK(cfg.collectors.stat_user_indexes.enabled);
  CHECK(cfg.collectors.stat_user_indexes.interval == 1h);

  REQUIRE(cfg.targets.size() == 2);
  const auto& primary = cfg.targets[0];
  CHECK(primary.name == "primary");
  CHECK(primary.conninfo == "host=db1 port=5432 user=pghealthd dbname=app");
  REQUIRE(primary.password_file.has_value());
  CHECK(*primary.password_file == (dir.path() / "secret" / "pw").string());
  CHECK(primary.databases == std::vector<std::string>{"app", "billing"});
  CHECK_FALSE(primary.autodiscover);
  // The target's own connection block overrides the top-level one key by key.
  CHECK(primary.connection.connect_timeout == 3s);
  CHECK(primary.connection.statement_timeout == 5s);
  CHECK(primary.connection.lock_timeout == 500ms);
  CHECK(primary.connection.backoff_initial == 2s);
  CHECK(primary.connection.backoff_max == 10s);

  const auto& replica = cfg.targets[1];
  CHECK(replica.name == "replica");
  CHECK(replica.conninfo == "postgresql://pghealthd@db2/postgres");
  CHECK_FALSE(replica.password_file.has_value());
  CHECK(replica.databases.empty());
  CHECK(replica.autodiscover);
  CHECK(replica.include_databases == std::vector<std::string>{"app.*", "shop"});
  CHECK(replica.exclude_databases == std::vector<std::string>{"app_test"});
  CHECK(replica.discovery_interval == 10min);
  // No connection block of its own: exactly the top-level settings.
  CHECK(replica.connection.connect_timeout == 3s);
  CHECK(replica.connection.statement_timeout == 20s);
  CHECK(replica.connection.lock_timeout == 500ms);
  CHECK(replica.connection.backoff_initial == 2s);
  CHECK(replica.connection.backoff_max == 2min);
}

TEST_CASE("omitted keys take their documented defaults", "[config]") {
  const Config cfg = config_of(kOneTarget);

  CHECK(cfg.listen == "127.0.0.1:9188");
  CHECK(cfg.log_level == "info");
  CHECK(cfg.collectors.stat_user_tables.enabled);
  CHECK(cfg.collectors.stat_user_tables.interval == 30s);
  CHECK(cfg.collectors.statio_user_tables.enabled);
  CHECK(cfg.collectors.statio_user_tables.interval == 60s);
  CHECK(cfg.collectors.stat_user_indexes.enabled);
  CHECK(cfg.collectors.stat_user_indexes.interval == 5min);
  CHECK(cfg.collectors.vacuum_progress.enabled);
  CHECK(cfg.collectors.vacuum_progress.interval == 15s);

  REQUIRE(cfg.targets.size() == 1);
  const auto& t = cfg.targets[0];
  CHECK(t.name == "main");
  CHECK(t.conninfo == "host=db1 dbname=app");
  CHECK_FALSE(t.password_file.has_value());
  CHECK(t.databases.empty());
  CHECK_FALSE(t.autodiscover);
  CHECK(t.include_databases.empty());
  CHECK(t.exclude_databases == std::vector<std::string>{"template.*"});
  CHECK(t.discovery_interval == 5min);
  CHECK(t.connection.connect_timeout == 10s);
  CHECK(t.connection.statement_timeout == 15s);
  CHECK(t.connection.lock_timeout == 1s);
  CHECK(t.connection.backoff_initial == 1s);
  CHECK(t.connection.backoff_max == 60s);
}

TEST_CASE("a target's connection block keeps the top-level values it does not name", "[config]") {
  const Config cfg = config_of(
      "connection:\n"
      "  lock_timeout: 2s\n"
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    connection:\n"
      "      connect_timeout: 1s\n");
  REQUIRE(cfg.targets.size() == 1);
  CHECK(cfg.targets[0].connection.connect_timeout == 1s);     // the target's own
  CHECK(cfg.targets[0].connection.lock_timeout == 2s);        // top level
  CHECK(cfg.targets[0].connection.statement_timeout == 15s);  // built-in default
}

TEST_CASE("an absolute password_file is kept as written", "[config]") {
  TempDir dir;
  const auto pw = dir.write("pw", "secret\n");
  const Config cfg = config_of(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    password_file: " +
          pw.string() + "\n",
      "/somewhere/else");
  REQUIRE(cfg.targets.size() == 1);
  CHECK(cfg.targets[0].password_file == pw.string());
}

TEST_CASE("a password_file that every user can read or write is refused, a group-readable one is fine",
          "[config][errors]") {
  namespace fs = std::filesystem;
  TempDir dir;
  const auto pw = dir.write("pw", "secret\n");
  const std::string yaml = "targets:\n  - name: a\n    conninfo: host=x\n    password_file: " + pw.string() + "\n";
  fs::permissions(pw, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  const auto problems = problems_of(yaml);
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].message, Contains("is open to every user of this host (mode 0604): chmod 600 it"));
  CHECK(problems[0].message.find("secret") == std::string::npos);  // the path, never the content
  fs::permissions(pw, fs::perms::owner_read | fs::perms::others_write);
  CHECK(problems_of(yaml).size() == 1);
  fs::permissions(pw, fs::perms::owner_read | fs::perms::group_read);
  CHECK(config_of(yaml).targets[0].password_file == pw.string());
}

TEST_CASE("load_config resolves password_file next to the configuration file", "[config]") {
  TempDir dir;
  dir.write("pw", "secret\n");
  const auto file = dir.write("pghealthd.yaml",
                              "targets:\n"
                              "  - name: a\n"
                              "    conninfo: host=x\n"
                              "    password_file: pw\n");
  auto result = load_config(file.string());
  REQUIRE(std::holds_alternative<Config>(result));
  CHECK(std::get<Config>(result).targets.at(0).password_file == (dir.path() / "pw").string());
}

TEST_CASE("load_config of a missing file is a problem without a position", "[config]") {
  TempDir dir;
  auto result = load_config((dir.path() / "nope.yaml").string());
  REQUIRE(std::holds_alternative<std::vector<Problem>>(result));
  const auto& problems = std::get<std::vector<Problem>>(result);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 0);
  CHECK(problems[0].column == 0);
  CHECK_THAT(problems[0].message, Contains("cannot read"));
}

// --- unknown keys ---------------------------------------------------------------------------------------

TEST_CASE("an unknown top-level key is reported at the key", "[config][errors]") {
  check_single_problem(std::string("listen: \":9188\"\nlisten_port: 9188\n") + std::string(kOneTarget), 2, 1,
                       "unknown key 'listen_port' in the configuration");
}

TEST_CASE("an unknown key in a target is reported at the key", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    dbname: app\n",
      4, 5, "unknown key 'dbname' in targets[0]");
}

TEST_CASE("an unknown collector name is reported at the name", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  stat_user_table:\n"
                           "    interval: 10s\n",
                       5, 3, "unknown key 'stat_user_table' in collectors");
}

TEST_CASE("an unknown key inside a collector is reported at the key", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  stat_user_indexes:\n"
                           "    intervall: 10s\n",
                       6, 5, "unknown key 'intervall' in collectors.stat_user_indexes");
}

TEST_CASE("the vacuum_progress collector is configured like the others", "[config]") {
  const Config cfg = config_of(std::string(kOneTarget) +
                               "collectors:\n"
                               "  vacuum_progress: {interval: 300ms}\n");
  CHECK(cfg.collectors.vacuum_progress.enabled);
  CHECK(cfg.collectors.vacuum_progress.interval == 300ms);
  const Config off = config_of(std::string(kOneTarget) +
                               "collectors:\n"
                               "  vacuum_progress:\n"
                               "    enabled: false\n");
  CHECK_FALSE(off.collectors.vacuum_progress.enabled);
  CHECK(off.collectors.vacuum_progress.interval == 15s);
}

TEST_CASE("mistakes in the vacuum_progress collector are reported at their place", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  vacuum_progress:\n"
                           "    every: 10s\n",
                       6, 5, "unknown key 'every' in collectors.vacuum_progress");
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  vacuum_progress: { interval: 0s }\n",
                       5, 32, "collectors.vacuum_progress.interval must be greater than zero");
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  vacuum_progress: { enabled: sometimes }\n",
                       5, 31, "collectors.vacuum_progress.enabled must be true or false");
}

TEST_CASE("an unknown key in a connection block is reported at the key", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "connection:\n"
                           "  timeout: 10s\n",
                       5, 3, "unknown key 'timeout' in connection");
}

TEST_CASE("a key given twice is reported at its second occurrence", "[config][errors]") {
  check_single_problem(std::string("listen: \":1\"\nlisten: \":2\"\n") + std::string(kOneTarget), 2, 1,
                       "duplicate key 'listen'");
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    conninfo: host=y\n",
      4, 5, "duplicate key 'conninfo' in targets[0]");
}

// --- wrong types ------------------------------------------------------------------------------------------

TEST_CASE("listen that is not a string is reported at the value", "[config][errors]") {
  check_single_problem(std::string("listen: [a, b]\n") + std::string(kOneTarget), 1, 9,
                       "listen must be a string");
}

TEST_CASE("an empty value is reported at its key, not on the next line", "[config][errors]") {
  check_single_problem(std::string("listen:\n") + std::string(kOneTarget), 1, 1, "listen must be a string");
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    autodiscover:\n"
      "    databases: [app]\n",
      4, 5, "targets[0].autodiscover must be true or false");
}

TEST_CASE("targets that is not a list is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  name: a\n"
      "  conninfo: host=x\n",
      2, 3, "targets must be a list");
  check_single_problem("log_level: info\ntargets:\n", 2, 1, "targets must be a list");
}

TEST_CASE("databases that is not a list is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    databases: app\n",
      4, 16, "targets[0].databases must be a list of strings");
}

TEST_CASE("an empty databases list is reported at the list", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    databases: []\n",
      4, 16, "targets[0].databases must not be empty");
}

TEST_CASE("a database listed twice is reported at the second entry", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    databases: [app, shop, app]\n",
      4, 28, "database 'app' is listed twice");
}

TEST_CASE("autodiscover that is not a boolean is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    autodiscover: maybe\n",
      4, 19, "targets[0].autodiscover must be true or false");
}

TEST_CASE("collector enabled that is not a boolean is reported at the value", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  stat_user_tables:\n"
                           "    enabled: sometimes\n",
                       6, 14, "collectors.stat_user_tables.enabled must be true or false");
}

TEST_CASE("a target name that is not a string is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: [a]\n"
      "    conninfo: host=x\n",
      2, 11, "targets[0].name must be a string");
}

TEST_CASE("a target that is not a mapping is reported", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - host=x\n",
      2, 5, "targets[0] must be a mapping");
}

// --- bad values -------------------------------------------------------------------------------------------

TEST_CASE("a bad duration is reported at the value", "[config][errors]") {
  const auto [value, text] = GENERATE(table<std::string, std::string>({
      {"10", "must be a duration such as 250ms, 30s, 5m, 1h or 7d"},     // no unit
      {"5x", "must be a duration such as 250ms, 30s, 5m, 1h or 7d"},     // unknown unit
      {"-1s", "must be a duration such as 250ms, 30s, 5m, 1h or 7d"},    // no sign
      {"1.5s", "must be a duration such as 250ms, 30s, 5m, 1h or 7d"},   // whole numbers only
      {"1m30s", "must be a duration such as 250ms, 30s, 5m, 1h or 7d"},  // one unit only
      {"0s", "must be greater than zero"},
  }));
  const std::string yaml = std::string(kOneTarget) + "connection:\n  connect_timeout: " + value + "\n";
  check_single_problem(yaml, 5, 20, "connection.connect_timeout " + text);
}

TEST_CASE("a duration past a year is refused with the limit, wherever it is", "[config][errors][limits]") {
  // Client-side durations: no server setting bounds them, so pghealthd's own cap (which keeps every
  // deadline arithmetic far from overflowing) is the limit. 20 digits and more overflow a 64-bit integer.
  const std::string value = GENERATE(as<std::string>{}, "8785h", "99999999999999h", "99999999999999999999999ms");
  const std::string limit = " must be at most 8784h (366 days, the longest duration pghealthd accepts)";
  INFO("value " << value);
  check_single_problem(std::string(kOneTarget) + "connection:\n  connect_timeout: " + value + "\n", 5, 20,
                       "connection.connect_timeout" + limit);
  check_single_problem(std::string(kOneTarget) + "connection:\n  backoff_max: " + value + "\n", 5, 16,
                       "connection.backoff_max" + limit);
  check_single_problem(std::string(kOneTarget) + "collectors:\n  xmin_horizon: { interval: " + value + " }\n", 5,
                       29, "collectors.xmin_horizon.interval" + limit);
  check_single_problem("targets:\n  - name: a\n    conninfo: host=x\n    autodiscover: true\n"
                       "    discovery_interval: " + value + "\n",
                       5, 25, "targets[0].discovery_interval" + limit);
  check_single_problem(std::string(kOneTarget) + "vacuum:\n  cooldown: " + value + "\n", 5, 13,
                       "vacuum.cooldown" + limit);
}

TEST_CASE("a year is the longest duration accepted", "[config][limits]") {
  const auto cfg = config_of(std::string(kOneTarget) +
                             "connection:\n  connect_timeout: 8784h\n  backoff_max: 31622400000ms\n");
  CHECK(cfg.targets[0].connection.connect_timeout == 8784h);
  CHECK(cfg.targets[0].connection.backoff_max == 8784h);
}

TEST_CASE("statement_timeout and lock_timeout past PostgreSQL's int milliseconds are refused", "[config][errors][limits]") {
  const std::string key = GENERATE(as<std::string>{}, "statement_timeout", "lock_timeout");
  const std::string value = GENERATE(as<std::string>{}, "2147483648ms", "597h", "720h");
  INFO(key << ": " << value);
  const std::string limit =
      " must be at most 596h 31m 23.647s (2147483647ms, PostgreSQL's " + key + " limit)";
  SECTION("top-level") {
    check_single_problem(std::string(kOneTarget) + "connection:\n  " + key + ": " + value + "\n", 5,
                         static_cast<int>(key.size()) + 5, "connection." + key + limit);
  }
  SECTION("per target") {
    check_single_problem("targets:\n  - name: a\n    conninfo: host=x\n    connection:\n      " + key + ": " +
                             value + "\n",
                         5, static_cast<int>(key.size()) + 9, "targets[0].connection." + key + limit);
  }
}

TEST_CASE("statement_timeout and lock_timeout up to PostgreSQL's limit are accepted", "[config][limits]") {
  const auto cfg = config_of(std::string(kOneTarget) +
                             "connection:\n  statement_timeout: 2147483647ms\n  lock_timeout: 596h\n");
  CHECK(cfg.targets[0].connection.statement_timeout == 2147483647ms);
  CHECK(cfg.targets[0].connection.lock_timeout == 596h);
}

TEST_CASE("a bad collector interval or discovery_interval is reported at the value", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "collectors:\n"
                           "  statio_user_tables:\n"
                           "    interval: 30\n",
                       6, 15, "collectors.statio_user_tables.interval must be a duration");
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    autodiscover: true\n"
      "    discovery_interval: 0ms\n",
      5, 25, "targets[0].discovery_interval must be greater than zero");
}

TEST_CASE("an invalid regular expression in exclude_databases is reported at the entry", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    autodiscover: true\n"
      "    exclude_databases: [template.*, \"app(\"]\n",
      5, 37, "invalid regular expression in targets[0].exclude_databases");
}

TEST_CASE("a configuration without targets is rejected", "[config][errors]") {
  SECTION("no targets key") { check_single_problem("listen: \":9188\"\n", 1, 1, "no targets"); }
  SECTION("an empty targets list") { check_single_problem("targets: []\n", 1, 10, "targets is empty"); }
  SECTION("an empty file") { check_single_problem("", 1, 1, "the configuration is empty"); }
  SECTION("a file of comments only") {
    check_single_problem("# nothing yet\n", 1, 1, "the configuration is empty");
  }
}

TEST_CASE("a file that is not a mapping is rejected", "[config][errors]") {
  check_single_problem("- name: a\n", 1, 1, "the configuration must be a mapping");
}

TEST_CASE("two targets with the same name are reported at the second name", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: main\n"
      "    conninfo: host=x\n"
      "  - name: main\n"
      "    conninfo: host=y\n",
      4, 11, "duplicate target name 'main'");
}

TEST_CASE("databases together with autodiscover: true is reported at autodiscover", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    databases: [app]\n"
      "    autodiscover: true\n",
      5, 19, "sets both databases and autodiscover");
}

TEST_CASE("databases together with autodiscover: false is fine", "[config]") {
  const Config cfg = config_of(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    databases: [app]\n"
      "    autodiscover: false\n");
  CHECK(cfg.targets.at(0).databases == std::vector<std::string>{"app"});
  CHECK_FALSE(cfg.targets.at(0).autodiscover);
}

TEST_CASE("include_databases without autodiscover is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    include_databases: [app]\n",
      4, 24, "targets[0].include_databases only applies with autodiscover: true");
}

TEST_CASE("a target without a name is reported at the target", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - conninfo: host=x\n",
      2, 5, "targets[0] needs a name");
}

TEST_CASE("a target without a conninfo is reported at the target", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "  - name: b\n"
      "    conninfo: host=x\n",
      2, 5, "targets[0] needs a conninfo");
}

TEST_CASE("an empty target name is reported at the value", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: \"\"\n"
      "    conninfo: host=x\n",
      2, 11, "targets[0].name must not be empty");
}

TEST_CASE("an invalid conninfo is reported with libpq's reason", "[config][errors]") {
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x bogus_key=1\n",
      3, 15, "invalid connection option \"bogus_key\"");
}

TEST_CASE("a conninfo error never shows the password", "[config][errors]") {
  const auto problems = problems_of(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x password=s3cret bogus_key=1\n");
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].message, !Contains("s3cret"));
}

TEST_CASE("a bad listen address is reported at the value", "[config][errors]") {
  const std::string value =
      GENERATE(as<std::string>{}, "\"9188\"", "\"[::1\"", "\"host:99999\"", "\"::1:9188\"", "\"host:\"");
  check_single_problem("listen: " + value + "\n" + std::string(kOneTarget), 1, 9, "listen must be host:port");
}

TEST_CASE("a bad log_level is reported at the value", "[config][errors]") {
  check_single_problem(std::string("log_level: verbose\n") + std::string(kOneTarget), 1, 12,
                       "log_level must be one of trace, debug, info, warn, error, critical, off");
}

TEST_CASE("every documented log_level is accepted", "[config]") {
  const std::string level =
      GENERATE(as<std::string>{}, "trace", "debug", "info", "warn", "error", "critical", "off");
  CHECK(config_of("log_level: " + level + "\n" + std::string(kOneTarget)).log_level == level);
}

TEST_CASE("a YAML syntax error is reported at its line and column", "[config][errors]") {
  check_single_problem(std::string("listen: a: b\n") + std::string(kOneTarget), 1, 10,
                       "YAML syntax error: illegal map value");
  check_single_problem(
      "log_level: info\n"
      "targets: [a, b\n",
      3, 1, "YAML syntax error: end of sequence flow not found");
  // The second item is indented one column less than the first: the error points at its dash.
  check_single_problem(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "   - name: b\n",
      4, 4, "YAML syntax error: end of sequence not found");
}

TEST_CASE("backoff_initial larger than backoff_max is reported at the connection block", "[config][errors]") {
  check_single_problem(std::string(kOneTarget) +
                           "connection:\n"
                           "  backoff_initial: 2m\n"
                           "  backoff_max: 1m\n",
                       5, 3, "connection.backoff_initial must not be larger than backoff_max");
}

TEST_CASE("a target that lowers backoff_max below the top-level backoff_initial is reported",
          "[config][errors]") {
  check_single_problem(
      "connection:\n"
      "  backoff_initial: 30s\n"
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    connection:\n"
      "      backoff_max: 10s\n",
      7, 7, "targets[0].connection.backoff_initial must not be larger than backoff_max");
}

TEST_CASE("a password_file that does not exist is reported with its resolved path", "[config][errors]") {
  TempDir dir;
  const auto problems = problems_of(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    password_file: missing/pw\n",
      dir.path().string());
  INFO(describe(problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 4);
  CHECK(problems[0].column == 20);
  CHECK_THAT(problems[0].message, Contains("targets[0].password_file is not a readable file"));
  CHECK_THAT(problems[0].message, Contains((dir.path() / "missing" / "pw").string()));
}

TEST_CASE("a password_file that is a directory is refused", "[config][errors]") {
  TempDir dir;
  const auto problems = problems_of(
      "targets:\n"
      "  - name: a\n"
      "    conninfo: host=x\n"
      "    password_file: " +
      dir.path().string() + "\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 4);
  CHECK_THAT(problems[0].message, Contains("password_file is not a readable file"));
}

TEST_CASE("every problem of a file is reported, not just the first", "[config][errors]") {
  const auto problems = problems_of(
      "listen: \":9188\"\n"          // 1
      "log_level: loud\n"            // 2
      "scrape_timeout: 5s\n"         // 3
      "connection:\n"                // 4
      "  lock_timeout: 5x\n"         // 5
      "targets:\n"                   // 6
      "  - name: a\n"                // 7
      "  - name: a\n"                // 8
      "    conninfo: host=x\n"       // 9
      "    autodiscover: perhaps\n"  // 10
  );
  INFO(describe(problems));
  REQUIRE(problems.size() == 6);
  // Unknown keys are found first, then each value is read in a fixed order.
  CHECK(problems[0].line == 3);
  CHECK_THAT(problems[0].message, Contains("unknown key 'scrape_timeout'"));
  CHECK(problems[1].line == 2);
  CHECK_THAT(problems[1].message, Contains("log_level"));
  CHECK(problems[2].line == 5);
  CHECK_THAT(problems[2].message, Contains("connection.lock_timeout"));
  CHECK(problems[3].line == 7);
  CHECK_THAT(problems[3].message, Contains("targets[0] needs a conninfo"));
  CHECK(problems[4].line == 8);
  CHECK_THAT(problems[4].message, Contains("duplicate target name 'a'"));
  CHECK(problems[5].line == 10);
  CHECK_THAT(problems[5].message, Contains("targets[1].autodiscover"));
}

// --- parse_duration, parse_listen, format_problem ---------------------------------------------------------

TEST_CASE("parse_duration reads ms, s, m, h and d", "[config][duration]") {
  CHECK(parse_duration("250ms") == Duration(250));
  CHECK(parse_duration("30s") == Duration(30'000));
  CHECK(parse_duration("5m") == Duration(300'000));
  CHECK(parse_duration("1h") == Duration(3'600'000));
  CHECK(parse_duration("0s") == Duration(0));  // zero is a duration; the config rejects it separately
  CHECK(parse_duration("8784h") == Duration(8784LL * 3'600'000));  // 366 days, the longest
  CHECK(parse_duration("7d") == Duration(7LL * 86'400'000));
  CHECK(parse_duration("366d") == Duration(8784LL * 3'600'000));
  CHECK(parse_duration("31622400000ms") == Duration(31'622'400'000));
}

TEST_CASE("parse_duration rejects everything else", "[config][duration]") {
  const std::string text = GENERATE(as<std::string>{}, "", "s", "10", "5x", "-1s", "+1s", "1.5s", " 1s",
                                    "1s ", "1m30s", "1S", "1 s", "99999999999h",
                                    "8785h", "31622400001ms", "99999999999999999999999h", "0.5ms", "367d", "1D",
                                    "7days");
  INFO("'" << text << "'");
  CHECK_FALSE(parse_duration(text).has_value());
}

TEST_CASE("parse_listen splits host and port", "[config][listen]") {
  SECTION("IPv4") {
    const auto a = parse_listen("127.0.0.1:9188");
    REQUIRE(a);
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 9188);
  }
  SECTION("no host means every interface") {
    const auto a = parse_listen(":9188");
    REQUIRE(a);
    CHECK(a->host == "");
    CHECK(a->port == 9188);
  }
  SECTION("IPv6 in brackets") {
    const auto a = parse_listen("[::1]:9188");
    REQUIRE(a);
    CHECK(a->host == "::1");
    CHECK(a->port == 9188);
  }
  SECTION("a host name") {
    const auto a = parse_listen("localhost:65535");
    REQUIRE(a);
    CHECK(a->host == "localhost");
    CHECK(a->port == 65535);
  }
}

TEST_CASE("parse_listen rejects addresses without a valid port", "[config][listen]") {
  const std::string text = GENERATE(as<std::string>{}, "9188", "", "[::1", "[::1]9188", "[]:9188", "::1:9188",
                                    "host:99999", "host:65536", "host:", "host:-1", "host:80x", "host: 80");
  INFO("'" << text << "'");
  CHECK_FALSE(parse_listen(text).has_value());
}

TEST_CASE("format_problem writes FILE:LINE:COL: message", "[config]") {
  CHECK(format_problem("/etc/pghealthd/pghealthd.yaml", Problem{3, 7, "listen must be a string"}) ==
        "/etc/pghealthd/pghealthd.yaml:3:7: listen must be a string");
}

TEST_CASE("a regular expression RE2 cannot compile is refused with its reason", "[config][errors]") {
  // Each found by fuzzing when patterns were std::regex (fuzz/regressions/fuzz_config): deep nesting,
  // huge repeat counts and back-references overflowed its recursion. RE2 refuses them all cleanly.
  auto one = [](const std::string& re) {
    return problems_of("targets:\n  - name: a\n    conninfo: host=x\n    autodiscover: true\n"
                       "    include_databases: [\"" + re + "\"]\n");
  };
  const auto deep = one(std::string(600, '('));
  REQUIRE(deep.size() == 1);
  CHECK_THAT(deep[0].message, Contains("invalid regular expression in targets[0].include_databases: missing )"));
  const auto repeat = one("a{99999999}");
  REQUIRE(repeat.size() == 1);
  CHECK_THAT(repeat[0].message, Contains("invalid repetition size"));
  // A brace RE2 cannot read as a repeat is literal text, as in most engines: harmless.
  CHECK(std::holds_alternative<Config>(pghealthd::config::parse_config(
      "targets:\n  - name: a\n    conninfo: host=x\n    autodiscover: true\n"
      "    include_databases: [\"a{1,99999999999999999999}\"]\n")));
  CHECK(pghealthd::config::Pattern("a{1,99999999999999999999}").matches("a{1,99999999999999999999}"));
  const auto backref = one("(a)\\\\1");
  REQUIRE(backref.size() == 1);
  CHECK_THAT(backref[0].message, Contains("invalid escape sequence"));
  CHECK(std::holds_alternative<Config>(pghealthd::config::parse_config(  // deep but valid: fine
      "targets:\n  - name: a\n    conninfo: host=x\n    autodiscover: true\n    include_databases: [\"" +
      std::string(20, '(') + "a" + std::string(20, ')') + "\"]\n")));
}

TEST_CASE("a literal comma with digits is an ordinary pattern", "[config]") {
  const auto literal = pghealthd::config::parse_config(
      "targets:\n  - name: a\n    conninfo: host=x\n    autodiscover: true\n    include_databases: [\"db,5000\"]\n");
  CHECK(std::holds_alternative<Config>(literal));
}

// --- index health (issue 14) ------------------------------------------------------------------------------

TEST_CASE("indexes.unused_min_stats_age defaults to 7 days and 0 judges at once, sequences collect every 5 minutes",
          "[config]") {
  const Config defaults = config_of(kOneTarget);
  CHECK(defaults.indexes.unused_min_stats_age == std::chrono::hours(24 * 7));
  CHECK(defaults.collectors.sequences.enabled);
  CHECK(defaults.collectors.sequences.interval == 300s);
  CHECK(defaults.targets[0].labels.empty());
  const Config set = config_of(std::string(kOneTarget) +
                               "indexes: { unused_min_stats_age: 0s }\n"
                               "collectors: { sequences: { interval: 1h } }\n");
  CHECK(set.indexes.unused_min_stats_age == 0s);
  CHECK(set.collectors.sequences.interval == 1h);
  check_single_problem(std::string(kOneTarget) + "indexes: { unused_min_stats_age: soon }\n", 4, 34,
                       "indexes.unused_min_stats_age must be a duration");
  check_single_problem(std::string(kOneTarget) + "indexes: { min_age: 1d }\n", 4, 12,
                       "unknown key 'min_age' in indexes");
}

TEST_CASE("a target's labels: Prometheus label names, none of pghealthd's own, string values", "[config]") {
  const Config cfg = config_of(std::string(kOneTarget) + "    labels: { cluster: orders, env: \"prod \\\"eu\\\"\" }\n");
  REQUIRE(cfg.targets[0].labels.size() == 2);
  CHECK(cfg.targets[0].labels.at("cluster") == "orders");
  CHECK(cfg.targets[0].labels.at("env") == "prod \"eu\"");
  check_single_problem(std::string(kOneTarget) + "    labels: { 1cluster: x }\n", 4, 15,
                       "label name '1cluster' in targets[0].labels is not a Prometheus label name");
  check_single_problem(std::string(kOneTarget) + "    labels: { clu-ster: x }\n", 4, 15, "is not a Prometheus label name");
  check_single_problem(std::string(kOneTarget) + "    labels: { __meta: x }\n", 4, 15, "starts with __");
  for (const char* builtin : {"target", "datname", "indexrelname", "method", "instance", "job", "covered_by", "le"}) {
    INFO(builtin);
    check_single_problem(std::string(kOneTarget) + "    labels: { " + builtin + ": x }\n", 4, 15,
                         "is one of pghealthd's or Prometheus' own labels");
  }
  check_single_problem(std::string(kOneTarget) + "    labels: [cluster]\n", 4, 13, "must be a mapping");
  check_single_problem(std::string(kOneTarget) + "    labels: { cluster: [a, b] }\n", 4, 24,
                       "targets[0].labels.cluster must be a string");
}

TEST_CASE("bloat: exact readings are off by default, and every key is read", "[config][bloat]") {
  const Config defaults = config_of(kOneTarget);
  CHECK_FALSE(defaults.bloat.exact);
  CHECK(defaults.bloat.exact_min_size_bytes == 104857600);
  CHECK(defaults.bloat.exact_budget == 1min);
  CHECK(defaults.bloat.lock_timeout == 1s);
  const Config set = config_of(std::string(kOneTarget) +
                               "bloat:\n"
                               "  exact: true\n"
                               "  exact_min_size_bytes: 0\n"
                               "  exact_budget: 30s\n"
                               "  lock_timeout: 200ms\n");
  CHECK(set.bloat.exact);
  CHECK(set.bloat.exact_min_size_bytes == 0);
  CHECK(set.bloat.exact_budget == 30s);
  CHECK(set.bloat.lock_timeout == 200ms);
}

TEST_CASE("mistakes in bloat: are reported at their place", "[config][errors][bloat]") {
  const std::string base(kOneTarget);  // lines 1-3; bloat: on line 4, its keys from line 5
  check_single_problem(base + "bloat:\n  exact: maybe\n", 5, 10, "bloat.exact must be true or false");
  check_single_problem(base + "bloat:\n  exact_min_size_bytes: -1\n", 5, 25,
                       "bloat.exact_min_size_bytes must be a whole number from 0");
  check_single_problem(base + "bloat:\n  exact_min_size_bytes: 1.5e9\n", 5, 25, "must be a whole number");
  check_single_problem(base + "bloat:\n  exact_budget: 0s\n", 5, 17, "bloat.exact_budget must be greater than zero");
  check_single_problem(base + "bloat:\n  exact_budget: soon\n", 5, 17, "bloat.exact_budget must be a duration");
  // 0 would let a reading wait for its lock forever.
  check_single_problem(base + "bloat:\n  lock_timeout: 0s\n", 5, 17, "bloat.lock_timeout must be greater than zero");
  check_single_problem(base + "bloat:\n  lock_timeout: 30d\n", 5, 17, "PostgreSQL's lock_timeout limit");
  check_single_problem(base + "bloat:\n  exactly: true\n", 5, 3,
                       "unknown key 'exactly' in bloat (known: exact, exact_min_size_bytes, exact_budget, lock_timeout)");
  check_single_problem(base + "bloat: true\n", 4, 8, "bloat must be a mapping");
}

TEST_CASE("bloat.exact needs the bloat collector, and a budget shorter than its interval", "[config][errors][bloat]") {
  const std::string base(kOneTarget);
  check_single_problem(base + "collectors: { bloat: { enabled: false } }\nbloat:\n  exact: true\n", 6, 10,
                       "bloat.exact needs the bloat collector (collectors.bloat.enabled)");
  check_single_problem(base + "collectors: { bloat: { interval: 1m } }\nbloat:\n  exact: true\n", 6, 10,
                       "bloat.exact_budget (1m) must be shorter than collectors.bloat.interval (1m)");
  check_single_problem(base + "collectors: { bloat: { interval: 10m } }\nbloat:\n  exact: true\n  exact_budget: 1h\n",
                       7, 17, "bloat.exact_budget (1h) must be shorter than collectors.bloat.interval (10m)");
  // Off, the budget is not used and not checked.
  CHECK_FALSE(config_of(base + "collectors: { bloat: { interval: 30s } }\n").bloat.exact);
  CHECK(config_of(base + "collectors: { bloat: { interval: 2s } }\nbloat: { exact: true, exact_budget: 1s }\n")
            .bloat.exact);
}
