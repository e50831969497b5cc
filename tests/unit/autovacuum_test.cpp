// Autovacuum's trigger as pghealthd computes it (effective_autovacuum from reloptions, autovacuum_threshold,
// autovacuum_due_ratio) and its series; and who holds the xmin horizon back (parse_xmin_horizon,
// oldest_holder, render_horizon).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pg/rows.h"
#include "collectors/xmin_horizon.h"
#include "metrics/catalog.h"
#include "metrics/exposition.h"
#include "model/stats.h"

namespace {

using Catch::Matchers::Contains;
using pghealthd::collectors::oldest_holder;
using pghealthd::collectors::parse_xmin_horizon;
using pghealthd::pg::TextRows;
using pghealthd::metrics::Family;
using pghealthd::metrics::Fragments;
using pghealthd::metrics::render_horizon;
using pghealthd::metrics::render_tables;
using pghealthd::model::AutovacuumSettings;
using pghealthd::model::autovacuum_due_ratio;
using pghealthd::model::autovacuum_threshold;
using pghealthd::model::effective_autovacuum;
using pghealthd::model::HorizonHolder;
using pghealthd::model::TableStats;
using Cell = std::optional<std::string>;

// A server with non-default settings, so that "unchanged" cannot pass by accident.
AutovacuumSettings server() {
  AutovacuumSettings s;
  s.enabled = true;
  s.base_threshold = 75;
  s.scale_factor = 0.3;
  return s;
}

void check_same(const AutovacuumSettings& got, const AutovacuumSettings& want) {
  CHECK(got.enabled == want.enabled);
  CHECK(got.base_threshold == want.base_threshold);
  CHECK(got.scale_factor == want.scale_factor);
}

TableStats table_with(std::optional<double> reltuples, std::optional<std::int64_t> dead) {
  TableStats t;
  t.relid = 1;
  t.schemaname = "public";
  t.relname = "Message";
  t.reltuples = reltuples;
  t.dead_tuples = dead;
  return t;
}

std::string lines(const Fragments& f, Family family) { return f.text(family); }

HorizonHolder holder(std::string source, std::int64_t xids, std::optional<double> seconds, std::string xmin = "1") {
  HorizonHolder h;
  h.source = std::move(source);
  h.holder = "someone";
  h.age_transactions = xids;
  h.age_seconds = seconds;
  h.xmin = std::move(xmin);
  return h;
}

const std::vector<std::string> kHorizonColumns{"source", "holder", "age_transactions", "age_seconds", "xmin"};

}  // namespace

// --- effective_autovacuum -----------------------------------------------------------------------------------

TEST_CASE("reloptions autovacuum_enabled=false turns autovacuum off for the table", "[autovacuum]") {
  const auto s = effective_autovacuum(server(), "{autovacuum_enabled=false,fillfactor=70}");
  CHECK_FALSE(s.enabled);
  CHECK(s.base_threshold == 75);  // the other settings stay
  CHECK(s.scale_factor == 0.3);
}

TEST_CASE("reloptions threshold and scale factor override the server's", "[autovacuum]") {
  const auto s =
      effective_autovacuum(server(), "{autovacuum_vacuum_scale_factor=0.05,autovacuum_vacuum_threshold=10}");
  CHECK(s.enabled);
  CHECK(s.base_threshold == 10);
  CHECK(s.scale_factor == 0.05);
}

TEST_CASE("quoted reloptions elements are read like plain ones", "[autovacuum]") {
  const auto s = effective_autovacuum(
      server(), R"({"autovacuum_vacuum_threshold=10","autovacuum_vacuum_scale_factor=0.01",fillfactor=70})");
  CHECK(s.base_threshold == 10);
  CHECK(s.scale_factor == 0.01);
  CHECK_FALSE(effective_autovacuum(server(), R"({"autovacuum_enabled=false"})").enabled);
}

TEST_CASE("empty or missing reloptions keep the server's settings", "[autovacuum]") {
  check_same(effective_autovacuum(server(), "{}"), server());
  check_same(effective_autovacuum(server(), ""), server());
  AutovacuumSettings off = server();
  off.enabled = false;
  check_same(effective_autovacuum(off, "{}"), off);
}

