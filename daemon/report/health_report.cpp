#include "report/health_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <numeric>

#include "metrics/exposition.h"
#include "model/stats.h"
#include "pg/conninfo.h"
#include "policy/reindex_policy.h"
#include "report/advice_report.h"
#include "report/attention.h"

namespace pghealthd::report {

std::string table_name(const std::string& schema, const std::string& rel) {
  return schema == "public" ? rel : schema + "." + rel;
}

std::string span(double s) {
  s = std::max(0.0, s);
  if (s < 120) return fmt::format("{:.0f}s", s);
  if (s < 7200) return fmt::format("{:.0f}m", s / 60);
  if (s < 172800) return fmt::format("{:.0f}h", s / 3600);
  return fmt::format("{:.0f}d", s / 86400);
}

std::string percent(std::optional<double> ratio) {
  return ratio ? fmt::format("{:.2f}%", 100 * *ratio) : "-";
}

std::string age(std::optional<double> when, double now) {
  if (!when) return "never";
  return span(now - *when) + " ago";
}

double wraparound_share(std::int64_t age) { return static_cast<double>(age) / 2147483648.0; }

Status wraparound_status(double share, const Thresholds& t) {
  if (share >= t.wraparound_critical) return Status::kCritical;
  if (share >= t.wraparound_warning) return Status::kWarning;
  return Status::kOk;
}

namespace {

std::string bytes(std::optional<std::int64_t> b) {
  if (!b) return "-";
  const double v = static_cast<double>(*b);
  if (v >= 1 << 30) return fmt::format("{:.1f} GiB", v / (1 << 30));
  if (v >= 1 << 20) return fmt::format("{:.1f} MiB", v / (1 << 20));
  if (v >= 1 << 10) return fmt::format("{:.0f} KiB", v / (1 << 10));
  return fmt::format("{} B", *b);
}

std::optional<double> latest(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

// Rows with their sort keys, worst status first, then the largest key.
struct Keyed {
  Row row;
  double key = 0;
};

// What the daemon's page asks of a finished section (Thresholds::attention_list, ok_rows_kept): the attention
// list reads all its rows, worst first, and the section keeps those that need attention and `kept` others.
struct Cut {
  Attention* attention = nullptr;
  std::size_t kept = std::numeric_limits<std::size_t>::max();
};

Section finish(std::string title, std::vector<std::string> columns, std::vector<Keyed> rows, const Cut& cut = {}) {
  // Sorted by index, so that rows are moved once, and only those kept.
  std::vector<std::uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(), [&rows](std::uint32_t x, std::uint32_t y) {
    const auto &a = rows[x], &b = rows[y];
    if (a.row.status != b.row.status) return a.row.status > b.row.status;
    return a.key > b.key;
  });
  Section s;
  s.title = std::move(title);
  s.columns = std::move(columns);
  if (cut.attention) {
    std::vector<const Row*> sorted;
    sorted.reserve(order.size());
    for (const auto i : order) sorted.push_back(&rows[i].row);
    cut.attention->add(s, sorted);
  }
  std::size_t keep = 0;
  while (keep < order.size() && rows[order[keep]].row.status != Status::kOk) ++keep;
  keep += std::min(cut.kept, order.size() - keep);
  s.rows.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) s.rows.push_back(std::move(rows[order[i]].row));
  s.rows_left_out = order.size() - keep;
  return s;
}

// Bloat: the relations that waste the most bytes, by the exact reading where there is one (pgstattuple),
// else the estimate from statistics; a bounded list, worst first, with a line for the rest. Relations given
// no number are counted by reason, each with what would give them one.
Section bloat_section(const std::vector<model::RelationBloat>& relations, const Thresholds& t, double now) {
  std::vector<Keyed> rows;
  std::array<std::size_t, model::kUnestimatedCount> unestimated{};
  for (const auto& b : relations) {
    const auto number = policy::bloat_number(b);  // the number a REINDEX decision would use
    if (!number) {
      ++unestimated[static_cast<std::size_t>(*b.estimate.unestimated)];
      continue;
    }
    const double ratio = number->ratio, wasted = number->wasted_bytes;
    const auto wasted_bytes = static_cast<std::int64_t>(wasted);
    const std::string index = pg::quote_identifier(b.schemaname) + "." + pg::quote_identifier(b.indexrelname);
    Keyed k;
    k.key = wasted;
    if (ratio > t.bloat_ratio_warning && wasted > t.bloat_bytes_warning) {
      k.row.status = Status::kWarning;
      k.row.note = fmt::format("{} of it wasted: ", bytes(wasted_bytes));
      // VACUUM makes the space reusable but gives none back; only a rewrite does.
      if (!b.index)
        k.row.note += "VACUUM does not give the space back; VACUUM FULL rewrites the table under an exclusive lock, "
                      "pg_repack without one";
      else if (!b.valid)
        k.row.note += "the index is invalid: DROP INDEX CONCURRENTLY " + index + " and create it again";
      else if (b.exclusion)
        k.row.note += "it enforces an exclusion constraint, which REINDEX CONCURRENTLY cannot rebuild: REINDEX INDEX " +
                      index + " (blocks writes to the table while it runs)";
      else
        k.row.note += "REINDEX INDEX CONCURRENTLY " + index + " rebuilds it without blocking writes";
    } else {
      k.row.note = wasted > t.bloat_bytes_warning
                       ? fmt::format("below {:.0f}% wasted", 100 * t.bloat_ratio_warning)
                       : "below " + bytes(static_cast<std::int64_t>(t.bloat_bytes_warning)) + " wasted";
    }
    if (b.exact) k.row.note += "; measured " + age(b.exact->measured_unix, now);
    k.row.cells = {table_name(b.schemaname, b.relname), b.index ? b.indexrelname : "-",
                   std::string(number->method), percent(ratio), bytes(wasted_bytes),
                   bytes(static_cast<std::int64_t>(b.shape.relpages * b.shape.block_size)),
                   std::string(report::name(k.row.status))};
    rows.push_back(std::move(k));
  }
  auto s = finish("Bloat", {"table", "index", "method", "wasted %", "wasted", "size", "status"}, std::move(rows));
  // Worst first, so whatever needs attention is listed before anything is left out, and the exit status
  // sees it.
  if (s.rows.size() > t.bloat_rows_shown) {
    const auto left = s.rows.size() - t.bloat_rows_shown;
    const auto left_problems = static_cast<std::size_t>(
        std::count_if(s.rows.begin() + static_cast<std::ptrdiff_t>(t.bloat_rows_shown), s.rows.end(),
                      [](const Row& r) { return r.status != Status::kOk; }));
    s.rows.resize(t.bloat_rows_shown);
    s.footnotes.push_back(fmt::format("... and {} more {} with less wasted{}", left, left == 1 ? "relation" : "relations",
                                      left_problems ? fmt::format(", {} of them above the thresholds", left_problems)
                                                    : std::string()));
  }
  s.ok_rows_shown = t.bloat_rows_shown;
  for (std::size_t i = 0; i < model::kUnestimatedCount; ++i) {
    if (!unestimated[i]) continue;
    const auto reason = static_cast<model::Unestimated>(i);
    std::string_view hint;
    switch (reason) {
      case model::Unestimated::kNeverAnalyzed: hint = "never analyzed, pg_stats has nothing on them: ANALYZE them"; break;
      case model::Unestimated::kNoStatistics:
        hint = "the role cannot read their pg_stats rows (pg_monitor alone sees none for tables it may not SELECT): "
               "GRANT SELECT on them, or check as a role that may read them";
        break;
      case model::Unestimated::kStaleStatistics:
        hint = "changed a lot since their last ANALYZE, the statistics describe rows that are gone: ANALYZE them";
        break;
      case model::Unestimated::kExpressionIndex:
        hint = "indexes on expressions, whose keys pg_stats does not describe: only the exact method (pgstattuple) "
               "can say";
        break;
      case model::Unestimated::kRepeatedKeys:
        hint = "btree indexes whose keys repeat, which deduplication stores once per posting list: only the exact "
               "method (pgstattuple) can say";
        break;
    }
    s.footnotes.push_back(fmt::format("{} {} not estimated, {}: {}", unestimated[i],
                                      unestimated[i] == 1 ? "relation" : "relations", model::name(reason), hint));
  }
  return s;
}

}  // namespace

