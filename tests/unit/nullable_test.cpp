// model::Nullable: std::optional's behaviour in the size of the value; and the other compact row fields
// (model/boxed.h, the interned access method and the constraint name kept only where it differs).
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>

#include "model/stats.h"

using pghealthd::model::Count;
using pghealthd::model::Seconds;

TEST_CASE("Nullable: NULL and values behave as std::optional's", "[nullable]") {
  static_assert(sizeof(Count) == 8 && sizeof(Seconds) == 8);
  Count none;
  CHECK_FALSE(none.has_value());
  CHECK_FALSE(none);
  CHECK(none == std::nullopt);
  CHECK(none.value_or(7) == 7);
  CHECK_THROWS_AS(none.value(), std::bad_optional_access);
  CHECK(std::optional<std::int64_t>(none) == std::nullopt);

  Count zero = 0;  // 0 is a value, not NULL
  REQUIRE(zero);
  CHECK(*zero == 0);
  CHECK(zero != std::nullopt);
  CHECK(zero != none);
  CHECK(zero == 0);

  const Count big = std::numeric_limits<std::int64_t>::max();
  CHECK(big.value() == std::numeric_limits<std::int64_t>::max());
  CHECK(std::optional<std::int64_t>(big) == std::numeric_limits<std::int64_t>::max());

  Count from_parser = std::optional<std::int64_t>(42);
  CHECK(from_parser == 42);
  from_parser = std::optional<std::int64_t>();
  CHECK_FALSE(from_parser);
  from_parser = 5;
  from_parser.reset();
  CHECK(from_parser == none);  // NULL equals NULL, as std::optional
}

TEST_CASE("Nullable: a number's NULL is not any number, 0 and negatives included", "[nullable]") {
  Seconds none = std::nullopt;
  CHECK_FALSE(none);
  CHECK(none == Seconds());
  CHECK(none != 0.0);
  const Seconds minus = -1.5;
  REQUIRE(minus);
  CHECK(minus == Approx(-1.5));
  CHECK(minus.value_or(0) == -1.5);
  CHECK(std::optional<double>(minus) == -1.5);
  CHECK(minus != none);
  CHECK(Seconds(std::optional<double>(0.0)) == 0.0);
}

TEST_CASE("RareText: a text in 8 bytes that reads and copies as a string, empty the same as absent", "[nullable]") {
  using pghealthd::model::RareText;
  static_assert(sizeof(RareText) == 8);
  const RareText none;
  CHECK(none.empty());
  CHECK(none == "");
  CHECK(std::string_view(none).empty());
  CHECK(RareText("").empty());  // an empty text holds nothing on the heap, as none does

  RareText name = std::string("public.\"we ird\"_idx");
  CHECK_FALSE(name.empty());
  CHECK(name == "public.\"we ird\"_idx");
  const RareText copy = name;  // a copy owns its own text
  name = "other";
  CHECK(copy == "public.\"we ird\"_idx");
  CHECK(name.str() == "other");
  name = std::string_view();
  CHECK(name.empty());
}

TEST_CASE("IndexIdentity: the constraint's name is kept only where it differs from the index's", "[nullable]") {
  pghealthd::model::IndexIdentity i;
  i.indexrelname = "orders_pkey";
  CHECK(i.constraint_name().empty());
  CHECK_FALSE(i.backs_constraint);
  i.set_constraint_name("orders_pkey");
  CHECK(i.backs_constraint);
  CHECK(i.constraint_name() == "orders_pkey");
  i.indexrelname = "renamed_pkey";  // read from the next full run as the server renames both together
  CHECK(i.constraint_name() == "renamed_pkey");
  i.set_constraint_name("a constraint of another name");  // no PostgreSQL does this today: kept all the same
  CHECK(i.constraint_name() == "a constraint of another name");
  i.set_constraint_name("");
  CHECK_FALSE(i.backs_constraint);
  CHECK(i.constraint_name().empty());
}

TEST_CASE("intern_access_method: one copy of each name, whatever buffer it was read from", "[nullable]") {
  using pghealthd::model::intern_access_method;
  std::string read = "btree";
  const auto a = intern_access_method(read);
  read = "bloom";  // the buffer the name came from is reused: the interned name stays
  CHECK(a == "btree");
  CHECK(intern_access_method("btree").data() == a.data());
  CHECK(intern_access_method(read) == "bloom");
  CHECK(intern_access_method(read).data() != a.data());
}

TEST_CASE("Shared: rows share one copy of a value, and a row that changes its own changes no other", "[nullable]") {
  using pghealthd::model::AutovacuumSettings;
  using pghealthd::model::TableStats;
  static_assert(sizeof(pghealthd::model::Shared<AutovacuumSettings>) == 16);
  AutovacuumSettings server;
  server.scale_factor = 0.05;
  TableStats a, b;
  a.autovacuum = server;
  b.autovacuum = a.autovacuum;
  CHECK(&*a.autovacuum == &*b.autovacuum);  // one copy
  b.autovacuum.edit().scale_factor = 0.01;  // ALTER TABLE b SET (autovacuum_vacuum_scale_factor = 0.01)
  CHECK(a.autovacuum->scale_factor == 0.05);
  CHECK(b.autovacuum->scale_factor == 0.01);
  TableStats fresh;  // the defaults, shared by every row that sets none, and changed by none of them
  fresh.autovacuum.edit().enabled = false;
  CHECK(TableStats().autovacuum->enabled);
}
