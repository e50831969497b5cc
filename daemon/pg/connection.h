// One PostgreSQL connection driven by libpq's asynchronous API on an Asio event loop.
//
// The loop only *waits* on libpq's socket; libpq owns it. Calls that can block (PQconnectStartParams on
// DNS and file reads, PQfinish) run on a separate blocking pool so the loop never stalls; PQcancel, which
// can block forever, runs on the canceller's threads of its own (pg/canceller.h).
// Every wait has a deadline; a query past its deadline is cancelled on the server, and a server that
// does not answer the cancel within a grace period loses the connection.
//
// Thread-safety: a Connection is used from the loop thread only, one query at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/rows.h"
#include "base/asio.h"
#include "pg/error.h"

namespace pghealthd::pg {

using Clock = std::chrono::steady_clock;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// A PGresult seen as collector rows. Column lookup is exact (PQfnumber would fold case).
class ResultRows final : public Rows {
 public:
  explicit ResultRows(const PGresult* r) : r_(r) {}
  [[nodiscard]] int size() const override { return PQntuples(r_); }
  [[nodiscard]] int column(std::string_view name) const override;
  [[nodiscard]] std::optional<std::string_view> get(int row, int col) const override;

 private:
  const PGresult* r_;
};

// One text parameter for query(). (A function, not a braced list at the call: GCC 12 rejects an
// initializer_list of strings inside a co_await expression with "array used as initializer".)
[[nodiscard]] inline std::vector<std::string> one_param(std::string value) {
  std::vector<std::string> v;
  v.push_back(std::move(value));
  return v;
}

struct QueryOutcome {
  ResultPtr result;  // the last result (rows or command status) when no error
  std::optional<Error> error;
  std::vector<Notice> notices;
};

// query_rows' outcome: the rows (none when there is an error) instead of a PGresult.
struct RowsOutcome {
  PackedRows rows;
  std::optional<Error> error;
  std::vector<Notice> notices;
};

struct ConnectParams {
  std::string conninfo;               // user's conninfo or URI
  std::optional<std::string> dbname;  // replaces conninfo's dbname
  std::optional<std::string> password_file;
  std::string application_name = "pghealthd";
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds statement_timeout{15'000};
  std::chrono::milliseconds lock_timeout{1'000};
  bool operator==(const ConnectParams&) const = default;  // a reload that changes none keeps its engine
};

class Connection {
 public:
  // `blocking` runs the calls that may block; it must outlive every connection using it.
  Connection(asio::any_io_executor loop, asio::thread_pool& blocking);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects and prepares the session (statement_timeout, lock_timeout, no JIT). Drops any old connection.
  [[nodiscard]] awaitable<std::optional<Error>> connect(ConnectParams params);

  // Runs one statement with text parameters: in autocommit, unless the caller began a transaction block
  // (a BEGIN through query(); it ends it with COMMIT or ROLLBACK, see in_transaction()).
  [[nodiscard]] awaitable<QueryOutcome> query(std::string_view sql, std::vector<std::string> params,
                                              std::chrono::milliseconds timeout);

  // query() for a statement that returns rows, copying them as they arrive (libpq's single-row mode) into
  // PackedRows, so that a large answer never sits whole in a PGresult. Deadlines, cancellation and errors
  // as query().
  [[nodiscard]] awaitable<RowsOutcome> query_rows(std::string_view sql, std::vector<std::string> params,
                                                  std::chrono::milliseconds timeout);

  [[nodiscard]] bool connected() const;
  // Whether a transaction block is open (PQtransactionStatus: idle in it, or failed in it), and whether it
  // failed: then every statement fails until a ROLLBACK.
  [[nodiscard]] bool in_transaction() const;
  [[nodiscard]] bool transaction_failed() const;
  [[nodiscard]] int backend_pid() const;
  // The server's version as PQserverVersion gives it (150004 for 15.4); 0 when not connected.
  [[nodiscard]] int server_version() const;
  // Whether the session's role is a superuser (pghealthd never needs one).
  [[nodiscard]] bool superuser() const { return superuser_; }

  // Drops the connection (PQfinish off the loop); a query or connect in progress ends with kClosed.
  void close();

  // Cancels the running statement on the server (on the canceller's threads), keeping the connection.
  // When the canceller's queue is full the cancel is dropped; the query's grace deadline then closes.
  void cancel_running();

  // Cancels the running statement, then closes: both on the canceller's threads, in that order, so the
  // server ends the statement and the backend even when it would not read the socket until the statement
  // finished. When the canceller's queue is full it closes (on the blocking pool) without the cancel.
  void cancel_and_close();

  // PQescapeIdentifier: quotes one identifier with the connection's encoding rules. Empty when not connected.
  [[nodiscard]] std::string escape_identifier(const std::string& name) const;

 private:
  struct Wait;
  enum class WaitResult { kReady, kTimeout, kClosed, kError };
  // query() and query_rows(): with `into`, rows go there as they arrive and out.result is the final, empty one.
  awaitable<QueryOutcome> run(std::string_view sql, std::vector<std::string> params,
                              std::chrono::milliseconds timeout, PackedRows* into);
  awaitable<WaitResult> wait_socket(bool for_write, Clock::time_point deadline);
  void finish_off_loop();
  static void on_notice(void* self, const PGresult* res);

  asio::any_io_executor loop_;
  asio::thread_pool& blocking_;
  PGconn* conn_ = nullptr;
  std::shared_ptr<Wait> wait_;  // the socket wait in progress, so close() can abort it
  std::vector<Notice>* notices_ = nullptr;
  std::uint64_t generation_ = 0;
  bool superuser_ = false;  // bumped by close(): a coroutine that sees it change stops
};


}  // namespace pghealthd::pg
