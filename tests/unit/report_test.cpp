// pghealthd check's report (report/health_report.h): the freeze age section's status rules, worst first.
#include <catch2/catch.hpp>

#include <string>

#include "report/health_report.h"

using pghealthd::report::Status;

namespace {

pghealthd::model::FreezeAge table(std::string name, std::int64_t xid_age, std::int64_t mxid_age,
                                  std::int64_t freeze_max_age = 200000000) {
  pghealthd::model::FreezeAge t;
  t.schemaname = "public";
  t.relname = std::move(name);
  t.xid_age = xid_age;
  t.mxid_age = mxid_age;
  t.freeze_max_age = freeze_max_age;
  return t;
}

const pghealthd::report::Section& section(const pghealthd::report::DatabaseReport& r, const std::string& title) {
  for (const auto& s : r.sections)
    if (s.title == title) return s;
  FAIL("no section " << title);
  return r.sections.front();
}

}  // namespace

TEST_CASE("check: freeze age is OK when young, due at 1, a warning past 1.5 or half way to wraparound, "
          "critical at three quarters", "[report]") {
  pghealthd::collectors::Data data;
  data.freeze = {
      table("young", 1000, 10),
      table("due", 210000000, 10),                  // 1.05: autovacuum's job, nothing wrong yet
      table("overdue", 150000, 10, 100000),          // 1.5 of its own reloption
      table("half_way", 1100000000, 10),             // 51% of 2^31
      table("multixacts", 1000, 1700000000),         // 79% of 2^31 in multixacts
  };
  data.databases = {{"app", 1700000000, 5}, {"other", 1900000000, 5}};
  const auto r = pghealthd::report::build("t", "app", data, {}, 0);
  const auto& s = section(r, "Freeze age");
  REQUIRE(s.rows.size() == 6);  // this database (not the other one) and its five tables
  // Worst first: the two critical rows, then the warnings, then the OK ones by due ratio.
  CHECK(s.rows[0].status == Status::kCritical);
  CHECK(s.rows[1].status == Status::kCritical);
  CHECK(((s.rows[0].cells[0] == "multixacts" && s.rows[1].cells[0] == "(database app)") ||
         (s.rows[1].cells[0] == "multixacts" && s.rows[0].cells[0] == "(database app)")));
  CHECK(s.rows[2].cells[0] == "half_way");
  CHECK(s.rows[2].status == Status::kWarning);
  CHECK(s.rows[3].cells[0] == "overdue");
  CHECK(s.rows[3].status == Status::kWarning);
  CHECK(s.rows[3].cells[3] == "100000");
  CHECK(s.rows[3].cells[4] == "1.50");
  CHECK(s.rows[4].cells[0] == "due");
  CHECK(s.rows[4].status == Status::kOk);
  CHECK(s.rows[4].note == "anti-wraparound autovacuum is due");
  CHECK(s.rows[5].cells[0] == "young");
  CHECK(s.rows[5].status == Status::kOk);
  CHECK(pghealthd::report::overall({r}) == Status::kCritical);
  CHECK(pghealthd::report::render_text({r}).find("Freeze age (4 of 6 need attention)") != std::string::npos);
}
