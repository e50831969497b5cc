// Snapshot rows -> Prometheus text exposition: exact sample lines, absent series for NULLs, escaping, and
// HELP/TYPE headers written once per family however many databases contribute samples.
#include <catch2/catch.hpp>

#include <chrono>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/catalog.h"
#include "metrics/exposition.h"
#include "model/stats.h"

namespace {

using pghealthd::metrics::append_escaped;
using pghealthd::metrics::append_value;
using pghealthd::metrics::Family;
using pghealthd::metrics::Fragments;
using pghealthd::metrics::render_freeze;
using pghealthd::metrics::render_horizon;
using pghealthd::metrics::render_indexes;
using pghealthd::metrics::render_sequences;
using pghealthd::metrics::render_bloat;
using pghealthd::metrics::render_table_io;
using pghealthd::metrics::render_tables;
using pghealthd::metrics::render_vacuum_progress;
using pghealthd::metrics::write_families;
using pghealthd::model::IndexStats;
using pghealthd::model::TableIo;
using pghealthd::model::TableStats;
using pghealthd::model::VacuumProgress;

// The labels every per-table sample of target "t", database "d", table public."Message" carries.
const std::string kTable = R"({target="t",datname="d",schemaname="public",relname="Message")";

std::string lines(const Fragments& f, Family family) { return f.text(family); }

std::string escaped(std::string_view v) {
  std::string out;
  append_escaped(out, v);
  return out;
}

std::string value_text(std::int64_t v) {
  std::string out;
  append_value(out, v);
  return out;
}

std::string value_text(double v) {
  std::string out;
  append_value(out, v);
  return out;
}

TableStats full_table() {
  TableStats t;
  t.schemaname = "public";
  t.relname = "Message";
  t.live_tuples = 900;
  t.dead_tuples = 100;
  t.mod_since_analyze = 42;
  t.seq_scans = 7;
  t.index_scans = 8;
  t.last_vacuum = 1700000001.5;
  t.last_autovacuum = 1700000002.25;
  t.last_analyze = 1700000003.0;
  t.last_autoanalyze = 1700000004.125;
  t.vacuum_count = 1;
  t.autovacuum_count = 2;
  t.analyze_count = 3;
  t.autoanalyze_count = 4;
  t.size_bytes = 8192;
  return t;
}

// A table of which only the name and n_live_tup are known.
TableStats live_only(std::string relname, std::int64_t live) {
  TableStats t;
  t.schemaname = "public";
  t.relname = std::move(relname);
  t.live_tuples = live;
  return t;
}

TableIo full_io() {
  TableIo t;
  t.schemaname = "public";
  t.relname = "Message";
  t.heap_blks_read = 10;
  t.heap_blks_hit = 90;
  t.idx_blks_read = 11;
  t.idx_blks_hit = 91;
  t.toast_blks_read = 12;
  t.toast_blks_hit = 92;
  t.tidx_blks_read = 13;
  t.tidx_blks_hit = 93;
  return t;
}

IndexStats index_row(std::string name, std::int64_t scans, bool enforces_constraint) {
  IndexStats i;
  i.schemaname = "public";
  i.relname = "Message";
  i.indexrelname = std::move(name);
  i.scans = scans;
  i.tuples_read = 6;
  i.tuples_fetched = 7;
  i.size_bytes = 16384;
  i.enforces_constraint = enforces_constraint;
  return i;
}

VacuumProgress running_vacuum(std::string relname, std::string by, std::int64_t total, std::int64_t scanned,
                              double seconds) {
  VacuumProgress v;
  v.pid = 4242;
  v.schemaname = "public";
  v.relname = std::move(relname);
  v.by = std::move(by);
  v.phase = "scanning heap";
  v.heap_blks_total = total;
  v.heap_blks_scanned = scanned;
  v.running_seconds = seconds;
  return v;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

// --- append_escaped / append_value ----------------------------------------------------------------------

TEST_CASE("label values escape backslash, double quote and newline", "[exposition]") {
  CHECK(escaped(R"(C:\temp)") == R"(C:\\temp)");
  CHECK(escaped(R"(say "hi")") == R"(say \"hi\")");
  CHECK(escaped("two\nlines") == R"(two\nlines)");
  CHECK(escaped("\\\"\n") == R"(\\\"\n)");
}

TEST_CASE("label values keep every other character as it is", "[exposition]") {
  const std::string plain = "tab\there, cr\r, 'single', dots.and spaces, {braces}=, Größe 表 🐘";
  CHECK(escaped(plain) == plain);
  CHECK(escaped("") == "");
}

TEST_CASE("append_escaped appends to what is already there", "[exposition]") {
  std::string out = "x=\"";
  append_escaped(out, "a\"b");
  CHECK(out == R"(x="a\"b)");
}

TEST_CASE("integer values print exactly", "[exposition]") {
  CHECK(value_text(std::int64_t{0}) == "0");
  CHECK(value_text(std::int64_t{8192}) == "8192");
  CHECK(value_text(std::numeric_limits<std::int64_t>::max()) == "9223372036854775807");
  CHECK(value_text(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
}

TEST_CASE("double values print in shortest round-trip form", "[exposition]") {
  CHECK(value_text(0.1) == "0.1");
  CHECK(value_text(0.75) == "0.75");
  CHECK(value_text(1.0 / 3.0) == "0.3333333333333333");
  CHECK(value_text(1700000002.25) == "1700000002.25");
  CHECK(value_text(0.0) == "0");
  CHECK(value_text(1.0) == "1");
  CHECK(value_text(std::nan("")) == "NaN");
}

TEST_CASE("double values read back as the same double", "[exposition]") {
  const double v = GENERATE(0.1, 2.0 / 3.0, 1e-7, 0.999999999999, 123456789.123456789, 1700000000.000001,
                            std::numeric_limits<double>::min(), std::numeric_limits<double>::max());
  const std::string text = value_text(v);
  INFO(text);
  CHECK(text.find(' ') == std::string::npos);
  CHECK(std::stod(text) == v);
}

// --- render_tables ---------------------------------------------------------------------------------------

TEST_CASE("render_tables writes one exact line per known value", "[exposition]") {
  const Fragments f = render_tables("t", "d", {full_table()});
  CHECK(lines(f, Family::kTableLiveTuples) == "pghealthd_table_live_tuples" + kTable + "} 900\n");
  CHECK(lines(f, Family::kTableDeadTuples) == "pghealthd_table_dead_tuples" + kTable + "} 100\n");
  CHECK(
      lines(f, Family::kTableDeadTupleRatio) ==
      R"(pghealthd_table_dead_tuple_ratio{target="t",datname="d",schemaname="public",relname="Message"} 0.1)"
      "\n");
  CHECK(lines(f, Family::kTableModifiedSinceAnalyze) ==
        "pghealthd_table_modified_since_analyze_tuples" + kTable + "} 42\n");
  CHECK(lines(f, Family::kTableSeqScans) == "pghealthd_table_seq_scans_total" + kTable + "} 7\n");
  CHECK(lines(f, Family::kTableIndexScans) == "pghealthd_table_index_scans_total" + kTable + "} 8\n");
  CHECK(lines(f, Family::kTableSizeBytes) == "pghealthd_table_size_bytes" + kTable + "} 8192\n");
  CHECK(lines(f, Family::kTableLastVacuum) ==
        "pghealthd_table_last_vacuum_timestamp_seconds" + kTable + ",kind=\"manual\"} 1700000001.5\n" +
            "pghealthd_table_last_vacuum_timestamp_seconds" + kTable + ",kind=\"auto\"} 1700000002.25\n");
  CHECK(lines(f, Family::kTableLastAnalyze) ==
        "pghealthd_table_last_analyze_timestamp_seconds" + kTable + ",kind=\"manual\"} 1700000003\n" +
            "pghealthd_table_last_analyze_timestamp_seconds" + kTable + ",kind=\"auto\"} 1700000004.125\n");
  CHECK(lines(f, Family::kTableVacuums) == "pghealthd_table_vacuums_total" + kTable +
                                               ",kind=\"manual\"} 1\n" + "pghealthd_table_vacuums_total" +
                                               kTable + ",kind=\"auto\"} 2\n");
  CHECK(lines(f, Family::kTableAnalyzes) == "pghealthd_table_analyzes_total" + kTable +
                                                ",kind=\"manual\"} 3\n" + "pghealthd_table_analyzes_total" +
                                                kTable + ",kind=\"auto\"} 4\n");
  // reltuples unknown counts as 0: autovacuum's threshold is 50 + 0.2 x 0, and 100 dead rows are twice that.
  CHECK(lines(f, Family::kTableAutovacuumThreshold) ==
        "pghealthd_table_autovacuum_threshold_tuples" + kTable + "} 50\n");
  CHECK(lines(f, Family::kTableAutovacuumDueRatio) == "pghealthd_table_autovacuum_due_ratio" + kTable + "} 2\n");
  // Table rows never produce table-I/O or index series.
  CHECK(lines(f, Family::kTableBlocksHit).empty());
  CHECK(lines(f, Family::kIndexScans).empty());
}

TEST_CASE("render_tables leaves out the series of NULL values", "[exposition]") {
  TableStats t = live_only("Message", 5);
  t.last_autovacuum = 1700000002.25;  // autovacuumed, never vacuumed by hand
  const Fragments f = render_tables("t", "d", {t});
  CHECK(lines(f, Family::kTableLiveTuples) == "pghealthd_table_live_tuples" + kTable + "} 5\n");
  CHECK(lines(f, Family::kTableLastVacuum) ==
        "pghealthd_table_last_vacuum_timestamp_seconds" + kTable + ",kind=\"auto\"} 1700000002.25\n");
  CHECK(lines(f, Family::kTableDeadTuples).empty());
  CHECK(lines(f, Family::kTableDeadTupleRatio).empty());  // dead is NULL: no ratio, not 0
  CHECK(lines(f, Family::kTableIndexScans).empty());      // a table without indexes
  CHECK(lines(f, Family::kTableLastAnalyze).empty());
  CHECK(lines(f, Family::kTableVacuums).empty());
  CHECK(lines(f, Family::kTableSizeBytes).empty());
  CHECK(lines(f, Family::kTableAutovacuumDueRatio).empty());  // dead is NULL: no due ratio either
}

TEST_CASE("render_tables escapes label values", "[exposition]") {
  TableStats t = live_only("say \"hi\"\nC:\\x", 1);
  t.schemaname = "my schema";
  const Fragments f = render_tables("prod \"eu\"", "db\\1", {t});
  CHECK(lines(f, Family::kTableLiveTuples) ==
        R"(pghealthd_table_live_tuples{target="prod \"eu\"",datname="db\\1",schemaname="my schema",)"
        R"(relname="say \"hi\"\nC:\\x"} 1)"
        "\n");
}

TEST_CASE("render_tables writes rows in the order given", "[exposition]") {
  const Fragments f = render_tables("t", "d", {live_only("b", 2), live_only("a", 1)});
  CHECK(lines(f, Family::kTableLiveTuples) ==
        R"(pghealthd_table_live_tuples{target="t",datname="d",schemaname="public",relname="b"} 2)"
        "\n"
        R"(pghealthd_table_live_tuples{target="t",datname="d",schemaname="public",relname="a"} 1)"
        "\n");
}

TEST_CASE("render_tables of no rows renders nothing", "[exposition]") {
  const Fragments f = render_tables("t", "d", {});
  CHECK(f.bytes() == 0);
}

// --- render_table_io -------------------------------------------------------------------------------------

TEST_CASE("render_table_io writes hits and reads per area and the heap cache hit ratio", "[exposition]") {
  const Fragments f = render_table_io("t", "d", {full_io()});
  const std::string hit = "pghealthd_table_blocks_hit_total" + kTable;
  const std::string read = "pghealthd_table_blocks_read_total" + kTable;
  CHECK(lines(f, Family::kTableBlocksHit) == hit + ",area=\"heap\"} 90\n" + hit + ",area=\"index\"} 91\n" +
                                                 hit + ",area=\"toast\"} 92\n" + hit +
                                                 ",area=\"toast_index\"} 93\n");
  CHECK(lines(f, Family::kTableBlocksRead) == read + ",area=\"heap\"} 10\n" + read + ",area=\"index\"} 11\n" +
                                                  read + ",area=\"toast\"} 12\n" + read +
                                                  ",area=\"toast_index\"} 13\n");
  CHECK(lines(f, Family::kTableCacheHitRatio) == "pghealthd_table_cache_hit_ratio" + kTable + "} 0.9\n");
  CHECK(lines(f, Family::kTableLiveTuples).empty());
}

TEST_CASE("render_table_io leaves out areas a table does not have", "[exposition]") {
  TableIo t = full_io();
  t.toast_blks_read = t.toast_blks_hit = t.tidx_blks_read = t.tidx_blks_hit = std::nullopt;
  t.idx_blks_read = t.idx_blks_hit = std::nullopt;
  const Fragments f = render_table_io("t", "d", {t});
  CHECK(lines(f, Family::kTableBlocksHit) ==
        "pghealthd_table_blocks_hit_total" + kTable + ",area=\"heap\"} 90\n");
  CHECK(lines(f, Family::kTableBlocksRead) ==
        "pghealthd_table_blocks_read_total" + kTable + ",area=\"heap\"} 10\n");
}

TEST_CASE("render_table_io has no cache hit ratio for a table never read", "[exposition]") {
  TableIo t = full_io();
  t.heap_blks_hit = 0;
  t.heap_blks_read = 0;
  const Fragments f = render_table_io("t", "d", {t});
  CHECK(lines(f, Family::kTableCacheHitRatio).empty());
  CHECK_THAT(lines(f, Family::kTableBlocksHit), Catch::Contains(",area=\"heap\"} 0\n"));  // the counters stay
}

// --- render_indexes --------------------------------------------------------------------------------------

// Statistics reset 30 days before the server's now: old enough to judge an index unused.
pghealthd::model::DatabaseStatistics month_old_statistics() {
  pghealthd::model::DatabaseStatistics s;
  s.reset_timestamp = 1700000000;
  s.server_now = 1700000000 + 30 * 86400.0;
  s.transactions = 10;
  return s;
}

TEST_CASE("render_indexes writes exact lines with the index label", "[exposition]") {
  const Fragments f = render_indexes(
      "t", "d", {index_row("Message_pkey", 0, true), index_row("Message_sent_at_idx", 0, false)},
      month_old_statistics());
  const std::string pkey =
      R"({target="t",datname="d",schemaname="public",relname="Message",indexrelname="Message_pkey"} )";
  const std::string sent =
      R"({target="t",datname="d",schemaname="public",relname="Message",indexrelname="Message_sent_at_idx"} )";
  CHECK(lines(f, Family::kIndexScans) ==
        "pghealthd_index_scans_total" + pkey + "0\n" + "pghealthd_index_scans_total" + sent + "0\n");
  CHECK(lines(f, Family::kIndexTuplesRead) == "pghealthd_index_tuples_read_total" + pkey + "6\n" +
                                                  "pghealthd_index_tuples_read_total" + sent + "6\n");
  CHECK(lines(f, Family::kIndexTuplesFetched) == "pghealthd_index_tuples_fetched_total" + pkey + "7\n" +
                                                     "pghealthd_index_tuples_fetched_total" + sent + "7\n");
  CHECK(lines(f, Family::kIndexSizeBytes) ==
        "pghealthd_index_size_bytes" + pkey + "16384\n" + "pghealthd_index_size_bytes" + sent + "16384\n");
  // Never scanned: the primary key still matters, the plain index is unused.
  CHECK(lines(f, Family::kIndexUnused) ==
        "pghealthd_index_unused" + pkey + "0\n" + "pghealthd_index_unused" + sent + "1\n");
  CHECK(lines(f, Family::kIndexValid) == "pghealthd_index_valid" + pkey + "1\n" + "pghealthd_index_valid" + sent + "1\n");
  CHECK(lines(f, Family::kIndexRedundant).empty());
  CHECK(lines(f, Family::kIndexLastScan).empty());  // before 16, or never scanned
  CHECK(lines(f, Family::kDatabaseStatsReset) ==
        "pghealthd_database_stats_reset_timestamp_seconds{target=\"t\",datname=\"d\"} 1700000000\n");
  CHECK(lines(f, Family::kTableLiveTuples).empty());
}

TEST_CASE("render_indexes: no unused verdict on young or never-reset statistics, until pghealthd watched long enough",
          "[exposition]") {
  auto young = month_old_statistics();
  young.server_now = *young.reset_timestamp + 3600;  // an hour after a reset (or a restore)
  const auto idx = index_row("Message_sent_at_idx", 0, false);
  CHECK(lines(render_indexes("t", "d", {idx}, young), Family::kIndexUnused).find("} 0\n") != std::string::npos);
  pghealthd::model::DatabaseStatistics never;  // never reset, first read by pghealthd just now
  never.watched_since =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto f = render_indexes("t", "d", {idx}, never);
  CHECK(lines(f, Family::kIndexUnused).find("} 0\n") != std::string::npos);
  CHECK(lines(f, Family::kDatabaseStatsReset).empty());  // never reset: absent, not 0
  never.watched_since = *never.watched_since - 8 * 86400.0;  // watched unbroken for 8 days
  CHECK(lines(render_indexes("t", "d", {idx}, never), Family::kIndexUnused).find("} 1\n") != std::string::npos);
  pghealthd::metrics::SeriesFilter at_once;
  at_once.unused_min_stats_age_seconds = 0;
  CHECK(lines(render_indexes("t", "d", {idx}, young, at_once), Family::kIndexUnused).find("} 1\n") !=
        std::string::npos);
}

TEST_CASE("render_indexes: invalid, building, redundant (hostile covered_by escaped) and last scan", "[exposition]") {
  auto invalid = index_row("left_behind", 0, false);
  invalid.valid = false;
  auto building = index_row("being_built", 0, false);
  building.valid = false;
  building.building = true;
  auto dup = index_row("dup", 3, false);
  dup.redundant_kind = "duplicate";
  dup.covered_by = "we\"ird\\name";
  dup.last_scan = 1700000123.5;
  const auto f = render_indexes("t", "d", {invalid, building, dup}, month_old_statistics());
  const std::string base = R"({target="t",datname="d",schemaname="public",relname="Message",indexrelname=")";
  CHECK(lines(f, Family::kIndexValid) == "pghealthd_index_valid" + base + "left_behind\"} 0\n" +
                                             "pghealthd_index_valid" + base + "being_built\"} 1\n" +
                                             "pghealthd_index_valid" + base + "dup\"} 1\n");
  CHECK(lines(f, Family::kIndexRedundant) ==
        "pghealthd_index_redundant" + base + R"(dup",kind="duplicate",covered_by="we\"ird\\name"} 1)" + "\n");
  CHECK(lines(f, Family::kIndexLastScan) == "pghealthd_index_last_scan_timestamp_seconds" + base + "dup\"} 1700000123.5\n");
}

