// Bloat you can trust (issue 15), on a real server: the statistics-based estimate of a table and its btree
// indexes against pgstattuple's exact reading, fresh and after 75% of the rows were deleted; and a
// pg_monitor-only role, which sees no pg_stats rows, gets no number but the reason. The exact method
// (bloat.exact): its numbers are pgstattuple's, a database without the extension or the grant says so once,
// a locked relation is skipped after bloat.lock_timeout, and a tiny budget goes round robin over the runs.
#include <catch2/catch.hpp>

#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;

namespace {

std::string config_for(const std::string& conninfo) {
  return "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + conninfo + "\"\n"
         "collectors:\n"
         "  bloat: { interval: 500ms }\n";
}

double number(const std::string& s) { return std::stod(s); }

// bloat.exact on for every relation (exact_min_size_bytes 0), the bloat collector every `interval`, debug
// logs (each exact pass logs a line).
std::string exact_config(const std::string& conninfo, const std::string& interval, const std::string& budget,
                         const std::string& extra = "") {
  return "log_level: debug\n"
         "targets:\n"
         "  - name: t\n"
         "    conninfo: \"" + conninfo + "\"\n"
         "collectors:\n"
         "  bloat: { interval: " + interval + " }\n"
         "bloat:\n"
         "  exact: true\n"
         "  exact_min_size_bytes: 0\n"
         "  exact_budget: " + budget + "\n" + extra;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The debug line of every exact pass so far, in order.
std::vector<std::string> exact_passes(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("exact bloat pass target=") != std::string::npos) out.push_back(line);
  return out;
}

// A `key=N` field of a log line.
long field(const std::string& line, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(" " + key + "=([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

std::optional<double> exact(const Scrape& s, const std::string& family, const std::string& label,
                            const std::string& name) {
  return s.value(family, {{label, name}, {"method", "exact"}});
}

}  // namespace

TEST_CASE("the bloat estimate of a table and its btree indexes follows pgstattuple within 15 points") {
  Cluster pg;
  pg.exec("CREATE EXTENSION pgstattuple;\n"
          "CREATE TABLE orders (id int PRIMARY KEY, pad text, note text);\n"
          "CREATE INDEX orders_pad ON orders (pad);");
  pg.exec("INSERT INTO orders SELECT g, md5(g::text), CASE WHEN g % 3 = 0 THEN NULL ELSE repeat('x', g % 50) END "
          "FROM generate_series(1, 200000) g;");
  auto stat = [&](const std::string& column) {
    return pg.scalar("SELECT " + column + " FROM pg_stat_user_tables WHERE relname = 'orders'");
  };
  REQUIRE(eventually([&] { return stat("n_tup_ins") == "200000"; }));
  pg.exec("ANALYZE orders;");
  REQUIRE(eventually([&] { return stat("n_mod_since_analyze") == "0"; }));

  // An index's waste past its fill factor (90): 1 - leaf density / 90%.
  auto exact_index = [&](const std::string& index) {
    return number(pg.scalar("SELECT 1 - avg_leaf_density / 90 FROM pgstatindex('" + index + "')"));
  };
  Daemon d(config_for(pg.conninfo()));
  auto ratio = [](const Scrape& s, const std::string& family, const std::string& label, const std::string& name) {
    return s.value(family, {{label, name}, {"method", "estimate"}});
  };
  auto s = d.wait_for([&](const Scrape& x) {
    return ratio(x, "pghealthd_table_bloat_ratio", "relname", "orders").has_value();
  });
  REQUIRE(s);
  // Freshly loaded: the heap and the primary key (ascending keys) are packed; the md5 index, built by random
  // inserts, holds the free space of its page splits, as pgstatindex shows too.
  CHECK(*ratio(*s, "pghealthd_table_bloat_ratio", "relname", "orders") < 0.05);
  CHECK(*ratio(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pkey") < 0.05);
  CHECK(*ratio(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pad") ==
        Approx(exact_index("orders_pad")).margin(0.15));
  CHECK(s->value("pghealthd_bloat_unestimated", {{"reason", "no_statistics"}}) == 0.0);

  // Three rows in four deleted and vacuumed: the pages stay, three quarters of them empty.
  pg.exec("DELETE FROM orders WHERE id % 4 <> 0;");
  REQUIRE(eventually([&] { return stat("n_dead_tup") == "150000"; }));
  pg.exec("VACUUM orders;");
  pg.exec("ANALYZE orders;");
  REQUIRE(eventually([&] { return stat("n_mod_since_analyze") == "0" && stat("n_live_tup") == "50000"; }));
  const double exact_table = number(pg.scalar("SELECT approx_free_percent / 100 FROM pgstattuple_approx('orders')"));
  const double exact_pkey = exact_index("orders_pkey"), exact_pad = exact_index("orders_pad");
  s = d.wait_for([&](const Scrape& x) {
    return ratio(x, "pghealthd_table_bloat_ratio", "relname", "orders") > 0.5;
  });
  REQUIRE(s);
  INFO("exact: table " << exact_table << ", pkey " << exact_pkey << ", pad " << exact_pad);
  CHECK(*ratio(*s, "pghealthd_table_bloat_ratio", "relname", "orders") == Approx(exact_table).margin(0.15));
  CHECK(*ratio(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pkey") == Approx(exact_pkey).margin(0.15));
  CHECK(*ratio(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pad") == Approx(exact_pad).margin(0.15));
  const double pages = number(pg.scalar("SELECT relpages FROM pg_class WHERE relname = 'orders'"));
  CHECK(*s->value("pghealthd_table_bloat_bytes", {{"relname", "orders"}, {"method", "estimate"}}) ==
        Approx(*ratio(*s, "pghealthd_table_bloat_ratio", "relname", "orders") * pages * 8192));
}

TEST_CASE("a pg_monitor-only role gets no bloat number for a table it may not read, and the reason") {
  Cluster pg;
  pg.exec("CREATE ROLE watcher LOGIN; GRANT pg_monitor TO watcher;\n"
          "CREATE TABLE secret (id int PRIMARY KEY, pad text);");
  pg.exec("INSERT INTO secret SELECT g, md5(g::text) FROM generate_series(1, 10000) g;");
  REQUIRE(eventually([&] { return pg.scalar("SELECT n_tup_ins FROM pg_stat_user_tables") == "10000"; }));
  pg.exec("ANALYZE secret;");
  Daemon d(config_for(pg.conninfo() + " user=watcher"));
  auto s = d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_bloat_unestimated", {{"reason", "no_statistics"}}) == 2.0;  // the table, its pkey
  });
  REQUIRE(s);
  CHECK_FALSE(s->value("pghealthd_table_bloat_ratio", {{"relname", "secret"}}).has_value());
  CHECK_FALSE(s->value("pghealthd_index_bloat_ratio", {{"indexrelname", "secret_pkey"}}).has_value());
  // Once it may read the table, the statistics are there and so is the number.
  pg.exec("GRANT SELECT ON secret TO watcher;");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_table_bloat_ratio", {{"relname", "secret"}, {"method", "estimate"}}).has_value();
  }));
}

TEST_CASE("a table changed a lot since its last ANALYZE gets no number but stale_statistics, until analyzed") {
  Cluster pg;
  pg.exec("CREATE TABLE fresh (id int PRIMARY KEY, pad text);\n"
          "CREATE TABLE churned (id int PRIMARY KEY, pad text);");
  pg.exec("INSERT INTO fresh SELECT g, md5(g::text) FROM generate_series(1, 10000) g;");
  pg.exec("INSERT INTO churned SELECT g, md5(g::text) FROM generate_series(1, 10000) g;");
  REQUIRE(eventually([&] { return pg.scalar("SELECT sum(n_tup_ins) FROM pg_stat_user_tables") == "20000"; }));
  pg.exec("ANALYZE fresh;");
  pg.exec("ANALYZE churned;");
  // Half of churned's rows rewritten since: reltuples and the widths describe a table that is gone.
  pg.exec("UPDATE churned SET pad = repeat('y', 300) WHERE id <= 5000;");
  REQUIRE(eventually([&] {
    return pg.scalar("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'churned'") == "5000";
  }));
  Daemon d(config_for(pg.conninfo()));
  auto s = d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_table_bloat_ratio", {{"relname", "fresh"}, {"method", "estimate"}}).has_value();
  });
  REQUIRE(s);
  CHECK_FALSE(s->value("pghealthd_table_bloat_ratio", {{"relname", "churned"}}).has_value());
  CHECK(s->value("pghealthd_bloat_unestimated", {{"reason", "stale_statistics"}}) == 2.0);  // the table, its pkey
  pg.exec("ANALYZE churned;");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_table_bloat_ratio", {{"relname", "churned"}, {"method", "estimate"}}).has_value() &&
           x.value("pghealthd_bloat_unestimated", {{"reason", "stale_statistics"}}) == 0.0;
  }));
}

