// Load: wrk on /metrics while every collector runs on a short interval, then clients that misbehave —
// hundreds that send half a request or never read their answer, and requests that are oversized or
// malformed. pghealthd must fail no request, keep its schedule and its memory, and keep answering.
//
// Size of the wrk test (defaults fit CI, ~1 min on 2 cores; it runs alone, RUN_SERIAL):
//   PGHEALTHD_LOAD_TABLES       tables, two indexes each                      (default 2000)
//   PGHEALTHD_LOAD_SECONDS      how long wrk runs                             (default 20)
//   PGHEALTHD_LOAD_INTERVAL     every collector's interval, seconds           (default 1 per 2,500 tables, at least 1)
//   PGHEALTHD_LOAD_CONNECTIONS  wrk's connections (2 threads)                 (default 4)
// A full run:  PGHEALTHD_LOAD_TABLES=10000 PGHEALTHD_LOAD_SECONDS=60 build/tests/soak_tests "[wrk]"
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>

#include "collectors/collector.h"
#include "support/cluster.h"
#include "support/daemon.h"
#include "support/proc.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The endpoint's limits (daemon/http/server.h, Limits), as a user would read them in the code.
constexpr auto kReadTimeout = 10s;   // a whole request must arrive within this
constexpr auto kWriteTimeout = 60s;  // a whole answer must be taken within this
constexpr int kMaxConnections = 64;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string mib(std::size_t kib) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(kib) / 1024.0 << " MiB";
  return s.str();
}

// `n` tables load_tK, each with a primary key and an index on v, in transactions of 250 tables.
std::string create_tables(long n) {
  return "DO $$ BEGIN\nFOR i IN 1.." + std::to_string(n) +
         " LOOP\n"
         "  EXECUTE format('CREATE TABLE load_t%s (id int PRIMARY KEY, v int NOT NULL, note text)', i);\n"
         "  EXECUTE format('CREATE INDEX load_t%s_v ON load_t%s (v)', i, i);\n"
         "  IF i % 250 = 0 THEN COMMIT; END IF;\nEND LOOP;\nEND $$;\n"
         "INSERT INTO load_t1 SELECT g, g, 'x' FROM generate_series(1, 1000) g;\n";
}

std::string collectors_every(long seconds) {
  const std::string i = "{ interval: " + std::to_string(seconds) + "s }";
  return "collectors:\n  stat_user_tables: " + i + "\n  statio_user_tables: " + i + "\n  stat_user_indexes: " + i +
         "\n  xmin_horizon: " + i + "\n  vacuum_progress: " + i + "\n  freeze: " + i + "\n  sequences: " + i +
         "\n  bloat: " + i + "\n";
}

// pghealthd's own collector series, without parsing a body of tens of MB in the test.
Scrape collector_series(const Daemon& d) {
  return Scrape(run("curl -sS --max-time 20 http://127.0.0.1:" + std::to_string(d.port()) +
                    "/metrics | grep '^pghealthd_collector_'"));
}

std::map<std::string, double> per_collector(const Scrape& s, const std::string& name) {
  std::map<std::string, double> out;
  for (const auto& x : s.all(name)) out[x.labels.at("collector")] = x.value;
  return out;
}

// wrk's own summary, from a done() hook: every kind of error it counts, and the latency percentiles.
const char* const kWrkScript = R"(
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d bytes=%.0f connect=%d read=%d write=%d status=%d timeout=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
)";

struct WrkResult {
  std::map<std::string, double> v;  // from the WRK line
  std::string output;
  [[nodiscard]] double operator[](const std::string& k) const {
    auto it = v.find(k);
    return it == v.end() ? -1 : it->second;
  }
};

WrkResult run_wrk(int port, long seconds, long connections) {
  const std::string script = "/tmp/pghealthd-wrk-" + std::to_string(::getpid()) + ".lua";
  std::ofstream(script) << kWrkScript;
  WrkResult r;
  int status = 0;
  r.output = run("wrk -t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) +
                     "s --timeout 5s --latency -s " + script + " http://127.0.0.1:" + std::to_string(port) +
                     "/metrics 2>&1",
                 &status);
  std::remove(script.c_str());
  if (status != 0) throw std::runtime_error("wrk failed (is it installed? scripts/install-deps):\n" + r.output);
  const auto at = r.output.find("WRK ");
  if (at == std::string::npos) throw std::runtime_error("no summary from wrk:\n" + r.output);
  std::istringstream in(r.output.substr(at + 4, r.output.find('\n', at) - at - 4));
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    r.v[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
  }
  return r;
}

