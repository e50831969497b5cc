#include "http/server.h"

#include <zlib.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <map>
#include <set>
#include <stdexcept>

namespace pghealthd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string gzip(const std::string& data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  return out;
}

namespace {

bool accepts_gzip(std::string_view header) {
  // Accept-Encoding: gzip, deflate;q=0.5 ... ("gzip;q=0" refuses it)
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(',', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const auto semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (beast::iequals(beast::string_view(coding.data(), coding.size()), "gzip") || coding == "*") {
      if (semi == std::string_view::npos) return true;
      auto q = item.substr(semi + 1);
      return q.find("q=0") == std::string_view::npos || q.find("q=0.") != std::string_view::npos;
    }
    pos = end + 1;
  }
  return false;
}

// A request that announces a body (a non-zero Content-Length, or chunked): refused, since nothing we serve
// takes one and the connection cannot be reused without reading it.
template <typename Parser>
bool announces_body(const Parser& parser) {
  return parser.chunked() || parser.content_length().value_or(0) > 0;
}

awaitable<bool> verify_async(std::string password, std::string hash) {
  co_return verify_password(password, hash);
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor ex, Handler h, Limits l)
      : loop(std::move(ex)), acceptor(loop), handler(std::move(h)), limits(l) {}

  asio::any_io_executor loop;
  tcp::acceptor acceptor;
  Handler handler;
  Limits limits;
  std::unique_ptr<asio::ssl::context> tls;
  std::map<std::string, std::string> users;      // basic auth: name -> bcrypt hash
  std::set<std::string> verified;                // Authorization headers already checked (bounded)
  asio::thread_pool* blocking = nullptr;
  // Every open connection, so stop() can end idle keep-alive connections at once, and when the cap is
  // reached the one that has waited longest can make room (see accept_loop).
  struct Tracked {
    std::chrono::steady_clock::time_point since;  // when it began waiting for its request or its reader
    bool evicted = false;
  };
  std::map<beast::tcp_stream*, Tracked> sessions;
  bool stopped = false;

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        spdlog::warn("accepting a connection failed error=\"{}\"", ec.message());
        continue;
      }
      // The cap bounds descriptors and memory. At the cap, the connection that has waited longest for a
      // request that is not coming (a slow or idle client) or for a client that does not read its answer
      // is closed to make room: such clients, however many, cannot lock a scraper out, which merely
      // refusing newcomers would let them do for a whole read_timeout/write_timeout.
      if (open_connections() >= limits.max_connections && !evict_longest_waiting()) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      // A plain /metrics is inflated a stretch at a time as it is written (write_pieces): a send buffer
      // of several stretches lets the next be inflated while the client still reads the last, instead of
      // the two taking turns. Kernel memory, capped by net.core.wmem_max; best effort.
      boost::system::error_code ignored;
      socket.set_option(asio::socket_base::send_buffer_size(kSendBuffer), ignored);
      asio::co_spawn(loop, session(std::move(socket)), asio::detached);
    }
  }
  static constexpr int kSendBuffer = 1 << 20;

  [[nodiscard]] std::size_t open_connections() const {
    std::size_t n = 0;
    for (const auto& [s, t] : sessions) n += !t.evicted;
    return n;
  }

  bool evict_longest_waiting() {
    auto victim = sessions.end();
    for (auto it = sessions.begin(); it != sessions.end(); ++it)
      if (!it->second.evicted && (victim == sessions.end() || it->second.since < victim->second.since))
        victim = it;
    if (victim == sessions.end()) return false;
    victim->second.evicted = true;
    boost::system::error_code ignored;
    victim->first->socket().close(ignored);  // its pending read or write ends with an error; it unwinds
    spdlog::debug("HTTP connection closed to make room: the connection cap is reached max_connections={}",
                  limits.max_connections);
    return true;
  }

  void waiting(beast::tcp_stream& s) {
    if (auto it = sessions.find(&s); it != sessions.end()) it->second.since = std::chrono::steady_clock::now();
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    sessions[&stream] = Tracked{std::chrono::steady_clock::now()};
    struct Untrack {
      std::map<beast::tcp_stream*, Tracked>& map;
      beast::tcp_stream* s;
      ~Untrack() { map.erase(s); }
    } untrack{sessions, &stream};
    try {
      if (tls) {
        beast::ssl_stream<beast::tcp_stream&> secure(stream, *tls);
        stream.expires_after(limits.read_timeout);
        boost::system::error_code ec;
        co_await secure.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
        if (!ec) {
          co_await serve(secure);
          stream.expires_after(std::chrono::seconds(2));
          co_await secure.async_shutdown(asio::redirect_error(use_awaitable, ec));
        }
      } else {
        co_await serve(stream);
      }
    } catch (const std::exception& e) {
      spdlog::warn("HTTP session ended with an error error=\"{}\"", e.what());
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
  }

  // Basic auth, when users are configured. A header that passed once is remembered, so a scraper pays
  // bcrypt's cost once, not per scrape; every check runs on the blocking pool, never on the loop.
  awaitable<bool> authorized(std::string_view header) {
    if (users.empty()) co_return true;
    const std::string key(header);
    if (verified.count(key)) co_return true;
    auto creds = parse_basic_auth(header);
    if (!creds) co_return false;
    auto it = users.find(creds->first);
    if (it == users.end()) co_return false;
    // (A coroutine function, not a capturing lambda: GCC 12 destroys a lambda temporary inside a
    // co_await expression wrongly.)
    const bool ok = co_await asio::co_spawn(*blocking, verify_async(creds->second, it->second), use_awaitable);
    if (ok) {
      if (verified.size() >= 64) verified.clear();
      verified.insert(key);
    }
    co_return ok;
  }

  // Writes a body of pieces a stretch at a time (base::BodyReader): gathered writes (writev) of the parts
  // that lie in memory as they are sent, and of a buffer of inflated text for the parts kept compressed,
  // refilled for each write. So a plain /metrics of any size takes one buffer (~128 KiB) per scrape.
  template <typename Stream>
  awaitable<boost::system::error_code> write_pieces(Stream& stream, const base::Pieces& body) {
    boost::system::error_code ec;
    base::BodyReader reader(body);
    std::vector<asio::const_buffer> buffers;
    for (;;) {
      const auto& views = reader.next();
      if (views.empty()) break;
      buffers.clear();
      for (auto v : views) buffers.emplace_back(v.data(), v.size());
      co_await asio::async_write(stream, buffers, asio::redirect_error(use_awaitable, ec));
      if (ec || stopped) break;
    }
    co_return ec;
  }

  template <typename Stream>
  awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      // The header only: we serve GET and HEAD, so a body is never read (and Beast's chunked-body parser,
      // which asserts on some malformed trailers in Boost 1.74, is never reached).
      bhttp::request_parser<bhttp::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      beast::get_lowest_layer(stream).expires_after(limits.read_timeout);
      waiting(beast::get_lowest_layer(stream));
      boost::system::error_code ec;
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::end_of_stream) break;
      const bool body = !ec && announces_body(parser);
      if (ec || body) {
        // Malformed, oversized or with a body: answer 400/413/431 once (best effort) and drop the connection.
        if (ec != beast::error::timeout && ec != asio::error::operation_aborted) {
          const auto status = body ? bhttp::status::payload_too_large
                              : ec == bhttp::error::header_limit ? bhttp::status::request_header_fields_too_large
                                                                 : bhttp::status::bad_request;
          bhttp::response<bhttp::string_body> bad{status, 11};
          bad.set(bhttp::field::content_type, "text/plain; charset=utf-8");
          bad.set(bhttp::field::connection, "close");
          bad.body() = body ? "request bodies are not accepted\n"
                       : status == bhttp::status::bad_request ? "malformed request\n"
                                                               : "request too large\n";
          bad.prepare_payload();
          beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
          boost::system::error_code ignored;
          co_await bhttp::async_write(stream, bad, asio::redirect_error(use_awaitable, ignored));
        }
        break;
      }
      waiting(beast::get_lowest_layer(stream));  // from now on, for the client to take its answer
      auto& req = parser.get();
      Request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      const auto ae = req[bhttp::field::accept_encoding];
      r.accepts_gzip = accepts_gzip(std::string_view(ae.data(), ae.size()));
      const auto accept = req[bhttp::field::accept];
      r.accept = std::string(accept.data(), std::min<std::size_t>(accept.size(), 1024));
      const auto auth = req[bhttp::field::authorization];

      Response out;
      bool challenge = false;
      if (!co_await authorized(std::string_view(auth.data(), auth.size()))) {
        out = {401, "text/plain; charset=utf-8", "unauthorized\n"};
        challenge = true;
      } else if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
        out = {405, "text/plain; charset=utf-8", "only GET and HEAD are served\n"};
      } else {
        out = handler(r);
      }
      if (stopped) break;
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), req.version()};
      res.set(bhttp::field::server, "pghealthd");
      res.set(bhttp::field::content_type, out.content_type);
      if (out.status == 405) res.set(bhttp::field::allow, "GET, HEAD");
      if (challenge) res.set(bhttp::field::www_authenticate, "Basic realm=\"pghealthd\", charset=\"UTF-8\"");
      if (!out.content_encoding.empty()) {
        res.set(bhttp::field::content_encoding, out.content_encoding);
      } else if (r.accepts_gzip && out.pieces.parts.empty() && out.body.size() > 1024) {
        res.set(bhttp::field::content_encoding, "gzip");
        out.body = gzip(out.body);
      }
      res.set(bhttp::field::vary, "Accept-Encoding");
      res.keep_alive(req.keep_alive());
      const bool head = req.method() == bhttp::verb::head;
      if (head || !out.pieces.parts.empty()) {
        // The header alone, then (unless HEAD) the pieces: the length is known up front, the body is
        // written a stretch at a time (write_pieces).
        res.content_length(out.pieces.parts.empty() ? out.body.size() : out.pieces.size());
        beast::get_lowest_layer(stream).expires_after(limits.write_timeout);
        bhttp::response_serializer<bhttp::string_body> sr{res};
        co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
        if (!ec && !head) ec = co_await write_pieces(stream, out.pieces);
      } else {
        res.body() = std::move(out.body);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(limits.write_timeout);
        co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      }
      if (ec || !res.keep_alive() || stopped) break;
    }
  }
};

