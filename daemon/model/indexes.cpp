#include "model/indexes.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

namespace pghealthd::model {
namespace {

bool has_expressions(const IndexDefinition& i) {
  return !i.expressions.empty() ||
         std::any_of(i.columns.begin(), i.columns.end(), [](int c) { return c == 0; });
}

// Everything that makes two indexes the same index.
auto identity(const IndexDefinition& i) {
  return std::tie(i.table_relid, i.access_method, i.columns, i.key_columns, i.opclasses, i.collations,
                  i.column_options, i.options, i.expressions, i.predicate);
}

// Keeper first: the one that enforces a constraint (or uniqueness), then the oldest.
bool keep_before(const IndexDefinition* a, const IndexDefinition* b) {
  const bool ea = a->enforces_constraint || a->unique, eb = b->enforces_constraint || b->unique;
  if (ea != eb) return ea;
  return a->indexrelid < b->indexrelid;
}

std::vector<int> keys(const IndexDefinition& i) {
  const auto n = static_cast<std::size_t>(std::clamp<int>(i.key_columns, 0, static_cast<int>(i.columns.size())));
  return {i.columns.begin(), i.columns.begin() + static_cast<std::ptrdiff_t>(n)};
}

// Whether `a`'s key columns are a strict leading prefix of `b`'s, with the same operator classes and
// collations on them, and `b` has every INCLUDE column of `a`.
bool strict_prefix(const IndexDefinition& a, const IndexDefinition& b) {
  const auto ka = keys(a), kb = keys(b);
  if (ka.empty() || ka.size() >= kb.size()) return false;
  for (std::size_t c = 0; c < ka.size(); ++c) {
    if (ka[c] != kb[c]) return false;
    if (c >= a.opclasses.size() || c >= b.opclasses.size() || a.opclasses[c] != b.opclasses[c]) return false;
    const auto ca = c < a.collations.size() ? a.collations[c] : 0, cb = c < b.collations.size() ? b.collations[c] : 0;
    if (ca != cb) return false;
    const int oa = c < a.column_options.size() ? a.column_options[c] : 0;
    const int ob = c < b.column_options.size() ? b.column_options[c] : 0;
    if (oa != ob) return false;
  }
  for (std::size_t c = ka.size(); c < a.columns.size(); ++c)
    if (std::find(b.columns.begin(), b.columns.end(), a.columns[c]) == b.columns.end()) return false;
  return true;
}

}  // namespace

namespace {

// The rules within one table's indexes (`table`: pointers into the caller's vector, all of one table).
void redundant_in_table(std::vector<const IndexDefinition*> table, std::vector<Redundancy>& out) {
  // Duplicates: identical definitions side by side, the keeper of each set first.
  std::stable_sort(table.begin(), table.end(), [](const IndexDefinition* a, const IndexDefinition* b) {
    if (identity(*a) != identity(*b)) return identity(*a) < identity(*b);
    return keep_before(a, b);
  });
  std::vector<const IndexDefinition*> kept;  // one of each set of identical indexes
  for (std::size_t i = 0; i < table.size();) {
    kept.push_back(table[i]);
    std::size_t j = i + 1;
    for (; j < table.size() && identity(*table[j]) == identity(*table[i]); ++j)
      out.push_back({table[j], "duplicate", table[i]});
    i = j;
  }
  // Prefixes: among the btrees that are not duplicates themselves.
  for (const auto* a : kept) {
    if (a->access_method != "btree" || a->unique || a->enforces_constraint || has_expressions(*a)) continue;
    const IndexDefinition* best = nullptr;
    for (const auto* b : kept) {
      if (a == b || b->access_method != "btree" || has_expressions(*b) || b->predicate != a->predicate ||
          !strict_prefix(*a, *b))
        continue;
      if (!best || b->key_columns < best->key_columns ||
          (b->key_columns == best->key_columns && b->indexrelid < best->indexrelid))
        best = b;
    }
    if (best) out.push_back({a, "prefix", best});
  }
}

}  // namespace

std::vector<Redundancy> redundant_indexes(const std::vector<IndexDefinition>& indexes) {
  std::vector<const IndexDefinition*> all;
  all.reserve(indexes.size());
  for (const auto& i : indexes) all.push_back(&i);
  return redundant_indexes(std::move(all));
}

std::vector<Redundancy> redundant_indexes(std::vector<const IndexDefinition*> all) {
  std::stable_sort(all.begin(), all.end(), [](const IndexDefinition* a, const IndexDefinition* b) {
    return a->table_relid < b->table_relid;
  });
  std::vector<Redundancy> out;
  for (auto first = all.begin(); first != all.end();) {
    auto last = std::find_if(first, all.end(), [&](const IndexDefinition* i) { return i->table_relid != (*first)->table_relid; });
    redundant_in_table({first, last}, out);
    first = last;
  }
  return out;
}

std::int64_t sequence_limit(const SequenceState& s) {
  std::int64_t type_min = std::numeric_limits<std::int64_t>::min(), type_max = std::numeric_limits<std::int64_t>::max();
  if (s.column_type == "smallint") {
    type_min = std::numeric_limits<std::int16_t>::min();
    type_max = std::numeric_limits<std::int16_t>::max();
  } else if (s.column_type == "integer") {
    type_min = std::numeric_limits<std::int32_t>::min();
    type_max = std::numeric_limits<std::int32_t>::max();
  }
  return s.increment > 0 ? std::min(s.max_value, type_max) : std::max(s.min_value, type_min);
}

std::optional<double> sequence_used_ratio(const SequenceState& s) {
  if (s.increment == 0) return std::nullopt;
  // From where it starts counting (its minvalue, or maxvalue when it descends) toward its limit.
  const long double limit = static_cast<long double>(sequence_limit(s)), last = s.last_value;
  const long double origin = s.increment > 0 ? s.min_value : s.max_value;
  const long double range = s.increment > 0 ? limit - origin : origin - limit;
  const long double used = s.increment > 0 ? last - origin : origin - last;
  if (range <= 0) return std::nullopt;
  return static_cast<double>(std::clamp<long double>(used / range, 0.0L, 1.0L));
}

std::string_view intern_access_method(std::string_view name) {
  // Never shrinks: the names are those of the access methods installed (CREATE ACCESS METHOD), a handful.
  static std::mutex lock;
  static std::set<std::string, std::less<>> names;
  const std::lock_guard hold(lock);
  auto at = names.find(name);
  if (at == names.end()) at = names.emplace(name).first;
  return *at;
}

}  // namespace pghealthd::model
