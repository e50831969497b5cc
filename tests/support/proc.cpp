#include "support/proc.h"

#include <dirent.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pghealthd::test {
namespace {

std::size_t status_kib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  return 0;
}

}  // namespace

std::size_t rss_kib(int pid) { return status_kib(pid, "VmRSS"); }
std::size_t peak_rss_kib(int pid) { return status_kib(pid, "VmHWM"); }

bool reset_peak_rss(int pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5\n";
  out.flush();
  return static_cast<bool>(out);
}

int tcp_connections(int pid, int port) {
  std::set<std::string> inodes;  // "socket:[123]" -> "123"
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      char target[PATH_MAX];
      const auto len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
      const std::string t(target, len > 0 ? static_cast<std::size_t>(len) : 0);
      if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
    }
    ::closedir(d);
  }
  int n = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      if (!(f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode)) continue;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || std::stoi(local.substr(colon + 1), nullptr, 16) != port) continue;
      if (state != "0A" && inodes.count(inode)) ++n;  // 0A: LISTEN
    }
  }
  return n;
}

long env_size(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (!end || *end != '\0' || n <= 0)
    throw std::invalid_argument(std::string(name) + " must be a positive integer, not '" + v + "'");
  return n;
}

}  // namespace pghealthd::test