Server::Server(asio::any_io_executor loop, Handler handler, Limits limits)
    : impl_(std::make_shared<Impl>(std::move(loop), std::move(handler), limits)) {}

Server::~Server() { stop(); }

void Server::secure(const WebConfig& web, asio::thread_pool& blocking) {
  impl_->users = web.users;
  impl_->blocking = &blocking;
  if (!web.tls) return;
  namespace ssl = asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  if (web.tls->tls13_only) SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
  try {
    ctx->use_certificate_chain_file(web.tls->cert_file);
    ctx->use_private_key_file(web.tls->key_file, ssl::context::pem);
    if (!web.tls->client_ca_file.empty()) {
      ctx->load_verify_file(web.tls->client_ca_file);
      if (web.tls->client_auth_type == "RequireAndVerifyClientCert")
        ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      else if (web.tls->client_auth_type == "VerifyClientCertIfGiven")
        ctx->set_verify_mode(ssl::verify_peer);
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("TLS: cannot use the certificate or key: " + std::string(e.what()));
  }
  impl_->tls = std::move(ctx);
}

void Server::listen(const std::string& host, unsigned short port) {
  boost::system::error_code ec;
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v6::any();  // dual-stack where the host allows it
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    address = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("listen: '" + host + "' is not an IP address (or localhost)");
  }
  tcp::endpoint ep(address, port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (ec && host.empty()) {  // no IPv6 on this host: fall back to IPv4's any address
    ep = tcp::endpoint(asio::ip::address_v4::any(), port);
    ec.clear();
    acc.open(ep.protocol(), ec);
  }
  if (ec) throw std::runtime_error("listen: cannot open a socket: " + ec.message());
  if (ep.address().is_v6()) acc.set_option(asio::ip::v6_only(false), ec);
  acc.set_option(tcp::acceptor::reuse_address(true), ec);
  acc.bind(ep, ec);
  if (ec)
    throw std::runtime_error("listen: cannot bind " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("listen: " + ec.message());
  asio::co_spawn(impl_->loop, impl_->accept_loop(), asio::detached);
}

unsigned short Server::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& [s, t] : impl_->sessions) s->socket().cancel(ignored);
}

}  // namespace pghealthd::http
