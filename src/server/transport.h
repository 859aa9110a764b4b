// A client connection's bytes as the session reads and writes them: the socket, with TLS once the two sides
// have agreed on it, and while the client logs in, a deadline on every read.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/value.h"
#include "server/socket.h"
#include "server/stream.h"
#include "server/tls.h"

namespace bakrest::server {

class Transport final : public Stream {
 public:
  explicit Transport(Socket& socket) : raw_(socket) {}

  // Reads fail with ProtocolError(`what`) once `deadline` has passed, also a read that is waiting then;
  // nullopt lifts the deadline. Login only: not safe while another thread reads.
  void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline, std::string what = {});

  // The next reads return these bytes before anything more from the socket (the handshake reads ahead to
  // tell TDS 8.0 from 7.x).
  void unread(std::span<const uint8_t> bytes);

  // From now on everything read and written goes through `tls`, whose handshake is complete; stop_tls()
  // goes back to plain bytes (login-only encryption). Login only, on the session's one thread.
  void start_tls(std::unique_ptr<TlsSession> tls) { tls_ = std::move(tls); }
  void stop_tls() { tls_.reset(); }
  const TlsSession* tls() const { return tls_.get(); }

  // The socket under TLS, with the deadline: where the TDS 8.0 handshake runs.
  Stream& raw() { return raw_; }

  // Reads and writes may run at the same time on two threads, one each.
  size_t read_some(std::span<uint8_t> buf) override;
  void write_all(std::span<const uint8_t> data) override;

 private:
  class Raw final : public Stream {
   public:
    explicit Raw(Socket& socket) : socket_(socket) {}
    size_t read_some(std::span<uint8_t> buf) override;
    void write_all(std::span<const uint8_t> data) override { socket_.write_all(data); }

    Socket& socket_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::string deadline_text_;
  };

  Raw raw_;
  Bytes unread_;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace bakrest::server
