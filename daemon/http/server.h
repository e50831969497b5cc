// The HTTP endpoint: a small Boost.Beast server on the daemon's event loop. Routes are the caller's;
// this module only speaks HTTP: request limits, keep-alive, timeouts and gzip.
//
// Why not prometheus-cpp's Exposer (civetweb): Debian's civetweb build crashes on TLS and lacks IPv6, and
// it calls Collect() from its own threads; one loop-driven server avoids all three.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/body.h"
#include "http/web_config.h"
#include "base/asio.h"

namespace pghealthd::http {

struct Request {
  std::string method;
  std::string target;  // path and query, as sent
  bool accepts_gzip = false;
  std::string accept;  // the Accept header (its first 1 KiB), for routes that answer in more than one format
};

struct Response {
  Response() = default;
  Response(int status_, std::string content_type_, std::string body_)
      : status(status_), content_type(std::move(content_type_)), body(std::move(body_)) {}
  // A body of pieces (see base::Pieces), sent as they lie in memory or inflated while they are written;
  // `encoding` names its Content-Encoding if it is already encoded (the server then never compresses it
  // again).
  Response(int status_, std::string content_type_, base::Pieces pieces_, std::string encoding = {})
      : status(status_),
        content_type(std::move(content_type_)),
        pieces(std::move(pieces_)),
        content_encoding(std::move(encoding)) {}

  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;   // used when `pieces` is empty
  base::Pieces pieces;
  std::string content_encoding;
};

using Handler = std::function<Response(const Request&)>;

struct Limits {
  std::size_t max_header_bytes = 8 * 1024;  // no body is ever read: a request that announces one gets 413
  std::chrono::seconds read_timeout{10};   // a slow or silent client is dropped after this
  std::chrono::seconds write_timeout{60};
  std::size_t max_connections = 64;
};

class Server {
 public:
  // `web` adds TLS and basic auth; `blocking` runs the (deliberately slow) bcrypt checks off the loop.
  Server(asio::any_io_executor loop, Handler handler, Limits limits = {});
  // Must be called before listen(). Throws std::runtime_error when the certificate or key cannot be used.
  void secure(const WebConfig& web, asio::thread_pool& blocking);
  ~Server();

  // Binds and starts accepting. Throws std::runtime_error with a readable message on failure.
  void listen(const std::string& host, unsigned short port);
  [[nodiscard]] unsigned short port() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// gzip (RFC 1952) of `data` at a fast level; exposed for tests.
[[nodiscard]] std::string gzip(const std::string& data);

}  // namespace pghealthd::http
