#include "pg/connection.h"

#include <cstring>
#include <fstream>

#include "pg/canceller.h"

namespace pghealthd::pg {
namespace {

// How long the server gets to answer a cancel request before we give the connection up.
constexpr std::chrono::seconds kCancelGrace{3};

// libpq messages span lines ("...failed: ...\n\tIs the server running..."): one line for logs.
std::string one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p; ++p) {
    const char c = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Error connection_error(PGconn* conn, std::string_view fallback = "connection lost") {
  std::string msg = conn ? one_line(PQerrorMessage(conn)) : std::string();
  return {Error::Kind::kConnection, {}, msg.empty() ? std::string(fallback) : msg};
}

Error server_error(const PGresult* r) {
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  return {Error::Kind::kServer, state ? state : "", one_line(primary ? primary : PQresultErrorMessage(r))};
}

// The server a connection talks to, as the canceller groups cancel requests: a frozen server then holds
// at most one canceller thread (pg/canceller.h).
std::string server_key(PGconn* c) {
  const char* host = PQhost(c);
  const char* port = PQport(c);
  return std::string(host ? host : "") + ":" + (port ? port : "");
}

Error closed_error() { return {Error::Kind::kClosed, {}, "connection closed by pghealthd"}; }

struct Started {
  PGconn* conn = nullptr;
  std::string error;
};

// Runs on the blocking pool: reading the password file and PQconnectStartParams (which may resolve a
// host name synchronously) must not stall the loop.
Started start_connect(const ConnectParams& p) {
  Started s;
  std::string password;
  if (p.password_file) {
    std::ifstream in(*p.password_file);
    if (!in || !std::getline(in, password)) {
      s.error = "cannot read password_file " + *p.password_file;
      return s;
    }
    while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) password.pop_back();
  }
  // expand_dbname=1 expands the first "dbname" as a conninfo string or URI; later keywords override it.
  std::vector<const char*> keys{"dbname"};
  std::vector<const char*> values{p.conninfo.c_str()};
  if (p.dbname) {
    keys.push_back("dbname");
    values.push_back(p.dbname->c_str());
  }
  keys.push_back("application_name");
  values.push_back(p.application_name.c_str());
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  s.conn = PQconnectStartParams(keys.data(), values.data(), 1);
  if (!password.empty()) explicit_bzero(password.data(), password.size());
  if (!s.conn) s.error = "out of memory starting a connection";
  return s;
}

}  // namespace

std::string describe(const Error& e) {
  return e.sqlstate.empty() ? e.message : e.message + " (SQLSTATE " + e.sqlstate + ")";
}

int ResultRows::column(std::string_view name) const {
  const int n = PQnfields(r_);
  for (int i = 0; i < n; ++i)
    if (name == PQfname(r_, i)) return i;
  return -1;
}

std::optional<std::string_view> ResultRows::get(int row, int col) const {
  if (PQgetisnull(r_, row, col)) return std::nullopt;
  return std::string_view(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}

struct Connection::Wait {
  Wait(const asio::any_io_executor& ex, int fd) : desc(ex, fd), timer(ex) {}
  asio::posix::stream_descriptor desc;
  asio::steady_timer timer;
  bool timed_out = false;
  bool closed = false;
};

Connection::Connection(asio::any_io_executor loop, asio::thread_pool& blocking)
    : loop_(std::move(loop)), blocking_(blocking) {}

Connection::~Connection() { close(); }

bool Connection::connected() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }

