// libFuzzer target: the bytes as an exporter web configuration file (parse_web_config), and as the value of
// an Authorization header (parse_basic_auth), both as they are and behind a "Basic " prefix.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "http/web_config.h"

namespace {

void check_basic_auth(std::string_view header) {
  const auto creds = pghealthd::http::parse_basic_auth(header);
  if (!creds) return;
  // The user name is everything before the first ':' of the decoded text.
  if (creds->first.find(':') != std::string::npos) {
    std::fprintf(stderr, "fuzz_web_config: a basic-auth user name with ':'\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pghealthd;
  const std::string text(reinterpret_cast<const char*>(data), size);

  const auto result = http::parse_web_config(text, "/nonexistent");
  if (const auto* problems = std::get_if<std::vector<config::Problem>>(&result)) {
    if (problems->empty()) {
      std::fprintf(stderr, "fuzz_web_config: failed without naming a problem\n");
      std::abort();
    }
    for (const auto& p : *problems) {
      if (p.line < 0 || p.column < 0 || p.message.empty()) {
        std::fprintf(stderr, "fuzz_web_config: bad problem line=%d column=%d message=\"%s\"\n", p.line, p.column,
                     p.message.c_str());
        std::abort();
      }
    }
  } else {
    const auto& web = std::get<http::WebConfig>(result);
    // What Server::secure() relies on: every user has a bcrypt hash, TLS has both files.
    for (const auto& [name, hash] : web.users) {
      if (name.empty() || name.find(':') != std::string::npos || hash.rfind("$2", 0) != 0) {
        std::fprintf(stderr, "fuzz_web_config: accepted user '%s' with hash '%s'\n", name.c_str(), hash.c_str());
        std::abort();
      }
    }
    if (web.tls && (web.tls->cert_file.empty() || web.tls->key_file.empty())) {
      std::fprintf(stderr, "fuzz_web_config: accepted TLS without a certificate or key\n");
      std::abort();
    }
  }

  check_basic_auth(text);
  check_basic_auth("Basic " + text);
  return 0;
}