TEST_CASE("malformed reloptions values are ignored", "[autovacuum]") {
  const std::string text = GENERATE(as<std::string>{}, "{autovacuum_vacuum_threshold=abc}",
                                    "{autovacuum_vacuum_threshold=}", "{autovacuum_vacuum_threshold}",
                                    "{autovacuum_vacuum_scale_factor=0.1x}",
                                    "{=10}", "{,}", "autovacuum_enabled=false", "{autovacuum_enabled=false",
                                    "{autovacuum_enabled=maybe}");
  INFO(text);
  check_same(effective_autovacuum(server(), text), server());
}

TEST_CASE("a malformed reloptions element does not hide the valid ones around it", "[autovacuum]") {
  const auto s = effective_autovacuum(
      server(), "{autovacuum_vacuum_threshold=oops,autovacuum_vacuum_scale_factor=0.02,autovacuum_enabled=off}");
  CHECK(s.base_threshold == 75);
  CHECK(s.scale_factor == 0.02);
  CHECK_FALSE(s.enabled);
}

TEST_CASE("autovacuum_enabled accepts every spelling of false PostgreSQL accepts", "[autovacuum]") {
  // ALTER TABLE ... SET (autovacuum_enabled = 'F') stores the text as written; PostgreSQL reads it with
  // parse_bool: any case, and unique prefixes of false, no and off.
  const std::string value =
      GENERATE(as<std::string>{}, "false", "off", "no", "0", "f", "n", "of", "fal", "FALSE", "Off", "NO", "F");
  INFO(value);
  CHECK_FALSE(effective_autovacuum(server(), "{autovacuum_enabled=" + value + "}").enabled);
}

TEST_CASE("autovacuum_enabled=true keeps autovacuum on, but cannot turn on a server's autovacuum",
          "[autovacuum]") {
  const std::string value = GENERATE(as<std::string>{}, "true", "on", "yes", "1", "t", "TRUE");
  INFO(value);
  CHECK(effective_autovacuum(server(), "{autovacuum_enabled=" + value + "}").enabled);
  AutovacuumSettings off = server();
  off.enabled = false;
  CHECK_FALSE(effective_autovacuum(off, "{autovacuum_enabled=" + value + "}").enabled);
}

TEST_CASE("options of the TOAST table or of insert-triggered vacuums do not change the heap's trigger",
          "[autovacuum]") {
  check_same(effective_autovacuum(server(), "{toast.autovacuum_enabled=false,toast.autovacuum_vacuum_threshold=1,"
                                            "autovacuum_vacuum_insert_threshold=5,"
                                            "autovacuum_vacuum_insert_scale_factor=0.5}"),
             server());
}

// --- autovacuum_threshold / autovacuum_due_ratio -------------------------------------------------------------