TEST_CASE("a target's constant labels follow target on every series it renders", "[exposition]") {
  pghealthd::metrics::SeriesFilter f;
  f.constant_labels = pghealthd::metrics::constant_labels_block({{"cluster", "orders"}, {"env", "pr\"od"}});
  CHECK(f.constant_labels == R"(,cluster="orders",env="pr\"od")");
  const auto idx = render_indexes("t", "d", {index_row("i", 1, false)}, month_old_statistics(), f);
  CHECK(lines(idx, Family::kIndexScans).rfind(
            R"(pghealthd_index_scans_total{target="t",cluster="orders",env="pr\"od",datname="d",schemaname="public")", 0) == 0);
  CHECK(lines(idx, Family::kDatabaseStatsReset).rfind(
            R"(pghealthd_database_stats_reset_timestamp_seconds{target="t",cluster="orders",env="pr\"od",datname="d"} )", 0) == 0);
  pghealthd::model::SequenceState q;
  q.schemaname = "public";
  q.sequencename = "s";
  q.last_value = 10;
  const auto seq = pghealthd::metrics::render_sequences("t", "d", {q}, f);
  CHECK(lines(seq, Family::kSequenceUsedRatio).rfind(
            R"(pghealthd_sequence_used_ratio{target="t",cluster="orders",env="pr\"od",datname="d",schemaname="public",sequencename="s"} )", 0) == 0);
}

TEST_CASE("render_sequences: a ratio per readable sequence, the unreadable counted, hostile names escaped",
          "[exposition]") {
  pghealthd::model::SequenceState serial;
  serial.schemaname = "public";
  serial.sequencename = "Order\"s id_seq";
  serial.column_type = "integer";
  serial.max_value = 2147483647;
  serial.last_value = 2147483647 - 1;
  pghealthd::model::SequenceState hidden = serial;
  hidden.sequencename = "secret_seq";
  hidden.readable = false;
  const auto f = pghealthd::metrics::render_sequences("t", "d", {serial, hidden, hidden});
  CHECK(lines(f, Family::kSequenceUsedRatio) ==
        R"(pghealthd_sequence_used_ratio{target="t",datname="d",schemaname="public",sequencename="Order\"s id_seq"} )" +
            std::string("0.9999999995343387\n"));
  CHECK(lines(f, Family::kSequencesUnreadable) == "pghealthd_sequences_unreadable{target=\"t\",datname=\"d\"} 2\n");
  CHECK(f.series == 2);
}

