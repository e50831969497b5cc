// A throwaway PostgreSQL cluster for one test (scripts/pg-throwaway), of the version PGHEALTHD_PG_VERSION
// names (scripts/pg-version; default Debian's 15), plus a synchronous libpq client
// for setting up data and reading what SQL says. Test code only: the daemon never blocks like this.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pghealthd::test {

using Row = std::vector<std::optional<std::string>>;

class Cluster {
 public:
  // Starts at once unless `start_now` is false (for "the database is down at start-up" tests).
  // Autovacuum is off unless asked for: tests assert exact statistics that it would change under them.
  explicit Cluster(bool start_now = true, bool autovacuum = false);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  void start();
  void stop();  // immediate stop; start() brings the same data back
  void restart(const std::string& mode);  // pg_ctl restart -m fast|immediate|smart
  [[nodiscard]] const std::string& socket_dir() const { return socket_dir_; }
  [[nodiscard]] std::string conninfo(const std::string& db = "postgres") const;

  // Runs a script through psql, each statement on its own in autocommit (VACUUM, CREATE DATABASE...).
  void exec(const std::string& script, const std::string& db = "postgres") const;
  // Runs one query as the superuser and returns its rows; throws with the server's message on error.
  std::vector<Row> sql(const std::string& query, const std::string& db = "postgres") const;
  // First column of the first row.
  std::string scalar(const std::string& query, const std::string& db = "postgres") const;
  // Server process ids (postmaster first), for freezing the server with SIGSTOP.
  [[nodiscard]] std::vector<int> server_pids() const;
  // The server's log so far (pg_ctl -l), for tests that turn on log_statement.
  [[nodiscard]] std::string server_log() const;
  // server_version_num, e.g. 150004 (known once started).
  [[nodiscard]] int version() const { return version_; }

 private:
  std::string dir_;
  std::string socket_dir_;
  bool running_ = false;
  bool initialized_ = false;
  bool autovacuum_ = false;
  int version_ = 0;
  // Before PostgreSQL 15, waits until the statistics of writes just made are visible to other sessions.
  void settle_statistics() const;
};

// The PostgreSQL major version the tests run on: PGHEALTHD_PG_VERSION (13 ... 18), default "debian"
// (Debian's postgresql-15), and the directory of its server binaries (scripts/pg-version).
const std::string& server_major();
const std::string& server_bindir();

// One persistent session, for tests that hold a lock or a transaction open while pghealthd works.
class Session {
 public:
  explicit Session(const std::string& conninfo);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // Runs SQL and returns the first column of the first row ("" when none); throws on error.
  std::string exec(const std::string& sql);
  [[nodiscard]] int pid() const;

 private:
  void* conn_;  // PGconn, kept out of this header
};

// SQL for a table `quoted` (a name as SQL takes it) of `rows` rows of 100 bytes, analyzed, whose first `dead`
// rows are then deleted: dead rows not yet vacuumed. At 200,000 / 100,000 a VACUUM throttled to
// cost_limit 1 and cost_delay 100ms runs for minutes.
std::string bloated_table(const std::string& quoted, int rows, int dead);

// Cancels a backend's running statement when the test leaves its scope, passed or failed: a statement
// throttled to minutes (a VACUUM with cost_delay) would otherwise keep the test waiting.
struct CancelOnExit {
  const Cluster& pg;
  int pid;
  ~CancelOnExit() {
    try {
      pg.sql("SELECT pg_cancel_backend(" + std::to_string(pid) + ")");
    } catch (...) {
    }
  }
};

// Makes the statistics of this session's writes visible now instead of within a second (15+; before 15 a
// session sends them at most every 0.5 s by itself, and PL/pgSQL resolves the function only if it runs).
inline constexpr const char* kFlushStats =
    "DO $$BEGIN IF current_setting('server_version_num')::int >= 150000 THEN "
    "PERFORM pg_stat_force_next_flush(); END IF; END$$;";

}  // namespace pghealthd::test
