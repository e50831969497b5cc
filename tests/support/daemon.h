// Runs the real pghealthd binary with a generated configuration and talks to it with curl, as a user
// would. Every wait polls with a deadline; nothing sleeps a fixed time.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/exposition.h"

namespace pghealthd::test {

// Runs a shell command; returns its stdout and sets `status` to its exit code.
std::string run(const std::string& command, int* status = nullptr);

// `jq -r FILTER` over a JSON text (/status.json, /advice): its output, one value a line.
std::string jq(const std::string& json, const std::string& filter);

// Polls `pred` every 100 ms until it holds (true) or `timeout` passes (false).
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A free TCP port on 127.0.0.1 (bound to 0, read, released).
int free_port();

// Any program run in the background for a test (Prometheus, Alertmanager...); killed when it goes.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  [[nodiscard]] bool running();

 private:
  int pid_ = -1;
};

class Daemon {
 public:
  // `config` is the YAML body without `listen:`, which the fixture adds on a free loopback port.
  // `env` adds NAME=VALUE variables to the daemon's environment.
  explicit Daemon(const std::string& config, const std::vector<std::string>& env = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int pid() const { return pid_; }
  [[nodiscard]] std::string config_path() const { return dir_ + "/pghealthd.yaml"; }
  // Replaces the configuration file (keeping the fixture's listen address); follow with signal(SIGHUP).
  void rewrite_config(const std::string& config) const;
  void signal(int sig) const;
  // GET through curl; returns the body (and the status line and headers too when `with_headers`).
  [[nodiscard]] std::string get(const std::string& path, const std::string& curl_flags = "") const;
  [[nodiscard]] Scrape scrape() const;
  // Scrapes until `pred` holds; returns that scrape, or nullopt after `timeout`.
  std::optional<Scrape> wait_for(const std::function<bool(const Scrape&)>& pred,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  [[nodiscard]] std::string log() const;
  // SIGTERM and wait; returns the exit status (-1 when it had to be killed).
  int stop(std::chrono::milliseconds bound = std::chrono::seconds(15));

 private:
  std::string dir_;
  int port_ = 0;
  int pid_ = -1;
};

}  // namespace pghealthd::test
