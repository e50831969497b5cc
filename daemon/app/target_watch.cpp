#include "app/target_watch.h"

#include <spdlog/spdlog.h>

#include <set>

#include "pg/conninfo.h"

namespace pghealthd::app {
namespace {

constexpr std::string_view kListDatabases =
    "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname";

}  // namespace

TargetWatch::TargetWatch(Context& ctx, config::Target target)
    : ctx_(ctx),
      target_(std::move(target)),
      include_(config::compile_patterns(target_.include_databases)),
      exclude_(config::compile_patterns(target_.exclude_databases)),
      conn_(ctx.loop, ctx.blocking),
      timer_(ctx.loop) {
  ctx_.store.set_target_labels(target_.name, target_.labels);
  auto& series = ctx_.store.add_target(target_.name);
  series.connections_max->Set(target_.connection.max_connections);
  slots_ = std::make_shared<SlotPool>(ctx_.loop, target_.connection.max_connections, series.connections,
                                      series.waiters);
}

std::size_t TargetWatch::databases_up() const {
  std::size_t n = 0;
  for (const auto& [name, db] : dbs_) n += db->up() ? 1 : 0;
  return n;
}

void TargetWatch::add(const std::string& datname, bool override_dbname) {
  auto db = std::make_shared<DatabaseWatch>(
      ctx_, target_, datname, override_dbname ? std::optional<std::string>(datname) : std::nullopt, slots_);
  dbs_.emplace(datname, db);
  db->start();
  spdlog::info("watching database target={} datname={}", target_.name, datname);
}

void TargetWatch::start() {
  if (target_.autodiscover) {
    asio::co_spawn(ctx_.loop, discover(shared_from_this()), asio::detached);
    return;
  }
  if (!target_.databases.empty()) {
    for (const auto& d : target_.databases) add(d, true);
  } else {
    add(pg::default_dbname(target_.conninfo), false);
  }
  designate();
  withdraw_inherited();
}

void TargetWatch::designate() {
  bool first = true;  // the first by name
  for (auto& [name, db] : dbs_) {
    db->report_databases(first);
    first = false;
  }
}

void TargetWatch::stop(bool withdraw) {
  stopped_ = true;
  timer_.cancel();
  conn_.close();
  slots_->detach_metrics();  // a successor of the same name owns the target's series from now on
  for (auto& [name, db] : dbs_) db->stop(withdraw);
  dbs_.clear();
  if (withdraw) ctx_.store.remove_target(target_.name);
}

std::set<metrics::DbKey> TargetWatch::keys() const {
  std::set<metrics::DbKey> out;
  for (const auto& [name, db] : dbs_) out.insert(db->key());
  return out;
}

void TargetWatch::withdraw_inherited() {
  for (const auto& key : inherited_)
    if (!dbs_.count(key.datname) || key.target != target_.name) {
      ctx_.engines.unwatch(key, "the database is no longer watched");
      ctx_.store.remove_database(key);
    }
  inherited_.clear();
}

void TargetWatch::sync(const std::vector<std::string>& names) {
  std::set<std::string> wanted;
  for (const auto& n : names)
    if (config::selected(n, include_, exclude_)) wanted.insert(n);
  for (auto it = dbs_.begin(); it != dbs_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("database is gone or no longer selected target={} datname={}", target_.name, it->first);
    it->second->stop();
    it = dbs_.erase(it);
  }
  for (const auto& n : wanted)
    if (!dbs_.count(n)) add(n, true);
  designate();
}

awaitable<void> TargetWatch::discover([[maybe_unused]] std::shared_ptr<TargetWatch> self) {
  const auto params = connect_params(target_, std::nullopt);
  auto backoff = target_.connection.backoff_initial;
  while (!stopped_) {
    std::optional<pg::Error> err;
    if (!conn_.connected()) err = co_await conn_.connect(params);
    if (stopped_) break;
    if (!err) {
      auto q = co_await conn_.query(kListDatabases, {}, target_.connection.statement_timeout);
      if (stopped_) break;
      if (q.error) {
        err = q.error;
      } else {
        std::vector<std::string> names;
        pg::ResultRows rows(q.result.get());
        for (int r = 0; r < rows.size(); ++r)
          if (auto v = rows.get(r, 0)) names.emplace_back(*v);
        sync(names);
        withdraw_inherited();
        if (!last_error_.empty()) spdlog::info("database discovery recovered target={}", target_.name);
        last_error_.clear();
        backoff = target_.connection.backoff_initial;
      }
    }
    auto wait = target_.discovery_interval;
    if (err) {
      const auto why = pg::describe(*err);
      if (why != last_error_)
        spdlog::warn("cannot list databases, keeping the current set target={} error=\"{}\"", target_.name,
                     why);
      last_error_ = why;
      wait = std::min(backoff, target_.discovery_interval);
      backoff = std::min(backoff * 2, target_.connection.backoff_max);
    }
    timer_.expires_after(wait);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

}  // namespace pghealthd::app