bool Connection::in_transaction() const {
  if (!connected()) return false;
  const auto st = PQtransactionStatus(conn_);
  return st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

bool Connection::transaction_failed() const { return connected() && PQtransactionStatus(conn_) == PQTRANS_INERROR; }

int Connection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

int Connection::server_version() const { return conn_ ? PQserverVersion(conn_) : 0; }

void Connection::on_notice(void* self, const PGresult* res) {
  auto* c = static_cast<Connection*>(self);
  if (!c->notices_) return;
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  c->notices_->push_back({severity ? severity : "NOTICE", state ? state : "", one_line(primary)});
}

void Connection::finish_off_loop() {
  if (!conn_) return;
  PGconn* c = conn_;
  conn_ = nullptr;
  PQsetNoticeReceiver(
      c, [](void*, const PGresult*) {}, nullptr);
  // PQfinish sends a Terminate message and may block on a full socket buffer.
  asio::post(blocking_, [c] { PQfinish(c); });
}

void Connection::close() {
  ++generation_;
  if (auto w = std::move(wait_)) {
    w->closed = true;
    // release(), not cancel(): it aborts the wait all the same, and takes the fd out of epoll here, on
    // the loop, before finish_off_loop() hands it to PQfinish on the pool. Left to the waiting coroutine,
    // the epoll_ctl(DEL) ran after PQfinish could have closed the fd, or after a new connection reused
    // its number (a data race on the fd, found by TSan).
    w->desc.release();
  }
  finish_off_loop();
}

void Connection::cancel_and_close() {
  PGcancel* cancel = conn_ ? PQgetCancel(conn_) : nullptr;
  PGconn* c = conn_;
  conn_ = nullptr;  // close() below then has nothing to finish: the job below owns it
  close();
  if (!c) return;
  PQsetNoticeReceiver(c, [](void*, const PGresult*) {}, nullptr);
  // PQcancel blocks until the server answers, with no timeout (forever against a frozen server), so it
  // runs on the canceller's threads, never on the blocking pool that every connect and PQfinish needs.
  // PQfinish follows it in the same job: closing first would let a backend that does not read its socket
  // mid-statement run on.
  const bool queued = cancel && Canceller::shared().submit(server_key(c), [cancel, c] {
    char buf[256];
    PQcancel(cancel, buf, sizeof buf);
    PQfreeCancel(cancel);
    PQfinish(c);
  });
  if (queued) return;
  // No cancel object, or the canceller's queue is full (it logged that): close without the cancel. The
  // server still notices the closed socket (a vacuum session checks it every second).
  if (cancel) PQfreeCancel(cancel);
  asio::post(blocking_, [c] { PQfinish(c); });
}

std::string Connection::escape_identifier(const std::string& name) const {
  if (!conn_) return {};
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  if (!quoted) return {};
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

void Connection::cancel_running() {
  if (!conn_) return;
  PGcancel* c = PQgetCancel(conn_);
  if (!c) return;
  // PQcancel opens a new connection to the server and waits for its answer, with no timeout of its own:
  // against a frozen server it blocks until the server wakes. The canceller's few threads of their own
  // keep that from starving the blocking pool, and bound how many such calls can pile up.
  if (!Canceller::shared().submit(server_key(conn_), [c] {
        char buf[256];
        PQcancel(c, buf, sizeof buf);
        PQfreeCancel(c);
      }))
    PQfreeCancel(c);  // dropped (queue full): the query's grace deadline closes the connection instead
}

awaitable<Connection::WaitResult> Connection::wait_socket(bool for_write, Clock::time_point deadline) {
  // libpq may replace its socket (multi-host conninfo, SSL/GSS retries), often under the same fd number,
  // so the descriptor is wrapped afresh for every wait and released (never closed) after it.
  const int fd = conn_ ? PQsocket(conn_) : -1;
  if (fd < 0) co_return WaitResult::kError;
  std::shared_ptr<Wait> w;
  try {
    w = std::make_shared<Wait>(loop_, fd);
  } catch (const boost::system::system_error&) {
    co_return WaitResult::kError;
  }
  wait_ = w;
  w->timer.expires_at(deadline);
  w->timer.async_wait([w](boost::system::error_code ec) {
    if (ec) return;
    w->timed_out = true;
    boost::system::error_code ignored;
    w->desc.cancel(ignored);
  });
  boost::system::error_code ec;
  co_await w->desc.async_wait(
      for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read,
      asio::redirect_error(use_awaitable, ec));
  w->timer.cancel();
  w->desc.release();
  if (wait_ == w) wait_.reset();
  if (!ec) co_return WaitResult::kReady;
  if (w->closed) co_return WaitResult::kClosed;
  if (w->timed_out) co_return WaitResult::kTimeout;
  co_return WaitResult::kError;
}

awaitable<std::optional<Error>> Connection::connect(ConnectParams params) {
  close();
  const auto gen = generation_;
  Started s = co_await asio::co_spawn(
      blocking_, [&params]() -> awaitable<Started> { co_return start_connect(params); }, use_awaitable);
  if (gen != generation_) {
    if (s.conn) asio::post(blocking_, [c = s.conn] { PQfinish(c); });
    co_return closed_error();
  }
  if (!s.conn) co_return Error{Error::Kind::kConnection, {}, s.error};
  conn_ = s.conn;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    auto e = connection_error(conn_, "connection failed");
    close();
    co_return e;
  }
  PQsetnonblocking(conn_, 1);
  PQsetNoticeReceiver(conn_, &Connection::on_notice, this);

  const auto deadline = Clock::now() + params.connect_timeout;
  // Just after PQconnectStart, behave as if PQconnectPoll had asked to wait for writing.
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      auto e = connection_error(conn_, "connection failed");
      close();
      co_return e;
    }
    const auto w = co_await wait_socket(st == PGRES_POLLING_WRITING, deadline);
    if (gen != generation_ || w == WaitResult::kClosed) co_return closed_error();
    if (w == WaitResult::kTimeout) {
      close();
      co_return Error{Error::Kind::kTimeout, {}, "connecting timed out"};
    }
    if (w == WaitResult::kError) {
      auto e = connection_error(conn_, "connection failed");
      close();
      co_return e;
    }
    st = PQconnectPoll(conn_);
  }

  // Session settings are the server-side backstop for our own deadlines. JIT off: our catalog queries
  // cross its cost threshold at thousands of tables and pay ~40 ms of compilation for nothing.
  // stats_fetch_consistency = snapshot (PostgreSQL 15+; CASE keeps older servers from seeing the name):
  // each transaction reads every statistics entry from one copy taken at its first access (as servers
  // before 15 read their statistics file), so the counters of one collection, or of the collectors that
  // share a transaction (app/database_watch.h), are mutually consistent, and a collection over thousands
  // of relations costs the server ~25% less CPU than fetching entry by entry (bench/RESULTS.md).
  // (The SQL sits in a variable: GCC 12 rejects a string literal argument inside co_await.)
  static constexpr std::string_view kSetup =
      "SELECT set_config('statement_timeout', $1, false), set_config('lock_timeout', $2, false), "
      "set_config('jit', 'off', false), current_setting('is_superuser') = 'on', "
      "CASE WHEN current_setting('server_version_num')::int >= 150000 "
      "THEN set_config('stats_fetch_consistency', 'snapshot', false) END";
  std::vector<std::string> values{std::to_string(params.statement_timeout.count()),
                                  std::to_string(params.lock_timeout.count())};
  auto setup = co_await query(kSetup, std::move(values), params.connect_timeout);
  if (setup.error) {
    close();
    co_return setup.error;
  }
  {
    const auto su = ResultRows(setup.result.get()).get(0, 3);
    superuser_ = su && *su == "t";
  }
  co_return std::nullopt;
}