TEST_CASE("render_indexes leaves out the series of NULL values", "[exposition]") {
  IndexStats i = index_row("Message_pkey", 0, false);
  i.scans = std::nullopt;
  i.tuples_fetched = std::nullopt;
  const Fragments f = render_indexes("t", "d", {i});
  CHECK(lines(f, Family::kIndexScans).empty());
  CHECK(lines(f, Family::kIndexTuplesFetched).empty());
  CHECK(lines(f, Family::kIndexUnused).empty());  // unknown scans: unknown whether unused
  CHECK_FALSE(lines(f, Family::kIndexTuplesRead).empty());
  CHECK_FALSE(lines(f, Family::kIndexSizeBytes).empty());
}

// --- render_vacuum_progress -----------------------------------------------------------------------------

TEST_CASE("render_vacuum_progress writes each running vacuum's ratio and age with by and phase", "[exposition]") {
  const Fragments f = render_vacuum_progress(
      "t", "d", {running_vacuum("Message", "autovacuum", 400, 100, 90.5), running_vacuum("audit", "other", 3, 2, 1)});
  const std::string message =
      R"({target="t",datname="d",schemaname="public",relname="Message",by="autovacuum",phase="scanning heap"} )";
  const std::string audit =
      R"({target="t",datname="d",schemaname="public",relname="audit",by="other",phase="scanning heap"} )";
  CHECK(lines(f, Family::kVacuumProgressRatio) == "pghealthd_vacuum_progress_ratio" + message + "0.25\n" +
                                                      "pghealthd_vacuum_progress_ratio" + audit +
                                                      value_text(2.0 / 3.0) + "\n");
  CHECK(lines(f, Family::kVacuumProgressSeconds) == "pghealthd_vacuum_progress_seconds" + message + "90.5\n" +
                                                        "pghealthd_vacuum_progress_seconds" + audit + "1\n");
  CHECK(f.series == 4);
  CHECK(f.dropped == 0);
}

