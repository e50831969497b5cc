// A tiny HTTP receiver for Alertmanager's webhook notifications: it accepts POSTs on a loopback port and
// keeps their bodies. Test code: one thread, blocking sockets, bounded by the test.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pghealthd::test {

class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::vector<std::string> bodies() const;

 private:
  void serve();
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

}  // namespace pghealthd::test