TEST_CASE("autovacuum's threshold is 50 + 0.2 x reltuples with the default settings", "[autovacuum]") {
  CHECK(autovacuum_threshold(table_with(1000, 0)) == 250.0);
  CHECK(autovacuum_threshold(table_with(0, 0)) == 50.0);
  CHECK(autovacuum_threshold(table_with(1'000'000, 0)) == 200'050.0);
}

TEST_CASE("a table never vacuumed or analyzed (reltuples -1) counts as empty", "[autovacuum]") {
  CHECK(autovacuum_threshold(table_with(-1, 0)) == 50.0);
  CHECK(autovacuum_threshold(table_with(std::nullopt, 0)) == 50.0);
}

TEST_CASE("autovacuum's threshold uses the table's own settings", "[autovacuum]") {
  TableStats t = table_with(1'000'000, 0);
  t.autovacuum = effective_autovacuum({}, "{autovacuum_vacuum_scale_factor=0.01,autovacuum_vacuum_threshold=1000}");
  CHECK(autovacuum_threshold(t) == 11000.0);
}

TEST_CASE("there is no autovacuum threshold where autovacuum never vacuums", "[autovacuum]") {
  TableStats disabled = table_with(1000, 500);
  disabled.autovacuum.edit().enabled = false;
  CHECK_FALSE(autovacuum_threshold(disabled).has_value());
  CHECK_FALSE(autovacuum_due_ratio(disabled).has_value());
  TableStats partitioned = table_with(1000, 500);
  partitioned.relkind = 'p';
  CHECK_FALSE(autovacuum_threshold(partitioned).has_value());
  CHECK_FALSE(autovacuum_due_ratio(partitioned).has_value());
  // Materialized views are autovacuumed like tables.
  TableStats matview = table_with(1000, 500);
  matview.relkind = 'm';
  CHECK(autovacuum_threshold(matview) == 250.0);
}

TEST_CASE("the due ratio is dead rows over autovacuum's threshold", "[autovacuum]") {
  CHECK(autovacuum_due_ratio(table_with(1000, 125)) == 0.5);
  CHECK(autovacuum_due_ratio(table_with(1000, 250)) == 1.0);
  CHECK(autovacuum_due_ratio(table_with(1000, 1000)) == 4.0);
  CHECK(autovacuum_due_ratio(table_with(1000, 0)) == 0.0);
  CHECK(autovacuum_due_ratio(table_with(-1, 100)) == 2.0);
}

TEST_CASE("the due ratio is absent without dead rows or without a positive threshold", "[autovacuum]") {
  CHECK_FALSE(autovacuum_due_ratio(table_with(1000, std::nullopt)).has_value());
  TableStats zero = table_with(1000, 10);
  zero.autovacuum.edit().base_threshold = 0;
  zero.autovacuum.edit().scale_factor = 0;
  CHECK(autovacuum_threshold(zero) == 0.0);
  CHECK_FALSE(autovacuum_due_ratio(zero).has_value());
}

// --- parse_xmin_horizon / oldest_holder ----------------------------------------------------------------------

TEST_CASE("xmin_horizon: every column lands in its field", "[horizon]") {
  const TextRows rows(kHorizonColumns,
                      {{"transaction", "pid 123 user app application psql state idle in transaction", "4200",
                        "12.5", "7310"},
                       {"replication_slot", "slot s1 (physical, inactive)", "90000", std::nullopt, "700"}});
  const auto parsed = parse_xmin_horizon(rows);
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 2);
  const auto& tx = parsed.rows[0];
  CHECK(tx.source == "transaction");
  CHECK(tx.holder == "pid 123 user app application psql state idle in transaction");
  CHECK(tx.age_transactions == 4200);
  CHECK(tx.age_seconds == 12.5);
  CHECK(tx.xmin == "7310");
  const auto& slot = parsed.rows[1];
  CHECK(slot.source == "replication_slot");
  CHECK(slot.holder == "slot s1 (physical, inactive)");
  CHECK(slot.age_transactions == 90000);
  CHECK_FALSE(slot.age_seconds.has_value());
  CHECK(slot.xmin == "700");
}

TEST_CASE("xmin_horizon: nothing holding the horizon parses to no rows", "[horizon]") {
  const auto parsed = parse_xmin_horizon(TextRows(kHorizonColumns, {}));
  CHECK(parsed.ok());
  CHECK(parsed.rows.empty());
}

TEST_CASE("xmin_horizon: a missing column is named and no rows are returned", "[horizon]") {
  const std::string missing = GENERATE_COPY(from_range(kHorizonColumns));
  std::vector<std::string> columns;
  std::vector<Cell> row;
  const std::vector<Cell> full{"transaction", "pid 1", "5", "1.5", "99"};
  for (std::size_t i = 0; i < kHorizonColumns.size(); ++i) {
    if (kHorizonColumns[i] == missing) continue;
    columns.push_back(kHorizonColumns[i]);
    row.push_back(full[i]);
  }
  const auto parsed = parse_xmin_horizon(TextRows(columns, {row}));
  CHECK_FALSE(parsed.ok());
  CHECK_THAT(parsed.error, Contains("no column '" + missing + "'"));
  CHECK(parsed.rows.empty());
}

TEST_CASE("xmin_horizon: bad values name their row and column", "[horizon]") {
  SECTION("age that is not an integer") {
    const auto parsed = parse_xmin_horizon(TextRows(kHorizonColumns, {{"transaction", "pid 1", "5x", "1", "9"}}));
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 3: expected an integer"));
    CHECK(parsed.rows.empty());
  }
  SECTION("seconds that are not a number") {
    const auto parsed =
        parse_xmin_horizon(TextRows(kHorizonColumns, {{"transaction", "pid 1", "5", "soon", "9"}}));
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 4: expected a number"));
  }
  SECTION("a NULL xmin") {
    const auto parsed =
        parse_xmin_horizon(TextRows(kHorizonColumns, {{"transaction", "pid 1", "5", "1", std::nullopt}}));
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(parsed.error, Contains("row 1, column 5"));
    CHECK_THAT(parsed.error, Contains("got NULL"));
  }
}