// A raw client socket, for what curl will not do: stop halfway, never read, send garbage.
class Client {
 public:
  explicit Client(int port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);  // before connect
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // False once the server has closed the connection (a send then fails).
  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const auto n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  enum class State { open, answered, closed };
  // Without reading anything away: has an answer arrived, or has the server closed the connection?
  State peek() {
    char c;
    const auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return State::answered;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return State::closed;
    return State::open;
  }
  // Reads until the server closes the connection or `bound` passes; true when it closed.
  bool read_to_close(std::string& got, std::chrono::milliseconds bound) {
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto deadline = Clock::now() + bound;
    char buf[65536];
    while (Clock::now() < deadline) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        if (got.size() < 4096) got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return true;  // FIN or RST
    }
    return false;
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("wrk on /metrics fails no request, delays no collection and keeps memory flat", "[wrk][serial]") {
  const long tables = env_size("PGHEALTHD_LOAD_TABLES", 2000);
  const long seconds = env_size("PGHEALTHD_LOAD_SECONDS", 20);
  const long interval = env_size("PGHEALTHD_LOAD_INTERVAL", std::max(1L, (tables + 2499) / 2500));
  const long connections = env_size("PGHEALTHD_LOAD_CONNECTIONS", 4);

  Cluster pg;
  pg.exec(create_tables(tables));
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() + "\"\n" + collectors_every(interval));
  REQUIRE(d.wait_for(
      [&](const Scrape& s) {
        return s.all("pghealthd_table_live_tuples").size() == static_cast<std::size_t>(tables) &&
               s.all("pghealthd_index_scans_total").size() == static_cast<std::size_t>(2 * tables) &&
               s.all("pghealthd_collector_last_success_timestamp_seconds").size() == pghealthd::collectors::kKindCount;
      },
      120s));
  const std::size_t body_bytes = d.get("/metrics").size();

  // Warm-up: the allocator and the kernel's buffers reach their working size. Then the run, in two
  // halves whose peak RSS is compared: a leak per request would raise the second above the first.
  const auto warm = run_wrk(d.port(), 5, connections);
  REQUIRE(warm["requests"] > 0);
  const std::size_t rss_before = rss_kib(d.pid());
  REQUIRE(reset_peak_rss(d.pid()));
  const Scrape before = collector_series(d);
  const auto skipped_before = per_collector(before, "pghealthd_collector_skipped_total");
  const auto success_before = per_collector(before, "pghealthd_collector_last_success_timestamp_seconds");
  REQUIRE(skipped_before.size() == pghealthd::collectors::kKindCount);

  WrkResult result;
  std::string wrk_error;
  std::jthread wrk([&] {  // joins on the way out of a failed assertion too
    try {
      result = run_wrk(d.port(), seconds, connections);
    } catch (const std::exception& e) {
      wrk_error = e.what();
    }
  });
  // Meanwhile, every collector keeps its schedule: its last success is never older than two intervals
  // (a run is due every interval and, not being skipped, ends before the next is due).
  const auto started = Clock::now();
  double worst_age = 0;
  std::string worst_collector;
  std::size_t peak_first = 0;
  int polls = 0;
  while (Clock::now() - started < std::chrono::seconds(seconds)) {
    std::this_thread::sleep_for(1s);
    const Scrape s = collector_series(d);
    const double now = unix_now();
    for (const auto& [c, t] : per_collector(s, "pghealthd_collector_last_success_timestamp_seconds"))
      if (now - t > worst_age) worst_age = now - t, worst_collector = c;
    ++polls;
    if (!peak_first && Clock::now() - started >= std::chrono::seconds(seconds) / 2) {
      peak_first = peak_rss_kib(d.pid());
      reset_peak_rss(d.pid());
    }
  }
  wrk.join();
  REQUIRE(wrk_error.empty());
  const std::size_t peak_second = peak_rss_kib(d.pid());
  const Scrape after = collector_series(d);
  const std::size_t rss_after = rss_kib(d.pid());

  std::ostringstream figures;
  const double secs = result["duration_us"] / 1e6;
  const auto count = [&](const char* k) { return static_cast<long long>(result[k]); };
  figures << std::fixed << std::setprecision(1) << "wrk: " << tables << " tables (" << 2 * tables
          << " indexes), /metrics " << body_bytes / 1e6 << " MB, collectors every " << interval << " s, "
          << connections << " connections for " << secs << " s: " << count("requests") << " requests, "
          << result["requests"] / secs << " req/s, latency p50 " << result["p50_us"] / 1e3 << " ms, p90 "
          << result["p90_us"] / 1e3 << " ms, p99 " << result["p99_us"] / 1e3 << " ms, max "
          << result["max_us"] / 1e3 << " ms; errors: connect " << count("connect") << ", read " << count("read")
          << ", write " << count("write") << ", timeout " << count("timeout") << ", non-2xx " << count("status")
          << "; oldest last success seen " << worst_age << " s (" << worst_collector << ", " << polls
          << " looks); RSS before " << mib(rss_before) << ", after " << mib(rss_after) << ", peak first half "
          << mib(peak_first) << ", second half " << mib(peak_second);
  WARN(figures.str());
  INFO(result.output);