awaitable<QueryOutcome> Connection::query(std::string_view sql, std::vector<std::string> params,
                                          std::chrono::milliseconds timeout) {
  co_return co_await run(sql, std::move(params), timeout, nullptr);
}

awaitable<RowsOutcome> Connection::query_rows(std::string_view sql, std::vector<std::string> params,
                                              std::chrono::milliseconds timeout) {
  RowsOutcome out;
  auto q = co_await run(sql, std::move(params), timeout, &out.rows);
  out.notices = std::move(q.notices);
  if (q.error) {
    out.error = std::move(q.error);
    out.rows.clear();
  }
  co_return out;
}

namespace {

// Copies a result's rows into `into` (the first result also gives the columns); false when they do not fit.
bool pack(const PGresult* r, PackedRows& into, std::vector<std::optional<std::string_view>>& fields) {
  const int columns = PQnfields(r);
  if (!into.has_columns()) {
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) names.emplace_back(PQfname(r, c));
    into.set_columns(std::move(names));
  }
  fields.resize(static_cast<std::size_t>(columns));
  const ResultRows rows(r);
  for (int row = 0; row < rows.size(); ++row) {
    for (int c = 0; c < columns; ++c) fields[static_cast<std::size_t>(c)] = rows.get(row, c);
    if (!into.append(fields.data(), fields.size())) return false;
  }
  return true;
}

}  // namespace