TEST_CASE("xmin_horizon: a NULL age in transactions reads as 0", "[horizon]") {
  const auto parsed =
      parse_xmin_horizon(TextRows(kHorizonColumns, {{"standby", "standby s1", std::nullopt, std::nullopt, "5"}}));
  REQUIRE(parsed.ok());
  REQUIRE(parsed.rows.size() == 1);
  CHECK(parsed.rows[0].age_transactions == 0);
}

TEST_CASE("the oldest holder is the one with the largest age in transactions", "[horizon]") {
  const std::vector<HorizonHolder> holders{holder("transaction", 100, 50.0, "a"),
                                           holder("replication_slot", 900, std::nullopt, "b"),
                                           holder("prepared_transaction", 300, 999.0, "c")};
  const auto* oldest = oldest_holder(holders);
  REQUIRE(oldest != nullptr);
  CHECK(oldest == &holders[1]);
  CHECK(oldest->xmin == "b");
}

TEST_CASE("with two equally old holders the first one listed is the oldest", "[horizon]") {
  const std::vector<HorizonHolder> holders{holder("transaction", 10, 1.0, "a"), holder("standby", 300, {}, "b"),
                                           holder("transaction", 300, 2.0, "c")};
  CHECK(oldest_holder(holders) == &holders[1]);
}

TEST_CASE("nothing holding the horizon has no oldest holder", "[horizon]") {
  CHECK(oldest_holder({}) == nullptr);
}

// --- render_horizon ------------------------------------------------------------------------------------------

TEST_CASE("render_horizon writes the largest ages of each source", "[horizon][exposition]") {
  const Fragments f = render_horizon("t", "d",
                                     {holder("transaction", 100, 12.5), holder("transaction", 300, 2.0),
                                      holder("replication_slot", 500, std::nullopt),
                                      holder("standby", 40, std::nullopt), holder("standby", 20, std::nullopt)});
  const std::string labels = R"({target="t",datname="d",source=")";
  // Age in time: the longest-running transaction (not the one with the oldest xmin); 0 when no prepared
  // transaction exists; nothing for slots and standbys, whose age in time is unknown.
  CHECK(lines(f, Family::kXminHorizonAgeSeconds) ==
        "pghealthd_xmin_horizon_age_seconds" + labels + "transaction\"} 12.5\n" +
            "pghealthd_xmin_horizon_age_seconds" + labels + "prepared_transaction\"} 0\n");
  CHECK(lines(f, Family::kXminHorizonAgeTransactions) ==
        "pghealthd_xmin_horizon_age_transactions" + labels + "transaction\"} 300\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "replication_slot\"} 500\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "prepared_transaction\"} 0\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "standby\"} 40\n");
  CHECK(lines(f, Family::kTableLiveTuples).empty());
}

TEST_CASE("render_horizon with nothing holding the horizon writes zeros", "[horizon][exposition]") {
  const Fragments f = render_horizon("t", "d", {});
  const std::string labels = R"({target="t",datname="d",source=")";
  CHECK(lines(f, Family::kXminHorizonAgeSeconds) ==
        "pghealthd_xmin_horizon_age_seconds" + labels + "transaction\"} 0\n" +
            "pghealthd_xmin_horizon_age_seconds" + labels + "prepared_transaction\"} 0\n");
  CHECK(lines(f, Family::kXminHorizonAgeTransactions) ==
        "pghealthd_xmin_horizon_age_transactions" + labels + "transaction\"} 0\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "replication_slot\"} 0\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "prepared_transaction\"} 0\n" +
            "pghealthd_xmin_horizon_age_transactions" + labels + "standby\"} 0\n");
}

TEST_CASE("render_horizon leaves out the seconds of a transaction whose start is unknown",
          "[horizon][exposition]") {
  const Fragments f = render_horizon("t", "d", {holder("transaction", 7, std::nullopt)});
  CHECK(lines(f, Family::kXminHorizonAgeSeconds) ==
        R"(pghealthd_xmin_horizon_age_seconds{target="t",datname="d",source="prepared_transaction"} 0)"
        "\n");
  CHECK_THAT(lines(f, Family::kXminHorizonAgeTransactions),
             Contains(R"(pghealthd_xmin_horizon_age_transactions{target="t",datname="d",source="transaction"} 7)"
                      "\n"));
}

