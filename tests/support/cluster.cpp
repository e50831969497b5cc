#include "support/cluster.h"

#include <libpq-fe.h>
#include <signal.h>

#include <unistd.h>

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

// The first line a shell command prints; throws when it fails.
std::string output_of(const std::string& cmd) {
  std::unique_ptr<FILE, decltype(&pclose)> p(popen(cmd.c_str(), "r"), &pclose);
  if (!p) throw std::runtime_error("cannot run: " + cmd);
  char buf[4096];
  std::string out = fgets(buf, sizeof buf, p.get()) ? buf : "";
  while (fgets(buf, sizeof buf, p.get())) {
  }
  if (pclose(p.release()) != 0) throw std::runtime_error("command failed: " + cmd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace

const std::string& server_major() {
  static const std::string major = [] {
    const char* v = std::getenv("PGHEALTHD_PG_VERSION");
    return std::string(v && *v ? v : "debian");
  }();
  return major;
}

const std::string& server_bindir() {
  // Fetched (once, cached) by scripts/pg-version; a version that cannot be had fails the test, never skips it.
  static const std::string dir = output_of(std::string(PGHEALTHD_SOURCE_DIR) + "/scripts/pg-version " + server_major());
  return dir;
}

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
    run_or_throw("PG_BINDIR=" + server_bindir() + " PG_AUTOVACUUM=" + (autovacuum_ ? "on " : "off ") + script() +
                 " start " + dir_);
    initialized_ = true;
    // The server is the one asked for, or the test fails: a wrong binary must not pass for another version.
    version_ = std::stoi(scalar("SHOW server_version_num"));
    if (server_major() != "debian" && std::to_string(version_ / 10000) != server_major())
      throw std::runtime_error("PGHEALTHD_PG_VERSION=" + server_major() + " but the server is " +
                               std::to_string(version_));
  } else {
    const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
    run_or_throw(as + server_bindir() + "/pg_ctl -w -D " + dir_ + "/data -l " + dir_ + "/server.log start >/dev/null");
  }
  running_ = true;
}

void Cluster::settle_statistics() const {
  if (version_ == 0 || version_ >= 150000) return;  // 15+: the writer flushed them (kFlushStats) into shared memory
  // Before 15 a backend sends its statistics to the collector process at exit at the latest, and readers
  // see the collector's file, which may be up to 0.5 s old: wait for a file written after the writer left.
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(conninfo().c_str()), &PQfinish);
  std::unique_ptr<PGresult, decltype(&PQclear)> t0(PQexec(conn.get(), "SELECT clock_timestamp()::text"), &PQclear);
  const std::string start = PQresultStatus(t0.get()) == PGRES_TUPLES_OK ? PQgetvalue(t0.get(), 0, 0) : "";
  for (int i = 0; i < 100 && !start.empty(); ++i) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(
        PQexec(conn.get(), ("SELECT pg_stat_get_snapshot_timestamp() > '" + start + "'::timestamptz").c_str()),
        &PQclear);
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && std::string(PQgetvalue(r.get(), 0, 0)) == "t") return;
    usleep(50'000);
  }
}

void Cluster::stop() {
  if (!running_) return;
  const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
  run_or_throw(as + server_bindir() + "/pg_ctl -D " + dir_ + "/data -m immediate stop >/dev/null");
  running_ = false;
}

void Cluster::restart(const std::string& mode) {
  const std::string as = ::geteuid() == 0 ? "cd / && runuser -u postgres -- " : "";
  run_or_throw(as + server_bindir() + "/pg_ctl -w -D " + dir_ + "/data -l " + dir_ + "/server.log -m " + mode +
               " restart >/dev/null");
  running_ = true;
}

std::string Cluster::server_log() const {
  std::ifstream in(dir_ + "/server.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
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
  conn.reset();  // before 15 the session's statistics leave with it
  settle_statistics();
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
  settle_statistics();
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
