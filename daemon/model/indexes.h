// Index health and sequence limits as pure functions (issue 14): which indexes are duplicates or
// redundant prefixes of others, and how far a sequence has gone toward its limit. No I/O: the collectors
// gather the catalog rows, these decide, and unit tests cover every rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/boxed.h"

namespace pghealthd::model {

// Who an index is: its names and what it enforces. What the exporter keeps of every index between runs
// (IndexStats); the definition below is read to judge redundancy and then let go.
struct IndexIdentity {
  std::int64_t indexrelid = 0;  // also its age: a lower OID was created earlier (barring wraparound)
  std::int64_t table_relid = 0;
  std::string schemaname, relname, indexrelname;
  // pg_am.amname: btree, hash, gist, gin, brin, ...; one copy of each name for the process
  // (intern_access_method), as every index of a database has one of a handful.
  std::string_view access_method;
  bool unique = false;                     // indisunique: enforces uniqueness, constraint or not
  bool enforces_constraint = false;        // primary key, unique (constraint or index) or exclusion
  bool backs_constraint = false;           // a pg_constraint uses it: constraint_name()

  // The pg_constraint it backs, "" none. PostgreSQL names the constraint as its index (renaming either
  // renames both, and ADD CONSTRAINT USING INDEX renames the index), so a name is kept only where it differs.
  [[nodiscard]] std::string_view constraint_name() const {
    if (!backs_constraint) return {};
    return other_constraint_name_.empty() ? std::string_view(indexrelname) : std::string_view(other_constraint_name_);
  }
  // After indexrelname is set.
  void set_constraint_name(std::string_view name) {
    backs_constraint = !name.empty();
    other_constraint_name_ = name == indexrelname ? std::string_view() : name;
  }

 private:
  RareText other_constraint_name_;
};

// The process's one copy of an access method's name (pg_am.amname): a handful exist, and every index holds
// one.
[[nodiscard]] std::string_view intern_access_method(std::string_view name);

// One index's definition, from pg_index / pg_class / pg_am (the columns as the catalog stores them).
struct IndexDefinition : IndexIdentity {
  std::vector<int> columns;                // indkey: key columns, then INCLUDE columns; 0 is an expression
  int key_columns = 0;                     // indnkeyatts
  std::vector<std::int64_t> opclasses;     // indclass, one per key column
  std::vector<std::int64_t> collations;    // indcollation, one per key column (0: none)
  std::vector<int> column_options;         // indoption, one per key column (DESC, NULLS FIRST bits)
  std::string options;                     // the index's reloptions as text, "" when none
  std::string expressions;                 // pg_get_expr(indexprs), "" when none
  std::string predicate;                   // pg_get_expr(indpred), "" for a full index
};

// An index that another makes redundant.
struct Redundancy {
  const IndexDefinition* index = nullptr;
  std::string_view kind;                      // "duplicate" or "prefix"
  const IndexDefinition* covered_by = nullptr;
};

// Of each set of identical indexes (same table, access method, columns, operator classes, collations,
// options, expressions and predicate), every one but the keeper: the one that enforces a constraint,
// else the oldest. And every btree that is a strict leading prefix of another btree of the same table
// (same operator classes and collations on the shared columns, same predicate, neither with
// expressions), that is not unique and enforces no constraint, and whose INCLUDE columns the longer index
// has too; covered by the longer index with the fewest columns (then the oldest). An index reported as a
// duplicate is not reported again as a prefix.
// Tables are judged one at a time: the cost grows with the square of one table's indexes, not of all.
[[nodiscard]] std::vector<Redundancy> redundant_indexes(std::vector<const IndexDefinition*> indexes);
[[nodiscard]] std::vector<Redundancy> redundant_indexes(const std::vector<IndexDefinition>& indexes);
// The verdicts point into the indexes judged: a temporary would leave them dangling.
std::vector<Redundancy> redundant_indexes(std::vector<IndexDefinition>&& indexes) = delete;

// One sequence and the column it feeds.
struct SequenceState {
  std::string schemaname, sequencename;
  bool readable = true;      // the role may read its last value (SELECT or USAGE)
  std::int64_t last_value = 0;
  std::int64_t increment = 1;
  std::int64_t min_value = 1;
  std::int64_t max_value = 9223372036854775807;
  // The narrowest of the columns it feeds (owned by, identity, or a DEFAULT nextval() of it): "smallint",
  // "integer" or "bigint"; "" when it feeds none of those.
  std::string column_type;
};

// How far the sequence has gone toward its limit, 0..1: the limit is the sequence's own maxvalue (minvalue
// when it descends), or the column type's bound when that is nearer. Absent for an increment of 0 or an
// empty range.
[[nodiscard]] std::optional<double> sequence_used_ratio(const SequenceState& s);

// The value the sequence cannot go past: the nearer of its own maxvalue (minvalue when it descends) and
// its column type's bound.
[[nodiscard]] std::int64_t sequence_limit(const SequenceState& s);

}  // namespace pghealthd::model