void escape_json(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  out += '"';
}

std::string_view name(Status s) {
  switch (s) {
    case Status::kOk: return "OK";
    case Status::kWarning: return "WARNING";
    case Status::kCritical: return "CRITICAL";
  }
  return "?";
}

Sources Sources::all(const collectors::Data& data) {
  return {&data, &data, &data, &data, &data, &data};
}

DatabaseReport build(const std::string& target, const std::string& datname, const collectors::Data& data,
                     const Thresholds& t, double now) {
  return build(target, datname, Sources::all(data), t, now);
}

DatabaseReport build(const std::string& target, const std::string& datname, const Sources& sources,
                     const Thresholds& t, double now) {
  DatabaseReport r;
  r.target = target;
  r.datname = datname;
  static const collectors::Data kNone;
  const auto of = [](const collectors::Data* d) -> const collectors::Data& { return d ? *d : kNone; };
  const auto& tables_data = of(sources.tables);
  const auto& tables = tables_data.tables;
  const auto& io = of(sources.io).io;
  const auto& indexes = of(sources.indexes).indexes;
  const auto& statistics = of(sources.indexes).statistics;
  const auto& sequences_read = of(sources.sequences).sequences;
  const auto& databases = of(sources.freeze).databases;
  const auto& freeze_ages = of(sources.freeze).freeze;
  const auto& bloat = of(sources.bloat).bloat;
  Attention attention;
  const Cut cut{t.attention_list ? &attention : nullptr, t.ok_rows_kept};

  std::vector<Keyed> dead, recency, autovac;
  for (const auto& s : tables) {
    if (s.relkind == 'p') continue;  // parents have no counters of their own
    const auto name = table_name(s.schemaname, s.relname);
    const auto ratio = model::dead_tuple_ratio(s.live_tuples, s.dead_tuples);
    const auto n_dead = s.dead_tuples.value_or(0);
    Keyed d;
    d.key = ratio.value_or(0);
    if (ratio && *ratio > t.dead_ratio_critical && n_dead >= t.min_dead_tuples) {
      d.row.status = Status::kCritical;
      d.row.note = fmt::format("dead rows above {:.0f}%: vacuum it", 100 * t.dead_ratio_critical);
    } else if (ratio && *ratio > t.dead_ratio_warning && n_dead >= t.min_dead_tuples) {
      d.row.status = Status::kWarning;
      d.row.note = fmt::format("dead rows above {:.0f}%", 100 * t.dead_ratio_warning);
    } else if (n_dead == 0) {
      d.row.note = "no dead rows";
    } else if (n_dead < t.min_dead_tuples) {
      d.row.note = fmt::format("{} dead rows, below min_dead_tuples {}", n_dead, t.min_dead_tuples);
    } else {
      d.row.note = fmt::format("{} dead, below {:.0f}%", percent(ratio), 100 * t.dead_ratio_warning);
    }
    d.row.cells = {name, std::to_string(s.live_tuples.value_or(0)), std::to_string(n_dead), percent(ratio),
                   std::string(report::name(d.row.status))};
    dead.push_back(std::move(d));

    const auto vacuumed = latest(s.last_vacuum, s.last_autovacuum);
    const auto analyzed = latest(s.last_analyze, s.last_autoanalyze);
    const double stale = t.stale_days * 86400;
    Keyed v;
    v.key = now - analyzed.value_or(0);
    const bool needs_vacuum = n_dead >= t.min_dead_tuples && (!vacuumed || now - *vacuumed > stale);
    const bool needs_analyze = s.mod_since_analyze.value_or(0) > 0 && (!analyzed || now - *analyzed > stale);
    if (needs_vacuum || needs_analyze) {
      v.row.status = Status::kWarning;
      if (needs_vacuum)
        v.row.note = vacuumed ? fmt::format("dead rows and no vacuum for {:.0f} days", t.stale_days)
                              : "dead rows and never vacuumed";
      else
        v.row.note = analyzed ? fmt::format("changed and not analyzed for {:.0f} days", t.stale_days)
                              : "changed and never analyzed";
    } else {
      v.row.note = "recent enough";
    }
    v.row.cells = {name, age(vacuumed, now), age(analyzed, now), std::to_string(s.mod_since_analyze.value_or(0)),
                   std::string(report::name(v.row.status))};
    recency.push_back(std::move(v));

    Keyed a;
    const auto threshold = model::autovacuum_threshold(s);
    const auto due = model::autovacuum_due_ratio(s);
    const auto insert_due = model::autovacuum_insert_due_ratio(s);
    const auto analyze_due = model::autoanalyze_due_ratio(s);
    const double worst_due = std::max({due.value_or(0), insert_due.value_or(0), analyze_due.value_or(0)});
    a.key = worst_due;
    std::string settings = "default";
    if (!s.autovacuum->server_enabled) settings = "server off";
    else if (!s.autovacuum->table_enabled) settings = "disabled";
    else if (s.autovacuum->base_threshold != 50 || s.autovacuum->scale_factor != 0.2)
      settings = fmt::format("threshold={} scale_factor={}", s.autovacuum->base_threshold, s.autovacuum->scale_factor);
    const bool piling = ratio && *ratio > t.dead_ratio_warning && n_dead >= t.min_dead_tuples;
    if (!s.autovacuum->enabled && piling) {
      a.row.status = *ratio > t.dead_ratio_critical ? Status::kCritical : Status::kWarning;
      a.row.note = fmt::format("autovacuum is off {} and {} of its rows are dead",
                               s.autovacuum->server_enabled ? "for the table" : "on the server", percent(ratio));
    } else if (!s.autovacuum->enabled) {
      a.row.note = fmt::format("autovacuum is off {}; {} dead rows so far",
                               s.autovacuum->server_enabled ? "for the table" : "on the server", n_dead);
    } else if (worst_due >= 2) {
      a.row.status = Status::kWarning;
      a.row.note = due && *due >= 2 ? fmt::format("autovacuum is late: {} dead rows, twice its threshold of {:.0f}",
                                                  n_dead, threshold.value_or(0))
                   : insert_due && *insert_due >= 2
                       ? fmt::format("autovacuum is late: {} rows inserted since the last vacuum, twice the insert "
                                     "threshold of {:.0f}",
                                     s.ins_since_vacuum.value_or(0), model::autovacuum_insert_threshold(s).value_or(0))
                       : fmt::format("autoanalyze is late: {} rows modified since the last analyze, twice its "
                                     "threshold of {:.0f}",
                                     s.mod_since_analyze.value_or(0), model::autoanalyze_threshold(s).value_or(0));
    } else {
      a.row.note = worst_due > 1 ? "autovacuum is due" : "autovacuum not due";
    }
    auto ratio_cell = [](std::optional<double> due_ratio) {
      return due_ratio ? fmt::format("{:.2f}", *due_ratio) : std::string("-");
    };
    a.row.cells = {name, settings, threshold ? fmt::format("{:.0f}", *threshold) : "-", ratio_cell(due),
                   ratio_cell(insert_due), ratio_cell(analyze_due), std::string(report::name(a.row.status))};
    autovac.push_back(std::move(a));
  }
  // The server's autovacuum first: off (or track_counts off) means no table is vacuumed but by hand.
  const auto server = std::find_if(tables.begin(), tables.end(), [](const model::TableStats& x) {
    return !x.autovacuum->server_enabled;
  });
  if (server != tables.end()) {
    Keyed k;
    k.key = 1e9;
    k.row.status = Status::kCritical;
    k.row.note = "autovacuum (or track_counts) is off on the server: nothing vacuums or analyzes any table, and "
                 "only anti-wraparound vacuums still run; turn it on (postgresql.conf, then reload)";
    k.row.cells = {"(server)", "off", "-", "-", "-", "-", std::string(report::name(k.row.status))};
    autovac.push_back(std::move(k));
  }
  // Each section is finished (and, for the daemon's page, cut) as soon as its rows are built, so that no more
  // than a few sections of every table are held at once.
  auto dead_section = finish("Dead tuples", {"table", "live", "dead", "dead %", "status"}, std::move(dead), cut);
  auto recency_section = finish("Vacuum and analyze", {"table", "last vacuum", "last analyze", "modified", "status"},
                                std::move(recency), cut);
  auto autovac_section =
      finish("Autovacuum", {"table", "settings", "threshold", "due", "insert due", "analyze due", "status"},
             std::move(autovac), cut);

  std::vector<Keyed> cache;
  for (const auto& s : io) {
    const auto hit = s.heap_blks_hit.value_or(0), read = s.heap_blks_read.value_or(0);
    const auto ratio = model::cache_hit_ratio(s.heap_blks_hit, s.heap_blks_read);
    Keyed c;
    c.key = 1.0 - ratio.value_or(1.0);
    if (hit + read < t.cache_min_blocks) {
      c.row.note = "too little traffic to judge";
    } else if (ratio && *ratio < t.cache_hit_critical) {
      c.row.status = Status::kCritical;
      c.row.note = fmt::format("below {:.0f}% cache hits", 100 * t.cache_hit_critical);
    } else if (ratio && *ratio < t.cache_hit_warning) {
      c.row.status = Status::kWarning;
      c.row.note = fmt::format("below {:.0f}% cache hits", 100 * t.cache_hit_warning);
    } else {
      c.row.note = "served from shared buffers";
    }
    c.row.cells = {table_name(s.schemaname, s.relname), std::to_string(read), std::to_string(hit), percent(ratio),
                   std::string(report::name(c.row.status))};
    cache.push_back(std::move(c));
  }

  // Index health: invalid, duplicate, prefix-redundant, unused with evidence; each with what to do.
  const auto stats_age = statistics ? model::statistics_age(*statistics, now) : std::nullopt;
  auto cache_section =
      finish("Cache hit ratio", {"table", "disk reads", "cache hits", "hit %", "status"}, std::move(cache), cut);

  std::vector<Keyed> idx;
  for (const auto& i : indexes) {
    Keyed k;
    k.key = static_cast<double>(i.size_bytes.value_or(0));
    const std::string name = pg::quote_identifier(i.schemaname) + "." + pg::quote_identifier(i.indexrelname);
    // DROP INDEX CONCURRENTLY takes no lock that blocks writes; an index attached to a partitioned one
    // cannot be dropped alone (the partitioned index is dropped, which CONCURRENTLY cannot do).
    const std::string drop = !i.parent_index.empty()
                                 ? "attached to partitioned index " + i.parent_index.str() + ": DROP INDEX " + i.parent_index.str() +
                                       " drops it on every partition"
                             : !i.constraint_name().empty()
                                 ? "it backs constraint " + pg::quote_identifier(std::string(i.constraint_name())) +
                                       ": ALTER TABLE " + pg::quote_identifier(i.schemaname) + "." +
                                       pg::quote_identifier(i.relname) + " DROP CONSTRAINT " +
                                       pg::quote_identifier(std::string(i.constraint_name()))
                                 : "DROP INDEX CONCURRENTLY " + name;
    const bool unused = model::index_unused(i, stats_age, t.unused_min_stats_age_seconds) == 1.0;
    std::string problem = "-";
    if (!i.valid && !i.building) {
      problem = "invalid";
      k.row.status = Status::kWarning;
      k.row.note = "left invalid (a failed CREATE INDEX CONCURRENTLY?): it costs every write and serves no read; "
                   "DROP INDEX CONCURRENTLY " + name + ", then create it again";
    } else if (!i.valid) {
      problem = "building";
      k.row.note = "being built concurrently right now";
    } else if (!i.redundant_kind.empty()) {
      problem = i.redundant_kind;
      k.row.status = Status::kWarning;
      k.row.note = (i.redundant_kind == "duplicate" ? "identical to " : "a leading prefix of ") + i.covered_by.str() +
                   ", which serves its reads: " + drop;
    } else if (unused && i.size_bytes.value_or(0) >= t.unused_index_min_bytes) {
      problem = "unused";
      k.row.status = Status::kWarning;
      k.row.note = "never scanned in the " + span(*stats_age) + " the statistics cover (check replicas too): " + drop;
    } else if (unused) {
      problem = "unused";
      k.row.note = "never scanned, but small";
    } else if (i.scans.value_or(0) == 0 && i.enforces_constraint) {
      k.row.note = "enforces a constraint";
    } else if (i.scans.value_or(0) == 0 && i.replica_identity) {
      k.row.note = "the table's replica identity";
    } else if (i.scans.value_or(0) == 0) {
      k.row.note = !statistics ? "never scanned: the statistics' age is unknown"
                   : !stats_age ? "never scanned, but the statistics were never reset: a one-shot check cannot tell "
                                  "how long they cover (the daemon judges from when it began watching)"
                                : "never scanned, but the statistics are only " + span(*stats_age) +
                                      " old: judged after " + span(t.unused_min_stats_age_seconds);
    } else {
      k.row.note = "used";
    }
    k.row.cells = {table_name(i.schemaname, i.relname), i.indexrelname, std::to_string(i.scans.value_or(0)),
                   bytes(i.size_bytes), problem, std::string(report::name(k.row.status))};
    idx.push_back(std::move(k));
  }

  auto idx_section =
      finish("Index health", {"table", "index", "scans", "size", "problem", "status"}, std::move(idx), cut);

  std::vector<Keyed> sequences;
  for (const auto& q : sequences_read) {
    Keyed k;
    const auto ratio = model::sequence_used_ratio(q);
    k.key = ratio.value_or(0);
    if (!q.readable) {
      k.row.note = "the role cannot read it: GRANT SELECT ON SEQUENCE " + pg::quote_identifier(q.schemaname) + "." +
                   pg::quote_identifier(q.sequencename) + " TO <pghealthd's role>";
    } else if (ratio && *ratio > t.sequence_critical) {
      k.row.status = Status::kCritical;
      k.row.note = "about to run out: inserts fail at the limit; widen the column and sequence to bigint";
    } else if (ratio && *ratio > t.sequence_warning) {
      k.row.status = Status::kWarning;
      k.row.note = "plan the move to bigint before it runs out";
    } else {
      k.row.note = "far from its limit";
    }
    k.row.cells = {table_name(q.schemaname, q.sequencename), q.readable ? std::to_string(q.last_value) : "-",
                   std::to_string(model::sequence_limit(q)), q.readable ? percent(ratio) : "-",
                   std::string(report::name(k.row.status))};
    sequences.push_back(std::move(k));
  }

  // Freeze age: this database itself, then its tables.
  auto freeze_row = [&](std::string name, model::Count xid, model::Count mxid, std::optional<double> due,
                        std::string max_age) {
    Keyed k;
    const double oldest = wraparound_share(std::max(xid.value_or(0), mxid.value_or(0)));
    k.key = std::max(oldest, due.value_or(0) / 1000);  // the wraparound share first, then the due ratio
    const auto wraparound = wraparound_status(oldest, t);
    if (wraparound == Status::kCritical) {
      k.row.status = Status::kCritical;
      k.row.note = fmt::format("{:.0f}% of the way to wraparound: VACUUM (FREEZE) it now", 100 * oldest);
    } else if (wraparound == Status::kWarning) {
      k.row.status = Status::kWarning;
      k.row.note = fmt::format("{:.0f}% of the way to wraparound", 100 * oldest);
    } else if (due && *due >= t.freeze_due_warning) {
      k.row.status = Status::kWarning;
      k.row.note = "anti-wraparound autovacuum is overdue: look for a held xmin horizon, a lock, or throttling";
    } else {
      k.row.note = due && *due >= 1 ? "anti-wraparound autovacuum is due" : "not due";
    }
    k.row.cells = {std::move(name), xid ? std::to_string(*xid) : "-", mxid ? std::to_string(*mxid) : "-",
                   std::move(max_age), due ? fmt::format("{:.2f}", *due) : "-", std::string(report::name(k.row.status))};
    return k;
  };
  std::vector<Keyed> freeze;
  for (const auto& d : databases)
    if (d.datname == datname) freeze.push_back(freeze_row("(database " + d.datname + ")", d.xid_age, d.mxid_age, {}, "-"));
  for (const auto& f : freeze_ages)
    freeze.push_back(freeze_row(table_name(f.schemaname, f.relname), f.xid_age, f.mxid_age, model::freeze_due_ratio(f),
                                std::to_string(f.freeze_max_age)));

  r.sections.push_back(std::move(dead_section));
  r.sections.push_back(std::move(cache_section));
  r.sections.push_back(std::move(idx_section));
  r.sections.push_back(std::move(recency_section));
  r.sections.push_back(std::move(autovac_section));
  if (!freeze.empty())
    r.sections.push_back(finish("Freeze age", {"table", "xid age", "mxid age", "freeze max age", "due", "status"},
                                std::move(freeze), cut));
  if (!sequences.empty())
    r.sections.push_back(
        finish("Sequences", {"sequence", "last value", "limit", "used", "status"}, std::move(sequences), cut));

  // Autovacuum tuning: a one-shot check has no history of peaks, so it reasons from the dead rows now and
  // says so (policy::advise); the daemon's /advice uses what it saw between autovacuums.
  std::vector<Keyed> tuning;
  policy::AdviceSettings advice;
  advice.target_dead_ratio = t.advice_target_dead_ratio;
  for (auto& [target_, datname_, a] : advise_all(target, datname, tables_data, advice, true)) {
    Keyed k;
    k.key = a.observed_peak;
    k.row.note = a.reasoning + ". Apply: " + a.alter_sql + "; undo: " + a.undo_sql;
    k.row.cells = {table_name(a.schemaname, a.relname), percent(a.observed_peak),
                   a.vacuum_scale_factor ? fmt::format("{}", *a.vacuum_scale_factor) : "-",
                   a.vacuum_cost_limit ? std::to_string(*a.vacuum_cost_limit) : "-",
                   std::string(report::name(k.row.status))};
    tuning.push_back(std::move(k));
  }
  if (!tuning.empty())
    r.sections.push_back(finish("Autovacuum tuning", {"table", "dead now", "scale factor", "cost limit", "status"},
                                std::move(tuning), cut));
  if (!bloat.empty()) {  // (at most bloat_rows_shown rows: nothing to cut)
    r.sections.push_back(bloat_section(bloat, t, now));
    if (cut.attention) cut.attention->add(r.sections.back());
  }
  if (t.attention_list) r.sections.insert(r.sections.begin(), attention.section());
  return r;
}

