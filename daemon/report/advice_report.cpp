#include "report/advice_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "report/health_report.h"

namespace pghealthd::report {

std::vector<TableAdvice> advise_all(const std::string& target, const std::string& datname,
                                    const collectors::Data& data, const policy::AdviceSettings& settings,
                                    bool lifetime_only) {
  std::vector<TableAdvice> out;
  model::Churn lifetime;
  lifetime.lifetime_only = true;
  for (const auto& t : data.tables) {
    const auto it = data.churn.find(t.relid);
    const auto& churn = lifetime_only || it == data.churn.end() ? lifetime : it->second;
    if (auto a = policy::advise(t, churn, t.reloptions, settings)) out.push_back({target, datname, std::move(*a)});
  }
  return out;
}

void sort_worst_first(std::vector<TableAdvice>& all) {
  std::sort(all.begin(), all.end(), [](const TableAdvice& a, const TableAdvice& b) {
    if (a.advice.observed_peak != b.advice.observed_peak) return a.advice.observed_peak > b.advice.observed_peak;
    return std::tie(a.target, a.datname, a.advice.schemaname, a.advice.relname) <
           std::tie(b.target, b.datname, b.advice.schemaname, b.advice.relname);
  });
}

std::string render_advice_json(const std::vector<TableAdvice>& all, const policy::AdviceSettings& s) {
  std::string out = fmt::format("{{\"target_dead_ratio\":{},\"may_relax\":{},\"tables\":[", s.target_dead_ratio,
                                s.may_relax ? "true" : "false");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& [target, datname, a] = all[i];
    if (i) out += ',';
    out += "{\"target\":";
    escape_json(out, target);
    out += ",\"datname\":";
    escape_json(out, datname);
    out += ",\"schemaname\":";
    escape_json(out, a.schemaname);
    out += ",\"relname\":";
    escape_json(out, a.relname);
    out += fmt::format(",\"observed_peak\":{},\"relaxes\":{},\"set\":{{", a.observed_peak, a.relaxes ? "true" : "false");
    const auto set = a.assignments();
    for (std::size_t k = 0; k < set.size(); ++k) out += fmt::format("{}\"{}\":{}", k ? "," : "", set[k].first, set[k].second);
    out += "},\"previous\":{";
    bool first = true;
    for (const auto& [key, value] : a.previous) {
      out += fmt::format("{}\"{}\":{}", first ? "" : ",", key, value);
      first = false;
    }
    out += "},\"reasoning\":";
    escape_json(out, a.reasoning);
    out += ",\"alter\":";
    escape_json(out, a.alter_sql);
    out += ",\"undo\":";
    escape_json(out, a.undo_sql);
    out += '}';
  }
  out += "]}\n";
  return out;
}

std::string render_advice_text(const std::vector<TableAdvice>& all, const policy::AdviceSettings& s) {
  std::string out = fmt::format("Autovacuum tuning advice: reloptions that keep each table under {:.1f}% dead rows{}\n",
                                100 * s.target_dead_ratio, s.may_relax ? " (may relax a DBA's setting)" : "");
  if (all.empty()) out += "\nNo advice: every table with enough history stays under the target.\n";
  for (const auto& [target, datname, a] : all) {
    out += fmt::format("\n{}/{} {}.{}: {}.\n  apply: {};\n  undo:  {};\n", target, datname, a.schemaname, a.relname,
                       a.reasoning, a.alter_sql, a.undo_sql);
  }
  return out;
}

}  // namespace pghealthd::report
