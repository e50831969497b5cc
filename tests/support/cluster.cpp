#include "support/cluster.h"

#include <libpq-fe.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace pghealthd::test {
namespace {

std::string script() { return std::string(PGHEALTHD_SOURCE_DIR) + "/scripts/pg-throwaway"; }

void run_or_throw(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

}  // namespace

Cluster::Cluster(bool start_now, bool autovacuum) : autovacuum_(autovacuum) {
  char tmpl[] = "/tmp/pghealthd-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_dir_ = dir_ + "/socket";
  if (start_now) start();
}

Cluster::~Cluster() { std::system((script() + " stop " + dir_ + " >/dev/null 2>&1").c_str()); }

void Cluster::start() {
  if (running_) return;
  if (!initialized_) {
    // Autovacuum off: tests assert exact statistics, which a background ANALYZE would change under them.
    run_or_throw(std::string("PG_AUTOVACUUM=") + (autovacuum_ ? "on " : "off ") + script() + " start " + dir_);
    initialized_ = true;
  } else {
    const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
    run_or_throw(as + "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_ctl -w -D " + dir_ +
                 "/data -l " + dir_ + "/server.log start >/dev/null");
  }
  running_ = true;
}

void Cluster::stop() {
  if (!running_) return;
  const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
  run_or_throw(as + "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_ctl -D " + dir_ +
               "/data -m immediate stop >/dev/null");
  running_ = false;
}

void Cluster::restart(const std::string& mode) {
  const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
  run_or_throw(as + "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_ctl -w -D " + dir_ + "/data -l " +
               dir_ + "/server.log -m " + mode + " restart >/dev/null");
  running_ = true;
}

std::string Cluster::conninfo(const std::string& db) const {
  return "host=" + socket_dir_ + " port=5432 user=postgres dbname=" + db;
}

std::vector<Row> Cluster::sql(const std::string& query, const std::string& db) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo(db).c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error(std::string("test connection failed: ") + PQerrorMessage(conn.get()));
  // Flush this session's statistics at the end so the daemon sees the writes without waiting.
  const std::string text = query + ";" + kFlushStats;
  if (!PQsendQuery(conn.get(), text.c_str())) throw std::runtime_error(PQerrorMessage(conn.get()));
  std::vector<Row> rows;
  bool first_tuples = true;
  while (PGresult* r = PQgetResult(conn.get())) {
    std::unique_ptr<PGresult, decltype(&PQclear)> res(r, &PQclear);
    const auto st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      const std::string msg = PQresultErrorMessage(r);
      while (PGresult* rest = PQgetResult(conn.get())) PQclear(rest);
      throw std::runtime_error("SQL failed: " + msg + " in: " + query);
    }
    if (st == PGRES_TUPLES_OK && first_tuples && PQnfields(r) > 0 &&
        std::string(PQfname(r, 0)) != "pg_stat_force_next_flush") {
      first_tuples = false;
      for (int i = 0; i < PQntuples(r); ++i) {
        Row row;
        for (int j = 0; j < PQnfields(r); ++j)
          row.push_back(PQgetisnull(r, i, j) ? std::nullopt
                                             : std::optional<std::string>(PQgetvalue(r, i, j)));
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

void Cluster::exec(const std::string& script, const std::string& db) const {
  const std::string file = dir_ + "/script.sql";
  std::ofstream(file) << script << "\n;" << kFlushStats << "\n";
  const std::string cmd = "psql -X -q -v ON_ERROR_STOP=1 -h " + socket_dir_ + " -U postgres -d " + db +
                          " -f " + file + " >" + dir_ + "/psql.out 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream in(dir_ + "/psql.out");
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    throw std::runtime_error("psql failed: " + out);
  }
}

Session::Session(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(static_cast<PGconn*>(conn_)) != CONNECTION_OK) {
    const std::string msg = PQerrorMessage(static_cast<PGconn*>(conn_));
    PQfinish(static_cast<PGconn*>(conn_));
    throw std::runtime_error("session connection failed: " + msg);
  }
}

Session::~Session() { PQfinish(static_cast<PGconn*>(conn_)); }

int Session::pid() const { return PQbackendPID(static_cast<PGconn*>(conn_)); }

std::string Session::exec(const std::string& sql) {
  auto* c = static_cast<PGconn*>(conn_);
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), &PQclear);
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    throw std::runtime_error("SQL failed: " + std::string(PQresultErrorMessage(r.get())) + " in: " + sql);
  if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 && !PQgetisnull(r.get(), 0, 0)) return PQgetvalue(r.get(), 0, 0);
  return {};
}

std::string Cluster::scalar(const std::string& query, const std::string& db) const {
  auto rows = sql(query, db);
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return {};
  return *rows[0][0];
}

std::vector<int> Cluster::server_pids() const {
  std::vector<int> pids;
  std::ifstream pidfile(dir_ + "/data/postmaster.pid");
  int postmaster = 0;
  if (!(pidfile >> postmaster)) return pids;
  pids.push_back(postmaster);
  const std::string cmd = "pgrep -P " + std::to_string(postmaster);
  if (FILE* p = popen(cmd.c_str(), "r")) {
    int pid = 0;
    while (fscanf(p, "%d", &pid) == 1) pids.push_back(pid);
    pclose(p);
  }
  return pids;
}

std::string bloated_table(const std::string& quoted, int rows, int dead) {
  return "CREATE TABLE " + quoted + " (id int PRIMARY KEY, pad text);\n"
         "INSERT INTO " + quoted + " SELECT g, repeat('x', 100) FROM generate_series(1, " + std::to_string(rows) +
         ") g;\nANALYZE " + quoted + ";\nDELETE FROM " + quoted + " WHERE id <= " + std::to_string(dead) + ";\n";
}

}  // namespace pghealthd::test