  CHECK(result["requests"] > 0);
  CHECK(result["connect"] == 0);
  CHECK(result["read"] == 0);
  CHECK(result["write"] == 0);
  CHECK(result["timeout"] == 0);
  CHECK(result["status"] == 0);
  // No collection late: none skipped, each one's last success advanced, never older than two intervals.
  CHECK(per_collector(after, "pghealthd_collector_skipped_total") == skipped_before);
  for (const auto& [c, t] : per_collector(after, "pghealthd_collector_last_success_timestamp_seconds")) {
    INFO("collector " << c);
    CHECK(t > success_before.at(c) + static_cast<double>(seconds - 2 * interval));
  }
  CHECK(polls >= seconds / 2);
  CHECK(worst_age < 2.0 * static_cast<double>(interval) + 1.0);  // + the look's own latency
  // Flat memory: the second half peaks no higher than the first (a quarter of slack for the allocator).
  REQUIRE(peak_first > 0);
  CHECK(peak_second <= peak_first + std::max<std::size_t>(16 * 1024, peak_first / 4));
}

TEST_CASE("slow and silent clients cannot starve the endpoint and are closed after its timeouts", "[slow]") {
  // Enough tables that an answer (several MB) cannot sit in the socket buffers of a client that never
  // reads it, so its write really stalls.
  Cluster pg;
  pg.exec(create_tables(2500));
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() + "\"\n" + collectors_every(5));
  // Every view collected, not only stat_user_tables: the body's size is what this test relies on.
  REQUIRE(d.wait_for(
      [](const Scrape& s) {
        return s.all("pghealthd_table_live_tuples").size() == 2500 &&
               s.all("pghealthd_table_blocks_hit_total", {{"area", "heap"}}).size() == 2500 &&
               s.all("pghealthd_index_scans_total").size() == 5000;
      },
      120s));
  const std::size_t body_bytes = d.get("/metrics").size();
  REQUIRE(body_bytes > 6'000'000);
  REQUIRE(eventually([&] { return tcp_connections(d.pid(), d.port()) == 0; }, 10s));

  // More clients than the connection cap, of two kinds: half a request, then a byte a second forever
  // (slowloris), and a whole request whose answer is never read.
  constexpr int kEach = 2 * kMaxConnections;
  std::vector<std::unique_ptr<Client>> slow, silent;
  const auto opened = Clock::now();
  for (int i = 0; i < kEach; ++i) {
    slow.push_back(std::make_unique<Client>(d.port()));
    slow.back()->send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    silent.push_back(std::make_unique<Client>(d.port(), 4096));
    silent.back()->send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  std::vector<std::optional<double>> slow_closed(kEach);  // seconds after opening
  auto trickle = [&] {
    for (int i = 0; i < kEach; ++i) {
      if (slow_closed[i]) continue;
      const auto state = slow[i]->peek();
      INFO("a slowloris client got an answer to half a request");
      REQUIRE(state != Client::State::answered);
      if (state == Client::State::closed || !slow[i]->send("a"))
        slow_closed[i] = std::chrono::duration<double>(Clock::now() - opened).count();
    }
  };
  // Every silent client has had its answer started (or been closed to make room): pghealthd has dealt
  // with all of them, and now holds as many stalled answers as it lets itself.
  auto last_trickle = Clock::now();
  REQUIRE(eventually(
      [&] {
        if (Clock::now() - last_trickle >= 1s) trickle(), last_trickle = Clock::now();
        for (auto& c : silent)
          if (c->peek() == Client::State::open) return false;
        return true;
      },
      60s));
  const int held = tcp_connections(d.pid(), d.port());
  INFO("connections pghealthd holds: " << held);
  CHECK(held <= kMaxConnections);

  // A scraper is answered promptly and completely all the same.
  double worst_scrape = 0, scraping = 0;
  for (int i = 0; i < 5; ++i) {
    trickle();
    int status = 0;
    const auto out = run("curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "
                         "http://127.0.0.1:" + std::to_string(d.port()) + "/metrics",
                         &status);
    INFO("curl: " << out);
    REQUIRE(status == 0);
    std::istringstream in(out);
    int code = 0;
    double t = 0;
    std::size_t size = 0;
    in >> code >> t >> size;
    CHECK(code == 200);
    CHECK(size > body_bytes * 9 / 10);
    worst_scrape = std::max(worst_scrape, t);
    scraping += t;
    CHECK(t < 2.0);
  }

  // The slowloris clients are closed once a whole request has not arrived within the read timeout,
  // although they never stop sending; those that held no slot were closed at once to make room.
  REQUIRE(eventually(
      [&] {
        trickle();
        for (const auto& c : slow_closed)
          if (!c) return false;
        return true;
      },
      kReadTimeout + 10s));
  double slow_last = 0;
  int slow_at_once = 0;
  for (const auto& c : slow_closed) {
    slow_last = std::max(slow_last, *c);
    slow_at_once += *c < 5.0;
  }
  // A close is seen when this test next sends its byte: at least once a second, but not while a scrape
  // above runs (under ASan on a loaded machine that was 1-3 s in all, which once made a close on time look
  // 1 s late), so the scrapes' time is allowed on top.
  CHECK(slow_last < std::chrono::duration<double>(kReadTimeout).count() + 5.0 + scraping);
  // The silent ones once their answer has not been taken within the write timeout: pghealthd then holds
  // no connection of theirs any more, although they are still open on this side.
  REQUIRE(eventually([&] { return tcp_connections(d.pid(), d.port()) == 0; }, kWriteTimeout + 15s));
  const double silent_last = std::chrono::duration<double>(Clock::now() - opened).count();

  std::ostringstream figures;
  figures << std::fixed << std::setprecision(2) << "slow clients: " << kEach << " slowloris + " << kEach
          << " silent against a cap of " << kMaxConnections << ", /metrics " << body_bytes / 1e6
          << " MB; pghealthd held " << held << "; 5 scrapes meanwhile, slowest " << worst_scrape
          << " s; slowloris all closed after " << slow_last << " s (" << slow_at_once
          << " at once to make room); silent all closed after " << silent_last << " s; RSS "
          << mib(rss_kib(d.pid())) << ", peak " << mib(peak_rss_kib(d.pid()));
  WARN(figures.str());
  CHECK(d.scrape().value("pghealthd_up", {{"target", "t"}}) == 1.0);
}