Status database_status(const DatabaseReport& r) {
  if (!r.error.empty()) return Status::kCritical;
  Status worst = Status::kOk;
  for (const auto& s : r.sections)
    if (!s.chronological)
      for (const auto& row : s.rows) worst = std::max(worst, row.status);
  return worst;
}

Status overall(const std::vector<DatabaseReport>& reports) {
  Status worst = Status::kOk;
  for (const auto& r : reports) worst = std::max(worst, database_status(r));
  return worst;
}

std::string render_text(const std::vector<DatabaseReport>& reports) {
  std::string out;
  for (const auto& r : reports) {
    out += fmt::format("== target {} database {}\n", r.target, r.datname);
    if (!r.error.empty()) {
      out += "CRITICAL: cannot read this database: " + r.error + "\n\n";
      continue;
    }
    for (const auto& s : r.sections) {
      std::size_t problems = 0;
      for (const auto& row : s.rows) problems += row.status != Status::kOk;
      out += fmt::format("\n{} ({} of {} need attention)\n", s.title, problems, s.rows.size());
      auto footnotes = [&] {
        for (const auto& f : s.footnotes) out += "  " + f + "\n";
      };
      if (s.rows.empty()) {
        footnotes();
        continue;
      }
      const std::size_t shown = std::min(s.rows.size(), problems + s.ok_rows_shown);
      std::vector<std::size_t> width(s.columns.size());
      for (std::size_t c = 0; c < s.columns.size(); ++c) width[c] = s.columns[c].size();
      for (std::size_t i = 0; i < shown; ++i)
        for (std::size_t c = 0; c < s.columns.size(); ++c) width[c] = std::max(width[c], s.rows[i].cells[c].size());
      auto line = [&](const std::vector<std::string>& cells, const std::string& note) {
        out += "  ";
        for (std::size_t c = 0; c < cells.size(); ++c)
          out += fmt::format(fmt::runtime(c == 0 ? "{:<{}}  " : "{:>{}}  "), cells[c], width[c]);
        out += note + "\n";
      };
      line(s.columns, "");
      for (std::size_t i = 0; i < shown; ++i) line(s.rows[i].cells, s.rows[i].note);
      if (shown < s.rows.size()) out += fmt::format("  ... and {} more OK\n", s.rows.size() - shown);
      footnotes();
    }
    out += "\n";
  }
  out += fmt::format("Overall: {}\n", name(overall(reports)));
  return out;
}