TEST_CASE("render_vacuum_progress has no ratio when the heap total is 0 or unknown", "[exposition]") {
  VacuumProgress unknown = running_vacuum("b", "pghealthd", 0, 0, 2);
  unknown.heap_blks_total = std::nullopt;
  unknown.heap_blks_scanned = std::nullopt;
  const Fragments f = render_vacuum_progress("t", "d", {running_vacuum("a", "pghealthd", 0, 0, 2), unknown});
  CHECK(lines(f, Family::kVacuumProgressRatio).empty());
  CHECK(count(lines(f, Family::kVacuumProgressSeconds), "pghealthd_vacuum_progress_seconds{") == 2);
}

TEST_CASE("render_vacuum_progress of no running vacuum renders nothing", "[exposition]") {
  const Fragments f = render_vacuum_progress("t", "d", {});
  CHECK(f.series == 0);
  CHECK(f.bytes() == 0);
  std::string out;
  write_families(out, {&f});
  CHECK(out.empty());
}

TEST_CASE("render_vacuum_progress escapes names and phase, and is not cut by the series budget", "[exposition]") {
  VacuumProgress v = running_vacuum("ünï \"cødé\"\nx\\y", "other", 10, 5, 1);
  v.schemaname = "S\"c";
  v.phase = "a \"new\"\nphase";
  pghealthd::metrics::SeriesFilter tight;
  tight.budget = 1;
  tight.others_exported = tight.others_wanted = 1;
  const Fragments f = render_vacuum_progress("t", "d", {v}, tight);
  CHECK(lines(f, Family::kVacuumProgressRatio) ==
        R"(pghealthd_vacuum_progress_ratio{target="t",datname="d",schemaname="S\"c",relname="ünï \"cødé\"\nx\\y",)"
        R"(by="other",phase="a \"new\"\nphase"} 0.5)"
        "\n");
  CHECK(f.series == 2);
  CHECK(f.dropped == 0);
}

