// The endpoint over TLS with basic auth, configured like any Prometheus exporter's, and scraped by a real
// Prometheus: the right password gets metrics, anything else gets 401.
#include <catch2/catch.hpp>

#include <crypt.h>

#include <fstream>
#include <thread>

#include "support/cluster.h"
#include "support/daemon.h"

using namespace pghealthd::test;
using namespace std::chrono_literals;

namespace {

std::string bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 10, nullptr, 0, salt, sizeof salt));
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/pghealthd-tls-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

}  // namespace

TEST_CASE("over TLS with basic auth, a real Prometheus scrapes with the password and nobody without") {
  Cluster pg;
  pg.exec("CREATE TABLE t1 (id int);");
  TempDir dir;
  int status = -1;
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext "
      "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + dir.path + "/tls.key -out " + dir.path +
          "/tls.crt 2>&1",
      &status);
  REQUIRE(status == 0);
  std::ofstream(dir.path + "/web.yml") << "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
                                          "basic_auth_users:\n  prometheus: '" << bcrypt("Scrape-Pa55") << "'\n";
  Daemon d("web_config_file: " + dir.path + "/web.yml\ntargets:\n  - name: t\n    conninfo: \"" + pg.conninfo() +
           "\"\ncollectors:\n  stat_user_tables: { interval: 500ms }\n");
  const std::string url = "https://localhost:" + std::to_string(d.port());
  const std::string ca = " --cacert " + dir.path + "/tls.crt ";

  auto code = [&](const std::string& flags, const std::string& path = "/metrics") {
    return run("curl -s -o /dev/null -w '%{http_code}' --max-time 10" + flags + " " + url + path);
  };
  CHECK(code(ca) == "401");
  CHECK(code(ca + "-u prometheus:wrong") == "401");
  CHECK(code(ca + "-u nobody:Scrape-Pa55") == "401");
  CHECK(code(ca + "-u prometheus:Scrape-Pa55") == "200");
  // Tuning advice is behind the same door.
  CHECK(code(ca, "/advice") == "401");
  CHECK(code(ca + "-u prometheus:Scrape-Pa55", "/advice") == "200");
  CHECK(code(ca, "/status.json") == "401");  // and so is the health report
  CHECK(code(ca + "-u prometheus:Scrape-Pa55", "/status.json") == "200");
  CHECK(code(ca, "/") == "401");  // and the health page
  CHECK(code(ca + "-u prometheus:Scrape-Pa55", "/") == "200");
  CHECK(run("curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:" + std::to_string(d.port()) +
            "/metrics") == "000");  // plain HTTP on a TLS port: no answer
  CHECK(run("curl -s -D - -o /dev/null" + ca + url + "/metrics").find("WWW-Authenticate: Basic") != std::string::npos);

  const int prom_port = free_port();
  std::ofstream(dir.path + "/prometheus.yml")
      << "global: { scrape_interval: 1s, scrape_timeout: 1s }\n"
         "scrape_configs:\n"
         "  - job_name: pghealthd\n    scheme: https\n"
         "    tls_config: { ca_file: " << dir.path << "/tls.crt }\n"
         "    basic_auth: { username: prometheus, password: Scrape-Pa55 }\n"
         "    static_configs: [{ targets: ['localhost:" << d.port() << "'] }]\n"
         "  - job_name: intruder\n    scheme: https\n"
         "    tls_config: { ca_file: " << dir.path << "/tls.crt }\n"
         "    basic_auth: { username: prometheus, password: guessed }\n"
         "    static_configs: [{ targets: ['localhost:" << d.port() << "'] }]\n";
  Process prometheus({"prometheus", "--config.file=" + dir.path + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir.path + "/data", "--web.listen-address=127.0.0.1:" +
                      std::to_string(prom_port)},
                     dir.path + "/prometheus.log");
  const std::string api = "http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/";
  std::string up, intruder;
  for (int i = 0; i < 150; ++i) {
    up = run("curl -s '" + api + "query?query=pghealthd_up' | jq -r '.data.result[0].value[1] // empty'");
    intruder = run("curl -s '" + api + "targets' | jq -r '.data.activeTargets[] | select(.labels.job == \"intruder\") "
                   "| .lastError'");
    if (up == "1\n" && intruder.find("401") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  INFO(run("tail -5 " + dir.path + "/prometheus.log"));
  CHECK(up == "1\n");
  CHECK(intruder.find("401 Unauthorized") != std::string::npos);
  CHECK(d.log().find("web configuration loaded tls=true basic_auth_users=1") != std::string::npos);
}

TEST_CASE("a broken web configuration is refused at start with its line and column") {
  TempDir dir;
  std::ofstream(dir.path + "/web.yml") << "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n"
                                          "basic_auth_users:\n  admin: plain-text-password\n";
  std::ofstream(dir.path + "/c.yaml") << "targets:\n  - name: t\n    conninfo: \"host=/tmp\"\n";
  int status = -1;
  const auto out = run(std::string(PGHEALTHD_BINARY) + " --check-config --config " + dir.path +
                           "/c.yaml --web.config.file " + dir.path + "/web.yml 2>&1",
                       &status);
  CHECK(status == 1);
  CHECK(out.find("cannot read " + dir.path + "/missing.crt") != std::string::npos);
  CHECK(out.find(dir.path + "/web.yml:5:10: the password of 'admin' must be a bcrypt hash") != std::string::npos);
  CHECK(out.find("plain-text-password") == std::string::npos);  // never echo what might be a password
}
