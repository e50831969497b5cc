#include "http/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pghealthd::http {
namespace {

config::Problem at(const YAML::Node& n, std::string msg) {
  const auto m = n.Mark();
  return {m.line + 1, m.column + 1, std::move(msg)};
}

std::string resolve(const std::string& path, const std::string& base) {
  std::filesystem::path p(path);
  return (p.is_relative() ? std::filesystem::path(base) / p : p).lexically_normal().string();
}

std::optional<std::string> decode_base64(std::string_view in) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad) return std::nullopt;  // data after padding
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  if (pad > 2 || (in.size() % 4) != 0) return std::nullopt;
  return out;
}

}  // namespace

WebConfigResult parse_web_config(const std::string& yaml, const std::string& base_dir) {
  std::vector<config::Problem> problems;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    return std::vector<config::Problem>{{e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg}};
  }
  WebConfig out;
  if (!root || root.IsNull()) return out;
  if (!root.IsMap()) return std::vector<config::Problem>{at(root, "the web configuration must be a mapping")};
  for (const auto& kv : root) {
    const auto key = kv.first.Scalar();
    if (key == "tls_server_config") {
      const auto& t = kv.second;
      if (!t.IsMap()) {
        problems.push_back(at(t, "tls_server_config must be a mapping"));
        continue;
      }
      TlsConfig tls;
      for (const auto& f : t) {
        const auto k = f.first.Scalar();
        if (!f.second.IsScalar()) {
          problems.push_back(at(f.second, "tls_server_config." + k + " must be a string"));
          continue;
        }
        const auto v = f.second.Scalar();
        if (k == "cert_file") tls.cert_file = resolve(v, base_dir);
        else if (k == "key_file") tls.key_file = resolve(v, base_dir);
        else if (k == "client_ca_file") tls.client_ca_file = resolve(v, base_dir);
        else if (k == "client_auth_type") {
          if (v != "NoClientCert" && v != "RequireAndVerifyClientCert" && v != "VerifyClientCertIfGiven")
            problems.push_back(at(f.second, "client_auth_type must be NoClientCert, VerifyClientCertIfGiven or "
                                            "RequireAndVerifyClientCert"));
          tls.client_auth_type = v;
        } else if (k == "min_version") {
          if (v != "TLS12" && v != "TLS13") problems.push_back(at(f.second, "min_version must be TLS12 or TLS13"));
          tls.tls13_only = v == "TLS13";
        } else {
          problems.push_back(at(f.first, "unknown key '" + k + "' in tls_server_config (known: cert_file, "
                                         "key_file, client_auth_type, client_ca_file, min_version)"));
        }
      }
      if (tls.cert_file.empty() || tls.key_file.empty())
        problems.push_back(at(t, "tls_server_config needs cert_file and key_file"));
      for (const auto* file : {&tls.cert_file, &tls.key_file, &tls.client_ca_file})
        if (!file->empty() && !std::ifstream(*file)) problems.push_back(at(t, "cannot read " + *file));
      if (tls.client_auth_type != "NoClientCert" && tls.client_ca_file.empty())
        problems.push_back(at(t, "client_auth_type " + tls.client_auth_type + " needs client_ca_file"));
      out.tls = tls;
    } else if (key == "basic_auth_users") {
      const auto& u = kv.second;
      if (!u.IsMap()) {
        problems.push_back(at(u, "basic_auth_users must map user names to bcrypt hashes"));
        continue;
      }
      for (const auto& f : u) {
        const auto name = f.first.Scalar();
        const auto hash = f.second.IsScalar() ? f.second.Scalar() : std::string();
        if (name.empty() || name.find(':') != std::string::npos)
          problems.push_back(at(f.first, "a basic_auth_users name must be non-empty and without ':'"));
        if (hash.rfind("$2a$", 0) != 0 && hash.rfind("$2b$", 0) != 0 && hash.rfind("$2y$", 0) != 0)
          problems.push_back(at(f.second, "the password of '" + name + "' must be a bcrypt hash ($2y$...), never the "
                                          "password itself"));
        out.users[name] = hash;
      }
    } else {
      problems.push_back(at(kv.first, "unknown key '" + key + "' in the web configuration (known: "
                                      "tls_server_config, basic_auth_users)"));
    }
  }
  if (!problems.empty()) return problems;
  return out;
}

WebConfigResult load_web_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::vector<config::Problem>{{0, 0, "cannot read the web configuration file"}};
  std::stringstream ss;
  ss << in.rdbuf();
  const auto dir = std::filesystem::path(path).parent_path();
  return parse_web_config(ss.str(), dir.empty() ? "." : dir.string());
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() <= kPrefix.size() || strncasecmp(header.data(), kPrefix.data(), kPrefix.size()) != 0)
    return std::nullopt;
  auto decoded = decode_base64(header.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

bool verify_password(const std::string& password, const std::string& hash) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
  const bool ok = out && out[0] != '*' && std::strlen(out) == hash.size() &&
                  CRYPTO_memcmp(out, hash.c_str(), hash.size()) == 0;  // constant time
  explicit_bzero(&data, sizeof data);
  return ok;
}

}  // namespace pghealthd::http
