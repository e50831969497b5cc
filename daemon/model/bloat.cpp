#include "model/bloat.h"

#include <algorithm>
#include <cmath>

namespace pghealthd::model {
namespace {

constexpr double kPageHeader = 24;       // PageHeaderData
constexpr double kLinePointer = 4;       // ItemIdData
constexpr double kHeapTupleHeader = 23;  // offsetof(HeapTupleHeaderData, t_bits)
constexpr double kIndexTupleHeader = 8;  // IndexTupleData
constexpr double kIndexNullBitmap = 4;   // IndexAttributeBitMapData (INDEX_MAX_KEYS / 8)
constexpr double kBtreeSpecial = 16;     // BTPageOpaqueData
constexpr double kShortVarlena = 127;    // a varlena this short takes a 1-byte header, unaligned

double align_to(double offset, int alignment) { return std::ceil(offset / alignment) * alignment; }

int alignment_of(const ColumnWidth& c) {
  if (c.typlen == -1 && c.avg_width < kShortVarlena) return 1;
  switch (c.typalign) {
    case 'c': return 1;
    case 's': return 2;
    case 'd': return 8;
    default: return 4;
  }
}

// The average width of the data part: each column padded to its alignment and counted as often as it is
// not null (a null value takes no space, only its bit).
double data_width(const std::vector<std::optional<ColumnWidth>>& columns) {
  double offset = 0;
  for (const auto& c : columns) {
    const double present = 1 - std::clamp(c->null_frac, 0.0, 1.0);
    const double padding = align_to(offset, alignment_of(*c)) - offset;
    offset += present * (padding + std::max(c->avg_width, 0.0));
  }
  return offset;
}

bool any_nulls(const std::vector<std::optional<ColumnWidth>>& columns) {
  return std::any_of(columns.begin(), columns.end(), [](const auto& c) { return c->null_frac > 0; });
}

// The reasons there is no honest number, in order; none when the statistics can be used.
std::optional<Unestimated> unusable(const RelationShape& r, const BloatSettings& s) {
  if (r.expressions) return Unestimated::kExpressionIndex;
  if (!r.analyzed || r.reltuples < 0) return Unestimated::kNeverAnalyzed;
  // Analyzed and no rows: pg_stats has nothing to say and needs not, every page is wasted.
  if (r.reltuples == 0) return std::nullopt;
  if (std::any_of(r.columns.begin(), r.columns.end(), [](const auto& c) { return !c.has_value(); }))
    return Unestimated::kNoStatistics;
  if (r.modified_since_analyze > s.stale_share * std::max(r.reltuples, 1.0)) return Unestimated::kStaleStatistics;
  return std::nullopt;
}

// The share of an index's rows whose key another row has: 1 - distinct keys / rows, the distinct keys at
// most the product of each column's distinct values (a null counts as one more value: nulls are
// deduplicated too).
double repeated_share(const RelationShape& r) {
  double distinct = 1;
  for (const auto& c : r.columns) {
    const double values = c->n_distinct > 0   ? c->n_distinct
                          : c->n_distinct < 0 ? -c->n_distinct * r.reltuples
                                              : r.reltuples;  // unknown: no repeats claimed
    distinct *= std::max(1.0, values) + (c->null_frac > 0 ? 1 : 0);
    if (distinct >= r.reltuples) return 0;
  }
  return 1 - distinct / r.reltuples;
}

// The estimate once the pages the rows need are known.
BloatEstimate waste(const RelationShape& r, double expected_pages) {
  BloatEstimate e;
  e.expected_pages = expected_pages;
  if (r.relpages <= 0) return e;
  const double wasted_pages = std::max(0.0, r.relpages - expected_pages);
  e.wasted_bytes = wasted_pages * r.block_size;
  e.ratio = wasted_pages / r.relpages;
  return e;
}

}  // namespace

std::string_view name(Unestimated u) {
  switch (u) {
    case Unestimated::kNeverAnalyzed: return "never_analyzed";
    case Unestimated::kNoStatistics: return "no_statistics";
    case Unestimated::kStaleStatistics: return "stale_statistics";
    case Unestimated::kExpressionIndex: return "expression_index";
    case Unestimated::kRepeatedKeys: return "repeated_keys";
  }
  return "?";
}

std::string_view name(ExactAvailability a) {
  switch (a) {
    case ExactAvailability::kAvailable:
      return "available";
    case ExactAvailability::kMissing:
      return "missing";
    case ExactAvailability::kNotPermitted:
      return "not_permitted";
  }
  return "?";
}

BloatEstimate estimate_table_bloat(const RelationShape& t, const BloatSettings& s) {
  // (No pages is no waste, but only once analyzed: a table never vacuumed nor analyzed has relpages 0 too.)
  if (const auto why = unusable(t, s)) {
    BloatEstimate e;
    e.unestimated = why;
    return e;
  }
  const double bitmap = any_nulls(t.columns) ? std::ceil(static_cast<double>(t.columns.size()) / 8) : 0;
  const double tuple = align_to(align_to(kHeapTupleHeader + bitmap, s.maxalign) + data_width(t.columns), s.maxalign);
  const double room = (t.block_size - kPageHeader) * std::clamp(t.fillfactor, 10, 100) / 100.0;
  const double per_page = std::max(1.0, std::floor(room / (tuple + kLinePointer)));
  return waste(t, std::ceil(t.reltuples / per_page));
}

BloatEstimate estimate_btree_bloat(const RelationShape& i, const BloatSettings& s) {
  auto why = unusable(i, s);
  if (!why && i.reltuples > 0 && repeated_share(i) > s.repeated_share) why = Unestimated::kRepeatedKeys;
  if (why) {
    BloatEstimate e;
    e.unestimated = why;
    return e;
  }
  const double header = kIndexTupleHeader + (any_nulls(i.columns) ? kIndexNullBitmap : 0);
  const double item = align_to(align_to(header, s.maxalign) + data_width(i.columns), s.maxalign);
  const double room = (i.block_size - kPageHeader - kBtreeSpecial) * std::clamp(i.fillfactor, 10, 100) / 100.0;
  const double per_page = std::max(1.0, std::floor(room / (item + kLinePointer)));
  return waste(i, 1 + std::ceil(i.reltuples / per_page));  // and the metapage
}

ExactBloat exact_table_bloat(double table_len, double approx_free_space, double dead_tuple_len,
                             int fillfactor, double now_unix) {
  ExactBloat e;
  e.measured_unix = now_unix;
  if (!(table_len > 0)) return e;
  const double kept = table_len * (100 - std::clamp(fillfactor, 10, 100)) / 100.0;
  e.wasted_bytes = std::max(0.0, approx_free_space + dead_tuple_len - kept);
  e.ratio = std::min(1.0, e.wasted_bytes / table_len);
  return e;
}

ExactBloat exact_btree_bloat(double index_size, double avg_leaf_density, int fillfactor, double now_unix) {
  ExactBloat e;
  e.measured_unix = now_unix;
  if (std::isnan(avg_leaf_density) || !(index_size > 0)) return e;
  e.ratio = std::clamp(1 - avg_leaf_density / std::clamp(fillfactor, 10, 100), 0.0, 1.0);
  e.wasted_bytes = e.ratio * index_size;
  return e;
}

std::vector<ExactCandidate> exact_round_robin(std::vector<ExactCandidate> candidates,
                                              std::int64_t min_size_bytes) {
  std::erase_if(candidates,
                [&](const ExactCandidate& c) { return c.size_bytes < static_cast<double>(min_size_bytes); });
  std::sort(candidates.begin(), candidates.end(), [](const ExactCandidate& a, const ExactCandidate& b) {
    if (a.measured_unix.has_value() != b.measured_unix.has_value()) return !a.measured_unix.has_value();
    if (a.measured_unix != b.measured_unix) return *a.measured_unix < *b.measured_unix;
    if (a.size_bytes != b.size_bytes) return a.size_bytes > b.size_bytes;
    return a.relid < b.relid;
  });
  return candidates;
}

}  // namespace pghealthd::model
