// Bloat you can trust (issue 15), on a real server: the statistics-based estimate of a table and its btree
// indexes against pgstattuple's exact reading, fresh and after 75% of the rows were deleted; and a
// pg_monitor-only role, which sees no pg_stats rows, gets no number but the reason.
#include <catch2/catch.hpp>

#include <string>

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