TEST_CASE("render_horizon escapes the target and database labels", "[horizon][exposition]") {
  const Fragments f = render_horizon("prod \"eu\"", "db\\1", {});
  CHECK_THAT(lines(f, Family::kXminHorizonAgeTransactions),
             Contains(R"(pghealthd_xmin_horizon_age_transactions{target="prod \"eu\"",datname="db\\1",)"
                      R"(source="standby"} 0)"
                      "\n"));
}

TEST_CASE("write_families documents the xmin horizon families once", "[horizon][exposition]") {
  const Fragments a = render_horizon("t", "a", {});
  const Fragments b = render_horizon("t", "b", {});
  std::string out;
  pghealthd::metrics::write_families(out, {&a, &b});
  CHECK_THAT(out, Contains("# TYPE pghealthd_xmin_horizon_age_seconds gauge\n"));
  CHECK_THAT(out, Contains("# TYPE pghealthd_xmin_horizon_age_transactions gauge\n"));
  CHECK(out.find("# HELP pghealthd_xmin_horizon_age_seconds ") ==
        out.rfind("# HELP pghealthd_xmin_horizon_age_seconds "));
}

// --- render_tables: autovacuum series ------------------------------------------------------------------------

TEST_CASE("render_tables writes autovacuum's threshold and due ratio", "[autovacuum][exposition]") {
  const Fragments f = render_tables("t", "d", {table_with(1000, 100)});
  const std::string labels = R"({target="t",datname="d",schemaname="public",relname="Message"} )";
  CHECK(lines(f, Family::kTableAutovacuumThreshold) ==
        "pghealthd_table_autovacuum_threshold_tuples" + labels + "250\n");
  CHECK(lines(f, Family::kTableAutovacuumDueRatio) == "pghealthd_table_autovacuum_due_ratio" + labels + "0.4\n");
}

TEST_CASE("render_tables has no autovacuum series where autovacuum is off or for partitioned parents",
          "[autovacuum][exposition]") {
  TableStats off = table_with(1000, 100);
  off.autovacuum = effective_autovacuum({}, "{autovacuum_enabled=false}");
  TableStats parent = table_with(0, 0);
  parent.relkind = 'p';
  const Fragments f = render_tables("t", "d", {off, parent});
  CHECK(lines(f, Family::kTableAutovacuumThreshold).empty());
  CHECK(lines(f, Family::kTableAutovacuumDueRatio).empty());
}

TEST_CASE("render_tables has a threshold but no due ratio when n_dead_tup is NULL", "[autovacuum][exposition]") {
  const Fragments f = render_tables("t", "d", {table_with(-1, std::nullopt)});
  CHECK(lines(f, Family::kTableAutovacuumThreshold) ==
        R"(pghealthd_table_autovacuum_threshold_tuples{target="t",datname="d",schemaname="public",)"
        R"(relname="Message"} 50)"
        "\n");
  CHECK(lines(f, Family::kTableAutovacuumDueRatio).empty());
}

// --- every trigger, version by version (relation_needs_vacanalyze) ------------------------------------------

