// RAII ownership of TCP socket file descriptors.
#pragma once

#include <chrono>
#include <string>

#include "server/stream.h"

namespace bakrest::server {

class Socket final : public Stream {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() override { close(); }
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Binds and listens; throws std::runtime_error naming the address when that fails (e.g. port taken).
  static Socket listen_tcp(const std::string& host, int port);

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  int release();
  void close();

  // Wakes threads blocked in read or write on this socket; they see end of stream or an error.
  // Safe to call from any thread while others use the socket, unlike close().
  void shutdown();

  void set_no_delay();
  // A read that waits longer fails with std::system_error; zero waits forever.
  void set_receive_timeout(std::chrono::milliseconds timeout);

  int local_port() const;
  // "10.1.2.3:5000", "[::1]:5000"; "unknown" when the socket has no such address.
  std::string peer_address() const;
  std::string local_address() const;

  size_t read_some(std::span<uint8_t> buf) override;
  void write_all(std::span<const uint8_t> data) override;

 private:
  int fd_ = -1;
};

}  // namespace bakrest::server
