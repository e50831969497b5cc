// libFuzzer target: the bytes as the YAML configuration file.
//
// parse_config must return a Config or a list of problems for any input: never crash, throw or hang, and
// every problem must carry a position (line >= 0, column >= 0; 0 only for "no position") and a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "config/load.h"

namespace {

[[noreturn]] void broken(const char* what, const pghealthd::config::Problem& p) {
  std::fprintf(stderr, "fuzz_config: %s: line=%d column=%d message=\"%s\"\n", what, p.line, p.column,
               p.message.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pghealthd::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A base directory that does not exist: relative password_file / web_config_file paths never reach a
  // real file.
  const LoadResult result = parse_config(text, "/nonexistent");
  if (const auto* problems = std::get_if<std::vector<Problem>>(&result)) {
    if (problems->empty()) {
      std::fprintf(stderr, "fuzz_config: parse_config failed without naming a problem\n");
      std::abort();
    }
    for (const auto& p : *problems) {
      if (p.line < 0) broken("a problem with a negative line", p);
      if (p.column < 0) broken("a problem with a negative column", p);
      if (p.message.empty()) broken("a problem without a message", p);
      (void)format_problem("fuzz.yaml", p);
    }
  } else {
    const auto& cfg = std::get<Config>(result);
    // A configuration that passed validation must satisfy what the daemon relies on without checking.
    if (cfg.targets.empty()) {
      std::fprintf(stderr, "fuzz_config: a valid configuration without targets\n");
      std::abort();
    }
    if (!parse_listen(cfg.listen)) {
      std::fprintf(stderr, "fuzz_config: a valid configuration whose listen does not parse: %s\n",
                   cfg.listen.c_str());
      std::abort();
    }
  }
  return 0;
}
