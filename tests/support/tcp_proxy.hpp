// A loopback TCP proxy for network-fault tests: it forwards connections to a server and can
// drop a connection after a chosen number of bytes from the server, as a flaky link would.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace espsec::test {

class TcpProxy {
 public:
  explicit TcpProxy(int server_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // The next connections are cut after this many server-to-client bytes, one entry per
  // connection in order; later connections pass everything.
  void drop_after(std::vector<uint64_t> byte_counts);
  unsigned connections() const { return connections_; }

 private:
  void accept_loop();
  void pump(int client, int upstream, std::optional<uint64_t> budget);

  int server_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> connections_{0};
  std::mutex mutex_;
  std::vector<uint64_t> drops_;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace espsec::test
