#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace espsec::test {

TcpProxy::TcpProxy(int server_port) : server_port_(server_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  ::close(listener_);
  acceptor_.join();
  for (auto& w : workers_) w.join();
}

void TcpProxy::drop_after(std::vector<uint64_t> byte_counts) {
  std::lock_guard lock(mutex_);
  drops_ = std::move(byte_counts);
}

void TcpProxy::accept_loop() {
  for (;;) {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      continue;
    }
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(server_port_));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      ::close(upstream);
      continue;
    }
    std::optional<uint64_t> budget;
    {
      std::lock_guard lock(mutex_);
      if (!drops_.empty()) {
        budget = drops_.front();
        drops_.erase(drops_.begin());
      }
    }
    ++connections_;
    workers_.emplace_back([this, client, upstream, budget] { pump(client, upstream, budget); });
  }
}

// Copies both ways until either side closes, or closes both once `budget` server bytes passed.
void TcpProxy::pump(int client, int upstream, std::optional<uint64_t> budget) {
  uint64_t to_client = 0;
  char buf[16384];
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, 200) < 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0 || ::write(upstream, buf, static_cast<size_t>(n)) != n) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(upstream, buf, sizeof buf);
      if (n <= 0) break;
      if (budget) n = static_cast<ssize_t>(std::min<uint64_t>(static_cast<uint64_t>(n), *budget - to_client));
      if (n > 0 && ::write(client, buf, static_cast<size_t>(n)) != n) break;
      to_client += static_cast<uint64_t>(n);
      if (budget && to_client >= *budget) break;
    }
  }
  ::shutdown(client, SHUT_RDWR);
  ::shutdown(upstream, SHUT_RDWR);
  ::close(client);
  ::close(upstream);
}

}  // namespace espsec::test