TEST_CASE("oversized and malformed requests get a 4xx or a closed connection, and serving goes on", "[hostile]") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  Daemon d("targets:\n  - name: t\n    conninfo: \"" + pg.conninfo() + "\"\n");
  REQUIRE(d.wait_for([](const Scrape& s) { return s.value("pghealthd_up", {{"target", "t"}}) == 1.0; }));

  const std::string many_headers = [] {
    std::string h;
    for (int i = 0; i < 2000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
    return h;
  }();
  // (tests/integration/daemon_test.cpp already checks one 20 KB header through curl: 431.)
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a 1 MB header", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n"},
      {"2000 headers", "GET /metrics HTTP/1.1\r\nHost: x\r\n" + many_headers + "\r\n"},
      {"a 100 KB URL", "GET /metrics?" + std::string(100 << 10, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"a request line without end", "GET /" + std::string(1 << 20, 'a')},
      {"a 1 GB body announced",
       "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n" + std::string(1 << 20, 'b')},
      {"a 1 MB body", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + std::string(1 << 20, 'b')},
      {"a huge chunk", "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n" +
                           std::string(1 << 16, 'c')},
      {"a bad chunk size", "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n0\r\n\r\n"},
      // Found by fuzz_http (CI, 2026-12-04): Boost 1.74's chunked-body parser asserts on this one.
      {"a chunked body whose trailer repeats Transfer-Encoding",
       "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0;q=0.ext=1\r\nhello$\n0\r/\n0\r\nTr\r\n\r\n"},
      {"a GET with a small body", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"},
      {"two different Content-Lengths", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
      {"a garbage start line", "HELLO THERE\r\n\r\n"},
      {"binary bytes", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\0\0\xff\xfe\r\n\r\n", 19)},
      {"an unknown HTTP version", "GET /metrics HTTP/7.3\r\nHost: x\r\n\r\n"},
      {"a header without a colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n"},
      {"a NUL in a header", std::string("GET /metrics HTTP/1.1\r\nHost: x\0y\r\n\r\n", 37)},
  };
  for (const auto& [what, bytes] : cases) {
    INFO(what);
    Client c(d.port());
    c.send(bytes);  // may fail halfway: the server can close as soon as it has seen enough
    std::string got;
    const auto t0 = Clock::now();
    CHECK(c.read_to_close(got, kReadTimeout + 5s));
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    const std::string status_line = got.substr(0, got.find("\r\n"));
    INFO("answer: " << (got.empty() ? "(connection closed, no answer)" : status_line) << " after " << took << " s");
    CHECK(took < 5.0);  // refused as soon as seen, not left to the read timeout
    if (!got.empty()) {
      REQUIRE(got.rfind("HTTP/1.1 ", 0) == 0);
      const int code = std::stoi(got.substr(9, 3));
      CHECK(code >= 400);
      CHECK(code < 500);
    }
    // And it keeps serving: the loop answers and a scrape is whole.
    CHECK(d.get("/healthz") == "ok\n");
  }
  CHECK(d.scrape().value("pghealthd_up", {{"target", "t"}}) == 1.0);
  CHECK(d.stop() == 0);
}