// --- write_families --------------------------------------------------------------------------------------

TEST_CASE("write_families writes HELP and TYPE once above the samples of every database", "[exposition]") {
  const Fragments a = render_tables("t", "a", {live_only("Message", 10)});
  const Fragments b = render_tables("t", "b", {live_only("Message", 20)});
  std::string out;
  write_families(out, {&a, &b});
  CHECK(out ==
        "# HELP pghealthd_table_live_tuples Estimated live rows (pg_stat_user_tables.n_live_tup).\n"
        "# TYPE pghealthd_table_live_tuples gauge\n"
        R"(pghealthd_table_live_tuples{target="t",datname="a",schemaname="public",relname="Message"} 10)"
        "\n"
        R"(pghealthd_table_live_tuples{target="t",datname="b",schemaname="public",relname="Message"} 20)"
        "\n"
        "# HELP pghealthd_table_autovacuum_threshold_tuples Dead rows above which autovacuum vacuums the table: "
        "threshold + scale_factor * reltuples, the table's reloptions overriding the server settings; absent "
        "where autovacuum is off or for partitioned parents.\n"
        "# TYPE pghealthd_table_autovacuum_threshold_tuples gauge\n"
        R"(pghealthd_table_autovacuum_threshold_tuples{target="t",datname="a",schemaname="public",)"
        R"(relname="Message"} 50)"
        "\n"
        R"(pghealthd_table_autovacuum_threshold_tuples{target="t",datname="b",schemaname="public",)"
        R"(relname="Message"} 50)"
        "\n" +
            pghealthd::metrics::family_header(static_cast<std::size_t>(Family::kTableAutovacuumEnabled)) +
            R"(pghealthd_table_autovacuum_enabled{target="t",datname="a",schemaname="public",relname="Message"} 1)"
            "\n"
            R"(pghealthd_table_autovacuum_enabled{target="t",datname="b",schemaname="public",relname="Message"} 1)"
            "\n" +
            pghealthd::metrics::family_header(static_cast<std::size_t>(Family::kAutovacuumEnabled)) +
            R"(pghealthd_autovacuum_enabled{target="t",datname="a"} 1)"
            "\n"
            R"(pghealthd_autovacuum_enabled{target="t",datname="b"} 1)"
            "\n");
}

