// TLS for TDS connections (docs/OPERATIONS.md, "Encryption"), on OpenSSL.
//
// TDS carries TLS in two ways, and a TlsSession serves both because it never touches a socket during the
// handshake: the connection hands it what the client sent and sends what it returns.
// - TDS 7.x ("wrapped"): after PRELOGIN the client sends its handshake records as the payload of PRELOGIN
//   packets, and the server answers each flight with one PRELOGIN message; after the handshake, TLS records
//   flow on the socket as a byte stream carrying ordinary TDS packets. Capped at TLS 1.2, as SQL Server caps
//   it: clients that wrap the handshake do not expect the post-handshake messages of TLS 1.3.
// - TDS 8.0 ("strict"): the connection starts with a TLS ClientHello, the handshake runs on the socket with
//   ALPN "tds/8.0", and PRELOGIN and everything after it run inside TLS. TLS 1.2 or 1.3.
//
// Session tickets and renegotiation are off: neither way of carrying TLS has room for them.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/value.h"
#include "server/stream.h"

struct ssl_ctx_st;
struct ssl_st;

namespace bakrest::server {

enum class TlsMode { kWrapped, kStrict };

class TlsSession;

// A certificate and its private key, loaded once and shared by every connection. Thread-safe.
class TlsContext {
 public:
  // Loads PEM files (the certificate file may hold the chain after the certificate). Throws
  // std::runtime_error naming the file and OpenSSL's reason when a file can't be read or the key does not
  // match the certificate.
  TlsContext(const std::filesystem::path& certificate_file, const std::filesystem::path& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // SHA-256 of the certificate (DER), as "AB:CD:...", the form clients and openssl print for pinning.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::filesystem::path& certificate_file() const { return certificate_file_; }

  std::unique_ptr<TlsSession> open(TlsMode mode) const;

 private:
  std::filesystem::path certificate_file_;
  std::string fingerprint_;
  ssl_ctx_st* wrapped_ = nullptr;
  ssl_ctx_st* strict_ = nullptr;
};

// One connection's TLS: first the handshake, fed by the connection, then encrypted reads and writes over
// the socket.
class TlsSession {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Handshake. Takes what the client sent (any split of its records) and appends to `reply` what must be
  // sent back. Returns true once the handshake is complete; `reply` may then still hold the server's last
  // flight. Throws ProtocolError with OpenSSL's reason when the handshake fails.
  bool handshake(std::span<const uint8_t> received, Bytes& reply);

  // Data, after the handshake, with `raw` the socket. read_some and write_all may run at the same time on
  // two threads (a session's reader and request threads), but neither on two threads at once.
  // read_some returns 0 when the client closed the connection (TLS close_notify or end of stream).
  // Both throw ProtocolError when the TLS stream is broken, and whatever `raw` throws.
  size_t read_some(Stream& raw, std::span<uint8_t> buf);
  void write_all(Stream& raw, std::span<const uint8_t> data);

  // "TLSv1.2", "TLSv1.3"; and the cipher suite's name. Empty before the handshake.
  std::string protocol() const;
  std::string cipher() const;

 private:
  friend class TlsContext;
  explicit TlsSession(ssl_st* ssl);
  // Moves what OpenSSL wrote to the outgoing memory buffer into out. Caller holds ssl_mutex_.
  void drain(Bytes& out);

  ssl_st* ssl_;
  std::mutex ssl_mutex_;    // the SSL object and its memory buffers
  std::mutex write_mutex_;  // keeps records in the order OpenSSL made them while they go to the socket
  Bytes incoming_;          // read_some's buffer for raw bytes
};

}  // namespace bakrest::server
