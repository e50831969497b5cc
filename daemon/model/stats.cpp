#include "model/stats.h"

namespace pghealthd::model {

std::optional<double> dead_tuple_ratio(Count live, Count dead) {
  if (!live || !dead) return std::nullopt;
  // Both are estimates and never negative in practice; clamp so a bad row cannot export a ratio outside 0..1.
  const double l = *live > 0 ? static_cast<double>(*live) : 0.0;
  const double d = *dead > 0 ? static_cast<double>(*dead) : 0.0;
  if (l + d == 0.0) return 0.0;
  return d / (l + d);
}

std::optional<double> cache_hit_ratio(Count hit, Count read) {
  if (!hit || !read) return std::nullopt;
  const double h = *hit > 0 ? static_cast<double>(*hit) : 0.0;
  const double r = *read > 0 ? static_cast<double>(*read) : 0.0;
  if (h + r == 0.0) return std::nullopt;
  return h / (h + r);
}

std::optional<double> index_unused(const IndexStats& index) {
  if (!index.scans) return std::nullopt;
  return (*index.scans == 0 && !index.enforces_constraint) ? 1.0 : 0.0;
}

}  // namespace pghealthd::model