TEST_CASE("write_families groups every family's samples under its own header", "[exposition]") {
  const Fragments tables_a = render_tables("t", "a", {full_table()});
  TableStats on_18 = full_table();  // with the columns of PostgreSQL 16 and 18
  on_18.last_seq_scan = 1700000005.0;
  on_18.vacuum_time_ms = 1500;
  on_18.autovacuum_time_ms = 2500;
  on_18.analyze_time_ms = 300;
  on_18.autoanalyze_time_ms = 400;
  on_18.dead_ratio_peak = 0.2;  // seen over two collections
  on_18.ins_since_vacuum = 10;  // 13+: the insert trigger
  on_18.autovacuum.edit().insert_threshold = 1000;
  const Fragments tables_b = render_tables("t", "b", {on_18, live_only("Other", 3)});
  const Fragments io_a = render_table_io("t", "a", {full_io()});
  auto redundant = index_row("Message_id_idx", 0, false);
  redundant.redundant_kind = "duplicate";
  redundant.covered_by = "Message_pkey";
  redundant.last_scan = 1700000000;
  const Fragments indexes_b =
      render_indexes("t", "b", {index_row("Message_pkey", 5, true), redundant}, month_old_statistics());
  pghealthd::model::SequenceState seq;
  seq.schemaname = "public";
  seq.sequencename = "Message_id_seq";
  const Fragments sequences_a = render_sequences("t", "a", {seq});
  const Fragments horizon_a = render_horizon("t", "a", {});
  const Fragments vacuums_b = render_vacuum_progress("t", "b", {running_vacuum("Message", "autovacuum", 10, 5, 3)});
  pghealthd::model::FreezeAge aged;
  aged.schemaname = "public";
  aged.relname = "Message";
  aged.xid_age = 1000;
  aged.mxid_age = 10;
  const Fragments freeze_a = render_freeze("t", "a", {aged}, {{"a", 2000, 20}});
  pghealthd::model::RelationBloat heap, index;
  heap.schemaname = index.schemaname = "public";
  heap.relname = index.relname = "Message";
  index.index = true;
  index.indexrelname = "Message_pkey";
  const Fragments bloat_b = render_bloat("t", "b", {heap, index}, pghealthd::model::ExactAvailability::kAvailable);
  std::string out;
  write_families(out,
                 {&tables_a, &io_a, &tables_b, &indexes_b, &horizon_a, &vacuums_b, &freeze_a, &sequences_a, &bloat_b});

  std::map<std::string, int> help, type, samples;
  std::string current;  // the family of the last TYPE line
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0) {
      ++help[line.substr(7, line.find(' ', 7) - 7)];
    } else if (line.rfind("# TYPE ", 0) == 0) {
      const auto name_end = line.find(' ', 7);
      current = line.substr(7, name_end - 7);
      ++type[current];
      const std::string kind = line.substr(name_end + 1);
      CHECK((kind == "gauge" || kind == "counter"));
      // A counter's name ends in _total; a gauge's does not.
      CHECK((kind == "counter") == (current.size() > 6 && current.substr(current.size() - 6) == "_total"));
    } else {
      const std::string name = line.substr(0, line.find('{'));
      CHECK(name == current);  // a sample outside its family's block would break the exposition format
      ++samples[name];
    }
  }
  CHECK(samples.size() == pghealthd::metrics::kFamilyCount);  // every family has samples here
  for (const auto& [name, n] : samples) {
    INFO(name);
    CHECK(help[name] == 1);
    CHECK(type[name] == 1);
  }
  CHECK(samples["pghealthd_table_live_tuples"] == 3);  // Message in a and b, Other in b
  CHECK(samples["pghealthd_table_blocks_hit_total"] == 4);
  CHECK(samples["pghealthd_index_unused"] == 2);  // both indexes of b
  CHECK(samples["pghealthd_index_redundant"] == 1);
  CHECK(samples["pghealthd_table_autovacuum_threshold_tuples"] == 3);
  CHECK(samples["pghealthd_xmin_horizon_age_transactions"] == 4);  // one per source
  CHECK(samples["pghealthd_vacuum_progress_ratio"] == 1);
}

