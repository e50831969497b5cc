// libFuzzer target: the bytes as what a client sends on a connection, read the way the endpoint reads them
// (the header only, by Boost.Beast's request_parser<empty_body> with the server's 8 KiB limit; a request
// that announces a body is refused and ends the connection, as announces_body() decides), then, when a
// request parses, what the server does with it before its handler runs: the Accept-Encoding decision, the
// Basic credentials of the Authorization header, and a response with the request's version and keep-alive.
//
// accepts_gzip() and announces_body() live in an anonymous namespace of daemon/http/server.cpp; to fuzz the
// daemon's own code rather than a copy, this file includes that source file (fuzz/CMakeLists.txt checks
// that accepts_gzip() is still there; PGHEALTHD_FUZZ_ACCEPTS_GZIP is 0 when it is not). Every symbol of
// server.cpp is then defined here, so the linker never pulls server.cpp's object out of pghealthd_core_fuzz.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/server.h"
#include "http/web_config.h"

#if PGHEALTHD_FUZZ_ACCEPTS_GZIP
#include "http/server.cpp"  // NOLINT(bugprone-suspicious-include): reaches the internal accepts_gzip()
#endif

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::size_t kHeaderLimit = pghealthd::http::Limits{}.max_header_bytes;
static_assert(kHeaderLimit == 8 * 1024);

// What the server does with a request Beast accepted, minus the socket and the handler.
void serve(const bhttp::request<bhttp::empty_body>& req) {
  pghealthd::http::Request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  const auto ae = req[bhttp::field::accept_encoding];
#if PGHEALTHD_FUZZ_ACCEPTS_GZIP
  r.accepts_gzip = pghealthd::http::accepts_gzip(std::string_view(ae.data(), ae.size()));
#else
  (void)ae;
#endif
  const auto auth = req[bhttp::field::authorization];
  const auto creds = pghealthd::http::parse_basic_auth(std::string_view(auth.data(), auth.size()));
  if (creds && creds->first.find(':') != std::string::npos) {
    std::fprintf(stderr, "fuzz_http: a basic-auth user name with ':'\n");
    std::abort();
  }

  const bool allowed = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
  bhttp::response<bhttp::string_body> res{allowed ? bhttp::status::ok : bhttp::status::method_not_allowed,
                                          req.version()};
  res.set(bhttp::field::server, "pghealthd");
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  if (!allowed) res.set(bhttp::field::allow, "GET, HEAD");
  std::string body = r.target;
  if (r.accepts_gzip && !body.empty()) {
    res.set(bhttp::field::content_encoding, "gzip");
    body = pghealthd::http::gzip(body);
  }
  res.set(bhttp::field::vary, "Accept-Encoding");
  res.keep_alive(req.keep_alive());
  if (req.method() == bhttp::verb::head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  std::ostringstream wire;
  wire << res;
}

// The connection: `bytes` arrive `chunk` at a time (0: all at once), the way reads from a socket do; what
// the parser has not consumed stays buffered for the next request, as in the server's flat_buffer.
struct Connection {
  std::string_view bytes;
  std::size_t chunk = 0;
  std::size_t used = 0;     // bytes the parsers consumed
  std::size_t offered = 0;  // bytes received so far

  bool receive() {  // false at the end of the stream
    if (offered == bytes.size()) return false;
    offered = chunk == 0 ? bytes.size() : std::min(bytes.size(), offered + chunk);
    return true;
  }

  // One request with a fresh parser, as one turn of Server::Impl::serve(); false ends the connection.
  bool read_one() {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kHeaderLimit));
    beast::error_code ec;
    if (used == offered && !receive()) return false;  // end_of_stream between requests
    while (!parser.is_header_done()) {
      if (used == offered && !receive()) {
        parser.put_eof(ec);
        break;
      }
      const auto n = parser.put(boost::asio::const_buffer(bytes.data() + used, offered - used), ec);
      used += n;
      if (ec == bhttp::error::need_more || (!ec && n == 0)) {
        ec = {};
        if (!receive()) {
          parser.put_eof(ec);
          break;
        }
        continue;
      }
      if (ec) return false;  // malformed or too large: the server answers 400/431 and closes
    }
    if (ec || !parser.is_header_done()) return false;
#if PGHEALTHD_FUZZ_ACCEPTS_GZIP
    if (pghealthd::http::announces_body(parser)) return false;  // the server answers 413 and closes
#else
    if (parser.chunked() || parser.content_length().value_or(0) > 0) return false;
#endif
    const auto& req = parser.get();
    serve(req);
    return req.keep_alive();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const std::size_t chunk : {std::size_t{0}, 1 + size % 61}) {
    Connection conn{bytes, chunk};
    for (int i = 0; i < 16 && conn.read_one(); ++i) {
    }
  }
  return 0;
}
