#include "support/webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace pghealthd::test {

WebhookReceiver::WebhookReceiver() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("webhook receiver cannot listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

std::vector<std::string> WebhookReceiver::bodies() const {
  std::lock_guard lock(mu_);
  return bodies_;
}

void WebhookReceiver::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char buf[8192];
    std::size_t need = std::string::npos;
    for (;;) {
      const auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
      const auto end = req.find("\r\n\r\n");
      if (end != std::string::npos && need == std::string::npos) {
        std::size_t length = 0;
        for (const char* h : {"Content-Length: ", "content-length: "}) {
          const auto at = req.find(h);
          if (at != std::string::npos && at < end) length = std::stoul(req.substr(at + std::char_traits<char>::length(h)));
        }
        need = end + 4 + length;
      }
      if (need != std::string::npos && req.size() >= need) break;
    }
    const auto end = req.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.substr(end + 4));
    }
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::send(c, ok.data(), ok.size(), MSG_NOSIGNAL);
    ::close(c);
  }
}

}  // namespace pghealthd::test