TEST_CASE("bloat: the exact reading beside the estimate, alone where there is no estimate, and whether exact "
          "readings are available",
          "[exposition][bloat]") {
  using pghealthd::model::ExactAvailability;
  using pghealthd::model::ExactBloat;
  using pghealthd::model::RelationBloat;
  using pghealthd::model::Unestimated;
  RelationBloat both, exact_only, estimate_only, neither;
  for (auto* b : {&both, &exact_only, &estimate_only, &neither}) b->schemaname = "public";
  both.relname = "Message";
  both.estimate.ratio = 0.5;
  both.estimate.wasted_bytes = 8192;
  both.exact = ExactBloat{0.25, 4096, 1700000000};
  exact_only.relname = "Message";
  exact_only.index = true;
  exact_only.indexrelname = "Message_pkey";
  exact_only.estimate.unestimated = Unestimated::kNoStatistics;
  exact_only.exact = ExactBloat{0.125, 2048, 1700000000};
  estimate_only.relname = "Other";
  neither.relname = "Hidden";
  neither.estimate.unestimated = Unestimated::kNeverAnalyzed;
  const std::vector<RelationBloat> relations{both, exact_only, estimate_only, neither};

  const Fragments f = render_bloat("t", "d", relations, ExactAvailability::kAvailable);
  const std::string other = R"({target="t",datname="d",schemaname="public",relname="Other")";
  CHECK(lines(f, Family::kTableBloatRatio) ==
        "pghealthd_table_bloat_ratio" + kTable + ",method=\"estimate\"} 0.5\n" +
        "pghealthd_table_bloat_ratio" + kTable + ",method=\"exact\"} 0.25\n" +
        "pghealthd_table_bloat_ratio" + other + ",method=\"estimate\"} 0\n");
  CHECK(lines(f, Family::kTableBloatBytes) ==
        "pghealthd_table_bloat_bytes" + kTable + ",method=\"estimate\"} 8192\n" +
        "pghealthd_table_bloat_bytes" + kTable + ",method=\"exact\"} 4096\n" +
        "pghealthd_table_bloat_bytes" + other + ",method=\"estimate\"} 0\n");
  const std::string pkey = kTable + R"(,indexrelname="Message_pkey")";
  CHECK(lines(f, Family::kIndexBloatRatio) == "pghealthd_index_bloat_ratio" + pkey + ",method=\"exact\"} 0.125\n");
  CHECK(lines(f, Family::kIndexBloatBytes) == "pghealthd_index_bloat_bytes" + pkey + ",method=\"exact\"} 2048\n");
  CHECK(lines(f, Family::kBloatExactAvailable) == "pghealthd_bloat_exact_available{target=\"t\",datname=\"d\"} 1\n");
  CHECK_THAT(lines(f, Family::kBloatUnestimated), Catch::Contains(",reason=\"no_statistics\"} 1\n"));
  CHECK_THAT(lines(f, Family::kBloatUnestimated), Catch::Contains(",reason=\"never_analyzed\"} 1\n"));
  CHECK(f.per_database == 6);  // five reasons and availability: never cut

  // Missing or not permitted: 0. bloat.exact off: no such series at all.
  CHECK(lines(render_bloat("t", "d", relations, ExactAvailability::kMissing), Family::kBloatExactAvailable) ==
        "pghealthd_bloat_exact_available{target=\"t\",datname=\"d\"} 0\n");
  CHECK(lines(render_bloat("t", "d", relations, ExactAvailability::kNotPermitted), Family::kBloatExactAvailable) ==
        "pghealthd_bloat_exact_available{target=\"t\",datname=\"d\"} 0\n");
  CHECK(lines(render_bloat("t", "d", relations), Family::kBloatExactAvailable).empty());
}