void limit_rows(std::vector<DatabaseReport>& reports, std::size_t rows) {
  for (auto& r : reports) limit_rows(r, rows);
}

void limit_rows(DatabaseReport& r, std::size_t rows) {
  for (auto& s : r.sections) {
    if (s.chronological || (s.rows.size() <= rows && s.rows_left_out == 0)) continue;
    std::size_t attention = 0;
    for (std::size_t i = rows; i < s.rows.size(); ++i) attention += s.rows[i].status != Status::kOk;
    const std::size_t cut = s.rows.size() > rows ? s.rows.size() - rows : 0;
    s.footnotes.push_back(fmt::format("{} more rows not listed ({} of them need attention)", cut + s.rows_left_out,
                                      attention));
    s.rows.resize(std::min(rows, s.rows.size()));
    s.rows.shrink_to_fit();  // (the daemon keeps the page's reports only while it renders them, but all at once)
  }
}

std::string render_json(const std::vector<DatabaseReport>& reports) {
  std::string out = "{\"status\":";
  escape_json(out, name(overall(reports)));
  out += ",\"databases\":[";
  for (std::size_t d = 0; d < reports.size(); ++d) {
    const auto& r = reports[d];
    if (d) out += ',';
    out += "{\"target\":";
    escape_json(out, r.target);
    out += ",\"datname\":";
    escape_json(out, r.datname);
    if (!r.error.empty()) {
      out += ",\"error\":";
      escape_json(out, r.error);
    }
    if (r.reachable) out += *r.reachable ? ",\"reachable\":true" : ",\"reachable\":false";
    if (!r.collectors.empty()) {
      out += ",\"collectors\":[";
      for (std::size_t c = 0; c < r.collectors.size(); ++c) {
        const auto& col = r.collectors[c];
        if (c) out += ',';
        out += "{\"name\":";
        escape_json(out, col.name);
        out += ",\"last_success_unix\":";
        out += col.last_success_unix ? fmt::format("{:.3f}", *col.last_success_unix) : "null";
        if (!col.error.empty()) {
          out += ",\"error\":";
          escape_json(out, col.error);
        }
        out += '}';
      }
      out += ']';
    }
    out += ",\"sections\":[";
    for (std::size_t s = 0; s < r.sections.size(); ++s) {
      const auto& sec = r.sections[s];
      if (s) out += ',';
      out += "{\"title\":";
      escape_json(out, sec.title);
      out += ",\"columns\":[";
      for (std::size_t c = 0; c < sec.columns.size(); ++c) {
        if (c) out += ',';
        escape_json(out, sec.columns[c]);
      }
      out += "],\"rows\":[";
      for (std::size_t i = 0; i < sec.rows.size(); ++i) {
        const auto& row = sec.rows[i];
        if (i) out += ',';
        out += "{\"status\":";
        escape_json(out, name(row.status));
        out += ",\"cells\":[";
        for (std::size_t c = 0; c < row.cells.size(); ++c) {
          if (c) out += ',';
          escape_json(out, row.cells[c]);
        }
        out += "],\"note\":";
        escape_json(out, row.note);
        if (!row.history.empty()) {
          out += ",\"dead_ratio_history\":[";
          for (std::size_t h = 0; h < row.history.size(); ++h) {
            if (h) out += ',';
            out += row.history[h] ? fmt::format("{:.4f}", *row.history[h]) : "null";
          }
          out += ']';
        }
        out += '}';
      }
      if (sec.chronological) out += "],\"chronological\":true,\"footnotes\":[";
      else out += "],\"footnotes\":[";
      for (std::size_t f = 0; f < sec.footnotes.size(); ++f) {
        if (f) out += ',';
        escape_json(out, sec.footnotes[f]);
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

}  // namespace pghealthd::report