namespace {

// A table as each server version's settings describe it: 13-17 have no max threshold and no relallfrozen.
TableStats churned(int version) {
  TableStats t = table_with(1'000'000'000, 0);
  t.autovacuum.edit().insert_threshold = 1000;  // 13+: the server's default
  t.autovacuum.edit().insert_scale_factor = 0.2;
  if (version >= 180000) t.autovacuum.edit().max_threshold = 100'000'000;  // 18's default cap
  t.ins_since_vacuum = 0;
  t.mod_since_analyze = 0;
  t.relpages = 1000;
  if (version >= 180000) t.relallfrozen = 750;  // 18 counts only unfrozen pages for inserts
  return t;
}

}  // namespace

TEST_CASE("the dead-row threshold is capped from 18 on, and a table's own cap or -1 overrides it", "[autovacuum]") {
  using pghealthd::model::autovacuum_threshold;
  CHECK(autovacuum_threshold(churned(130000)) == 50 + 0.2 * 1e9);  // 13-17: no cap
  CHECK(autovacuum_threshold(churned(170000)) == 50 + 0.2 * 1e9);
  CHECK(autovacuum_threshold(churned(180000)) == 1e8);             // 18: autovacuum_vacuum_max_threshold
  TableStats own = churned(180000);
  own.autovacuum = effective_autovacuum(*own.autovacuum, "{autovacuum_vacuum_max_threshold=5000}");
  CHECK(autovacuum_threshold(own) == 5000.0);
  own.autovacuum = effective_autovacuum(*own.autovacuum, "{autovacuum_vacuum_max_threshold=-1}");
  CHECK(autovacuum_threshold(own) == 50 + 0.2 * 1e9);
  TableStats small = churned(180000);  // below the cap: the formula as before
  small.reltuples = 1000;
  CHECK(autovacuum_threshold(small) == 250.0);
}

TEST_CASE("the insert trigger: 13+, off at -1, on 18 scaled by the unfrozen share of the pages", "[autovacuum]") {
  using pghealthd::model::autovacuum_insert_due_ratio;
  using pghealthd::model::autovacuum_insert_threshold;
  TableStats t13 = churned(130000);
  t13.reltuples = 10000;
  t13.ins_since_vacuum = 1500;
  CHECK(autovacuum_insert_threshold(t13) == 1000 + 0.2 * 10000);
  CHECK(autovacuum_insert_due_ratio(t13) == 0.5);
  TableStats t18 = churned(180000);
  t18.reltuples = 10000;
  t18.ins_since_vacuum = 1500;
  CHECK(autovacuum_insert_threshold(t18) == Approx(1000 + 0.2 * 10000 * 0.25));  // 750 of 1000 pages frozen
  CHECK(autovacuum_insert_due_ratio(t18) == Approx(1.0));
  t18.relallfrozen = 5000;  // more than relpages (statistics set by hand): clamped, all frozen
  CHECK(autovacuum_insert_threshold(t18) == 1000.0);
  TableStats off = t13;
  off.autovacuum = effective_autovacuum(*off.autovacuum, "{autovacuum_vacuum_insert_threshold=-1}");
  CHECK_FALSE(autovacuum_insert_threshold(off).has_value());
  CHECK_FALSE(autovacuum_insert_due_ratio(off).has_value());
  TableStats no_counter = t13;  // a server without n_ins_since_vacuum
  no_counter.ins_since_vacuum = std::nullopt;
  CHECK_FALSE(autovacuum_insert_threshold(no_counter).has_value());
  TableStats own = t13;
  own.autovacuum = effective_autovacuum(*own.autovacuum,
                                        "{autovacuum_vacuum_insert_threshold=100,autovacuum_vacuum_insert_scale_factor=0.01}");
  CHECK(autovacuum_insert_threshold(own) == 200.0);
  TableStats disabled = t13;
  disabled.autovacuum = effective_autovacuum(*disabled.autovacuum, "{autovacuum_enabled=off}");
  CHECK_FALSE(autovacuum_insert_threshold(disabled).has_value());
  CHECK_FALSE(disabled.autovacuum->table_enabled);
}

TEST_CASE("the analyze trigger: modified rows over analyze threshold + scale factor x reltuples", "[autovacuum]") {
  using pghealthd::model::autoanalyze_due_ratio;
  using pghealthd::model::autoanalyze_threshold;
  TableStats t = churned(150000);
  t.reltuples = 10000;
  t.mod_since_analyze = 525;
  CHECK(autoanalyze_threshold(t) == 50 + 0.1 * 10000);
  CHECK(autoanalyze_due_ratio(t) == 0.5);
  t.reltuples = -1;  // never analyzed: the base threshold alone
  CHECK(autoanalyze_threshold(t) == 50.0);
  t.autovacuum = effective_autovacuum(*t.autovacuum, "{autovacuum_analyze_threshold=0,autovacuum_analyze_scale_factor=0.05}");
  t.reltuples = 1000;
  CHECK(autoanalyze_threshold(t) == 50.0);
  TableStats parent = churned(150000);  // autovacuum never analyzes a partitioned parent
  parent.relkind = 'p';
  CHECK_FALSE(autoanalyze_threshold(parent).has_value());
  TableStats server_off = churned(150000);
  server_off.autovacuum.edit().enabled = false;  // autovacuum or track_counts off
  CHECK_FALSE(autoanalyze_threshold(server_off).has_value());
  CHECK(server_off.autovacuum->table_enabled);
}
