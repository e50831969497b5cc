// The web configuration file of Prometheus exporters (exporter-toolkit format), so operators reuse what
// they already have for node_exporter and postgres_exporter:
//
//   tls_server_config:
//     cert_file: /etc/pghealthd/tls.crt
//     key_file: /etc/pghealthd/tls.key
//     client_auth_type: RequireAndVerifyClientCert   # optional; needs client_ca_file
//     client_ca_file: /etc/pghealthd/ca.crt
//     min_version: TLS12                             # optional: TLS12 (default) or TLS13
//   basic_auth_users:
//     prometheus: $2y$10$...                         # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':')
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/load.h"

namespace pghealthd::http {

struct TlsConfig {
  std::string cert_file, key_file;
  std::string client_auth_type = "NoClientCert";  // or RequireAndVerifyClientCert, VerifyClientCertIfGiven
  std::string client_ca_file;
  bool tls13_only = false;
};

struct WebConfig {
  std::optional<TlsConfig> tls;
  std::map<std::string, std::string> users;  // name -> bcrypt hash
};

using WebConfigResult = std::variant<WebConfig, std::vector<config::Problem>>;

[[nodiscard]] WebConfigResult parse_web_config(const std::string& yaml, const std::string& base_dir);
[[nodiscard]] WebConfigResult load_web_config(const std::string& path);

// "Basic dXNlcjpwYXNz" -> ("user", "pass"); nullopt when it is not well-formed Basic credentials.
[[nodiscard]] std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

// Checks a password against a bcrypt ($2a$/$2b$/$2y$) hash with libcrypt. Slow on purpose (~50 ms at cost
// 10): call it off the event loop.
[[nodiscard]] bool verify_password(const std::string& password, const std::string& hash);

}  // namespace pghealthd::http
