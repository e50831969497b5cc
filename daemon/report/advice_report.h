// Autovacuum tuning advice for every table of a database (policy::advise over a stat_user_tables
// snapshot and the churn history it carries), worst first, rendered for GET /advice as JSON or text, and
// as the "Autovacuum tuning" section of `pghealthd check`. Pure.
#pragma once

#include <string>
#include <vector>

#include "collectors/collector.h"
#include "policy/advice.h"

namespace pghealthd::report {

struct TableAdvice {
  std::string target, datname;
  policy::Advice advice;
};

// The advice for each table of `data` (a stat_user_tables snapshot). `lifetime_only`: there is no history
// (a one-shot check), judge by the dead rows now and say so; else each table's Churn in data.churn.
[[nodiscard]] std::vector<TableAdvice> advise_all(const std::string& target, const std::string& datname,
                                                  const collectors::Data& data, const policy::AdviceSettings& settings,
                                                  bool lifetime_only);

// Worst (highest observed peak) first; ties by target, database, schema and table.
void sort_worst_first(std::vector<TableAdvice>& all);

[[nodiscard]] std::string render_advice_json(const std::vector<TableAdvice>& all, const policy::AdviceSettings& s);
[[nodiscard]] std::string render_advice_text(const std::vector<TableAdvice>& all, const policy::AdviceSettings& s);

}  // namespace pghealthd::report