TEST_CASE("with bloat.exact a bloated table and its btree indexes get method=exact numbers equal to pgstattuple's") {
  Cluster pg;
  pg.exec("CREATE EXTENSION pgstattuple;\n"
          "CREATE TABLE orders (id int PRIMARY KEY, pad text) WITH (fillfactor = 90);\n"
          "CREATE INDEX orders_pad ON orders (pad);");
  pg.exec("INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 200000) g;");
  // Three rows in four deleted and vacuumed: the pages stay, three quarters of them empty. Never analyzed,
  // so there is no estimate: the exact numbers stand alone.
  pg.exec("DELETE FROM orders WHERE id % 4 <> 0;");
  pg.exec("VACUUM orders;");
  // pgstattuple's own numbers, by SQL: free space and dead rows less the 10% the fill factor keeps free; an
  // index's leaf density against its fill factor (90).
  const double table = number(pg.scalar(
      "SELECT greatest(0, approx_free_space + dead_tuple_len - table_len * 0.1) / table_len "
      "FROM pgstattuple_approx('orders')"));
  const double table_bytes = number(pg.scalar(
      "SELECT greatest(0, approx_free_space + dead_tuple_len - table_len * 0.1) FROM pgstattuple_approx('orders')"));
  auto index = [&](const std::string& name) {
    return number(pg.scalar("SELECT greatest(0, 1 - avg_leaf_density / 90) FROM pgstatindex('" + name + "')"));
  };
  const double pkey = index("orders_pkey"), pad = index("orders_pad");
  INFO("pgstattuple: table " << table << ", pkey " << pkey << ", pad " << pad);
  CHECK(table > 0.5);
  CHECK(pkey > 0.5);

  Daemon d(exact_config(pg.conninfo(), "2s", "1s"));
  auto s = d.wait_for([](const Scrape& x) {
    return exact(x, "pghealthd_table_bloat_ratio", "relname", "orders") &&
           exact(x, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pkey") &&
           exact(x, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pad");
  });
  REQUIRE(s);
  CHECK(s->value("pghealthd_bloat_exact_available", {{"datname", "postgres"}}) == 1.0);
  CHECK(*exact(*s, "pghealthd_table_bloat_ratio", "relname", "orders") == Approx(table).margin(0.01));
  CHECK(*exact(*s, "pghealthd_table_bloat_bytes", "relname", "orders") == Approx(table_bytes).epsilon(0.01));
  CHECK(*exact(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pkey") == Approx(pkey).margin(0.01));
  CHECK(*exact(*s, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pad") == Approx(pad).margin(0.01));
  CHECK_FALSE(s->value("pghealthd_table_bloat_ratio", {{"relname", "orders"}, {"method", "estimate"}}));
  CHECK(s->value("pghealthd_bloat_unestimated", {{"reason", "never_analyzed"}}) == 3.0);

  // Analyzed: the estimate comes, beside the exact reading.
  pg.exec("ANALYZE orders;");
  s = d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_table_bloat_ratio", {{"relname", "orders"}, {"method", "estimate"}}).has_value();
  });
  REQUIRE(s);
  CHECK(*exact(*s, "pghealthd_table_bloat_ratio", "relname", "orders") == Approx(table).margin(0.01));
  CHECK(s->all("pghealthd_index_bloat_ratio", {{"indexrelname", "orders_pkey"}}).size() == 2);
  CHECK(d.log().find("exact bloat readings unavailable") == std::string::npos);
}

TEST_CASE("without pgstattuple, or without the grant, exact readings are unavailable and the log says so once") {
  Cluster pg;
  pg.exec("CREATE TABLE orders (id int PRIMARY KEY, pad text);\n"
          "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g;\n"
          "CREATE ROLE plain LOGIN;");
  {
    Daemon d(exact_config(pg.conninfo(), "300ms", "100ms"));
    REQUIRE(d.wait_for([&](const Scrape& x) {
      return x.value("pghealthd_bloat_exact_available", {{"datname", "postgres"}}) == 0.0 &&
             exact_passes(d.log()).size() >= 4;
    }));
    const auto log = d.log();
    CHECK(occurrences(log, "extension pgstattuple is not installed") == 1);
    CHECK(log.find("CREATE EXTENSION pgstattuple") != std::string::npos);
    CHECK_FALSE(d.scrape().value("pghealthd_table_bloat_ratio", {{"relname", "orders"}, {"method", "exact"}}));

    // Created: readings come, and the log says that too.
    pg.exec("CREATE EXTENSION pgstattuple;");
    REQUIRE(d.wait_for([](const Scrape& x) {
      return x.value("pghealthd_bloat_exact_available", {{"datname", "postgres"}}) == 1.0 &&
             exact(x, "pghealthd_table_bloat_ratio", "relname", "orders").has_value();
    }));
    CHECK(d.log().find("exact bloat readings available") != std::string::npos);
  }

  // A role without pg_stat_scan_tables (nor pg_monitor) may not call the functions.
  Daemon d(exact_config(pg.conninfo() + " user=plain", "300ms", "100ms"));
  REQUIRE(d.wait_for([&](const Scrape& x) {
    return x.value("pghealthd_bloat_exact_available", {{"datname", "postgres"}}) == 0.0 &&
           exact_passes(d.log()).size() >= 4;
  }));
  CHECK(occurrences(d.log(), "the role may not call pgstattuple's functions") == 1);
  CHECK(d.log().find("GRANT pg_stat_scan_tables") != std::string::npos);
  pg.exec("GRANT pg_stat_scan_tables TO plain;");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return x.value("pghealthd_bloat_exact_available", {{"datname", "postgres"}}) == 1.0 &&
           exact(x, "pghealthd_index_bloat_ratio", "indexrelname", "orders_pkey").has_value();
  }));
}

TEST_CASE("an exact reading of a locked table gives up after bloat.lock_timeout and the others are read") {
  Cluster pg;
  pg.exec("CREATE EXTENSION pgstattuple;\n"
          "CREATE TABLE locked (id int PRIMARY KEY);\n"
          "CREATE TABLE free (id int PRIMARY KEY);\n"
          "INSERT INTO locked SELECT generate_series(1, 1000);\n"
          "INSERT INTO free SELECT generate_series(1, 1000);");
  Session holder(pg.conninfo());
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
  Daemon d(exact_config(pg.conninfo(), "1s", "500ms", "  lock_timeout: 100ms\n"));
  auto s = d.wait_for([&](const Scrape& x) {
    return exact(x, "pghealthd_table_bloat_ratio", "relname", "free").has_value() &&
           exact(x, "pghealthd_index_bloat_ratio", "indexrelname", "free_pkey").has_value() &&
           d.log().find("exact bloat reading skipped target=t datname=postgres relation=\"public.locked\"") !=
               std::string::npos;
  });
  REQUIRE(s);
  CHECK_FALSE(exact(*s, "pghealthd_table_bloat_ratio", "relname", "locked"));
  CHECK(d.log().find("SQLSTATE 55P03") != std::string::npos);
  // The wait was the pass's own lock_timeout, and the session's own (1s) came back after it: the estimate's
  // query and the other collectors go on.
  CHECK(s->value("pghealthd_collector_success", {{"collector", "bloat"}}) == 1.0);
  holder.exec("COMMIT");
  REQUIRE(d.wait_for([](const Scrape& x) {
    return exact(x, "pghealthd_table_bloat_ratio", "relname", "locked").has_value();
  }));
}

TEST_CASE("with a tiny exact_budget each run reads at least one relation and successive runs cover them all") {
  Cluster pg;
  std::string ddl = "CREATE EXTENSION pgstattuple;\n";
  for (int i = 0; i < 6; ++i) {
    const auto t = "t" + std::to_string(i);
    ddl += "CREATE TABLE " + t + " (id int PRIMARY KEY);\nINSERT INTO " + t + " SELECT generate_series(1, 500);\n";
  }
  pg.exec(ddl);
  Daemon d(exact_config(pg.conninfo(), "300ms", "1ms"));
  // Six tables and their six primary keys.
  auto all_read = [](const Scrape& x) {
    return x.all("pghealthd_table_bloat_ratio", {{"method", "exact"}}).size() == 6 &&
           x.all("pghealthd_index_bloat_ratio", {{"method", "exact"}}).size() == 6;
  };
  REQUIRE(d.wait_for(all_read));
  const auto passes = exact_passes(d.log());
  INFO(d.log());
  REQUIRE(passes.size() >= 2);  // not all in one run
  CHECK(field(passes.front(), "due") == 12);
  CHECK(field(passes.front(), "left") > 0);
  for (const auto& line : passes) {
    INFO(line);
    CHECK(field(line, "read") >= 1);
    CHECK(field(line, "read") + field(line, "left") + field(line, "skipped") == 12);
  }
  // The round robin goes on: the oldest reading is renewed first, so every reading stays recent.
  const auto before = passes.size();
  REQUIRE(eventually([&] { return exact_passes(d.log()).size() >= before + 12; }));
  CHECK(all_read(d.scrape()));
}
