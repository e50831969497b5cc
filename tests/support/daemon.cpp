#include "support/daemon.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pghealthd::test {

std::string jq(const std::string& json, const std::string& filter) {
  static std::atomic<int> counter{0};
  const std::string file =
      "/tmp/pghealthd-jq-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".json";
  std::ofstream(file, std::ios::binary) << json;
  std::string quoted;  // single-quoted for the shell
  for (char c : filter) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  auto out = run("jq -r '" + quoted + "' " + file);
  std::remove(file.c_str());
  return out;
}

std::string run(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  std::array<char, 65536> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = pclose(p);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}

bool Process::running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

Daemon::Daemon(const std::string& config, const std::vector<std::string>& env) {
  char tmpl[] = "/tmp/pghealthd-daemon-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  rewrite_config(config);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int log = ::open((dir_ + "/pghealthd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    const std::string cfg = dir_ + "/pghealthd.yaml";
    ::execl(PGHEALTHD_BINARY, PGHEALTHD_BINARY, "--config", cfg.c_str(), "--log-level", "debug",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ready when the endpoint accepts connections (plain HTTP or TLS alike).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    const bool listening = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (listening) break;
    int ws = 0;
    if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("pghealthd exited at start-up:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("pghealthd did not start listening:\n" + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Daemon::rewrite_config(const std::string& config) const {
  const std::string tmp = dir_ + "/pghealthd.yaml.new";
  {
    std::ofstream cfg(tmp);
    cfg << "listen: \"127.0.0.1:" << port_ << "\"\n" << config << "\n";
  }
  std::rename(tmp.c_str(), config_path().c_str());  // atomic, as a careful operator would
}

void Daemon::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

Daemon::~Daemon() {
  stop();
  std::system(("rm -rf " + dir_).c_str());
}

std::string Daemon::get(const std::string& path, const std::string& curl_flags) const {
  int status = 0;
  auto body =
      run("curl -sS --max-time 10 " + curl_flags + " 'http://127.0.0.1:" + std::to_string(port_) + path + "'",
          &status);
  if (status != 0) throw std::runtime_error("curl failed (" + std::to_string(status) + ") for " + path);
  return body;
}

Scrape Daemon::scrape() const { return Scrape(get("/metrics")); }

std::optional<Scrape> Daemon::wait_for(const std::function<bool(const Scrape&)>& pred,
                                       std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Scrape s = scrape();
    if (pred(s)) return s;
    if (std::chrono::steady_clock::now() > deadline) {
      // Shown with the failing assertion: what the daemon said and the last thing it exported.
      UNSCOPED_INFO("pghealthd log:\n" << log());
      UNSCOPED_INFO("last scrape:\n" << s.text().substr(0, 4000));
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Daemon::log() const {
  std::ifstream in(dir_ + "/pghealthd.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Daemon::stop(std::chrono::milliseconds bound) {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + bound;
  int ws = 0;
  while (::waitpid(pid_, &ws, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &ws, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

}  // namespace pghealthd::test