TEST_CASE("bloat over the series budget keeps the most wasted bytes, by either method", "[exposition][bloat]") {
  using pghealthd::model::ExactBloat;
  using pghealthd::model::RelationBloat;
  RelationBloat small_estimate, big_exact;
  small_estimate.schemaname = big_exact.schemaname = "public";
  small_estimate.relname = "small";
  small_estimate.estimate.wasted_bytes = 8192;
  big_exact.relname = "big";
  big_exact.estimate.unestimated = pghealthd::model::Unestimated::kStaleStatistics;
  big_exact.exact = ExactBloat{0.9, 1e9, 1700000000};
  pghealthd::metrics::SeriesFilter filter;
  filter.budget = 3;  // room for one relation's two series, not both relations' four
  const Fragments f = render_bloat("t", "d", {small_estimate, big_exact}, std::nullopt, filter);
  CHECK(f.dropped == 2);
  CHECK_THAT(lines(f, Family::kTableBloatRatio), Catch::Contains("relname=\"big\",method=\"exact\""));
  CHECK(lines(f, Family::kTableBloatRatio).find("small") == std::string::npos);
}

TEST_CASE("write_families leaves out families without samples", "[exposition]") {
  const Fragments a = render_tables("t", "a", {live_only("Message", 10)});
  const Fragments empty = render_indexes("t", "a", {});
  std::string out;
  write_families(out, {&a, &empty});
  // Live rows, autovacuum's threshold (known without n_dead_tup) and its switches; nothing else.
  CHECK(count(out, "# HELP ") == 4);
  CHECK(count(out, "# TYPE ") == 4);
  CHECK(out.find("# HELP pghealthd_table_autovacuum_enabled ") != std::string::npos);
  CHECK(out.find("# HELP pghealthd_autovacuum_enabled ") != std::string::npos);
  CHECK(out.find("# HELP pghealthd_table_autovacuum_threshold_tuples ") != std::string::npos);
  CHECK(out.find("pghealthd_table_autovacuum_due_ratio") == std::string::npos);
  CHECK(out.find("pghealthd_index_") == std::string::npos);
  CHECK(out.find("pghealthd_table_dead_tuples") == std::string::npos);
}

TEST_CASE("write_families of nothing writes nothing", "[exposition]") {
  std::string out;
  write_families(out, {});
  CHECK(out.empty());
  const Fragments empty{};
  write_families(out, {&empty, &empty});
  CHECK(out.empty());
}

TEST_CASE("write_families appends after what is already in the buffer", "[exposition]") {
  const Fragments a = render_tables("t", "a", {live_only("Message", 10)});
  std::string out = "# self metrics\n";
  write_families(out, {&a});
  CHECK(out.rfind("# self metrics\n# HELP pghealthd_table_live_tuples ", 0) == 0);
}

TEST_CASE("Fragments::bytes counts every rendered character", "[exposition]") {
  const Fragments f = render_tables("t", "d", {live_only("Message", 5)});
  const std::string live = "pghealthd_table_live_tuples" + kTable + "} 5\n";
  const std::string threshold = "pghealthd_table_autovacuum_threshold_tuples" + kTable + "} 50\n";
  const std::string enabled = "pghealthd_table_autovacuum_enabled" + kTable + "} 1\n";
  const std::string server = "pghealthd_autovacuum_enabled{target=\"t\",datname=\"d\"} 1\n";
  CHECK(f.bytes() == live.size() + threshold.size() + enabled.size() + server.size());
}