awaitable<QueryOutcome> Connection::run(std::string_view sql, std::vector<std::string> params,
                                        std::chrono::milliseconds timeout, PackedRows* into) {
  QueryOutcome out;
  if (!connected()) {
    out.error = Error{Error::Kind::kConnection, {}, "not connected"};
    co_return out;
  }
  const auto gen = generation_;
  const std::string text(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());

  struct NoticeScope {  // notices reach `out` only while this query runs
    Connection& c;
    NoticeScope(Connection& conn, std::vector<Notice>* sink) : c(conn) { c.notices_ = sink; }
    ~NoticeScope() { c.notices_ = nullptr; }
  } scope(*this, &out.notices);

  // The extended protocol runs exactly one statement (in autocommit unless the caller began a block).
  if (!PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0)) {
    out.error = connection_error(conn_);
    close();
    co_return out;
  }
  // Single-row mode must be asked for right after sending. Should libpq refuse it, the rows come in one
  // result and are packed from there: the same rows, only not bounded in flight.
  if (into) PQsetSingleRowMode(conn_);
  std::vector<std::optional<std::string_view>> fields;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    const int f = PQflush(conn_);
    if (f == 0) break;
    WaitResult w = f < 0 ? WaitResult::kError : co_await wait_socket(true, deadline);
    if (gen != generation_ || w == WaitResult::kClosed) {
      out.error = closed_error();
      co_return out;
    }
    if (w != WaitResult::kReady) {
      out.error = w == WaitResult::kTimeout ? Error{Error::Kind::kTimeout, {}, "sending the query timed out"}
                                            : connection_error(conn_);
      close();
      co_return out;
    }
  }

  bool cancel_sent = false;
  ResultPtr last;
  std::optional<Error> failure;
  for (;;) {
    if (!PQconsumeInput(conn_)) {
      out.error = connection_error(conn_);
      close();
      co_return out;
    }
    bool done = false;
    while (!PQisBusy(conn_)) {
      ResultPtr r(PQgetResult(conn_));
      if (!r) {
        done = true;
        break;
      }
      const auto st = PQresultStatus(r.get());
      if (into && (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) && !failure && !pack(r.get(), *into, fields))
        failure = Error{Error::Kind::kServer, {}, "a row of the server's answer is too large to keep"};
      if (st == PGRES_SINGLE_TUPLE) continue;
      if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
        if (!failure) last = std::move(r);
      } else if (!failure) {
        failure = server_error(r.get());
      }
    }
    if (done) break;
    const auto w = co_await wait_socket(false, deadline);
    if (gen != generation_ || w == WaitResult::kClosed) {
      out.error = closed_error();
      co_return out;
    }
    if (w == WaitResult::kTimeout) {
      if (!cancel_sent) {
        cancel_running();
        cancel_sent = true;
        deadline = Clock::now() + kCancelGrace;
        continue;
      }
      // The server answered neither the query nor the cancel: it is stuck or gone.
      out.error = Error{Error::Kind::kTimeout, {}, "the server did not answer within the deadline"};
      close();
      co_return out;
    }
    if (w == WaitResult::kError) {
      out.error = connection_error(conn_);
      close();
      co_return out;
    }
  }
  if (failure) {
    if (cancel_sent) failure->kind = Error::Kind::kTimeout;
    out.error = std::move(failure);
  } else {
    out.result = std::move(last);
  }
  co_return out;
}

}  // namespace pghealthd::pg
