// The start of a TDS connection, up to and including LOGIN7: PRELOGIN, the encryption the two sides agree
// on, the TLS handshake, and reading LOGIN7 (docs/OPERATIONS.md, "Encryption").
//
// What is encrypted, from the client's PRELOGIN ENCRYPTION byte and the server's settings:
//   client             server (TLS available)          force_encryption
//   NOT_SUP / none     nothing (NOT_SUP)               refused: 17835 (REQ is answered)
//   OFF                LOGIN7 only (OFF)               everything (REQ)
//   ON / REQ           everything (ON)                 everything (ON)
// Without a TLS context the server answers NOT_SUP and encrypts nothing. A connection that opens with a TLS
// ClientHello is TDS 8.0 strict: everything is encrypted, PRELOGIN included.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/product_version.h"
#include "server/packet.h"
#include "server/tls.h"
#include "server/transport.h"

namespace bakrest::server {

struct EncryptionPolicy {
  const TlsContext* tls = nullptr;  // null: encryption not offered
  bool force = false;               // refuse connections that do not encrypt everything
};

enum class Encryption { kNone, kLoginOnly, kFull };

struct Negotiated {
  InMessage login7;
  Encryption encryption = Encryption::kNone;
  bool strict = false;       // TDS 8.0: TLS came first
  std::string tls_protocol;  // "TLSv1.2", ... when TLS was used, also for login-only encryption
  std::string tls_cipher;
  // Set when the connection must be refused after LOGIN7 (17835: the client would not encrypt and
  // force_encryption is on); the caller sends it and closes.
  std::optional<Message> refusal;
};

// Serves the connection's start on `transport` (whose deadline the caller has set) and replies through
// `writer`, naming `product` as the server's version in PRELOGIN. Returns nullopt when the client left before
// LOGIN7. Throws ProtocolError for anything that is not TDS, a failed TLS handshake, or a message larger than
// max_message_bytes.
std::optional<Negotiated> negotiate(Transport& transport, MessageWriter& writer,
                                    const EncryptionPolicy& policy, const ProductVersion& product,
                                    size_t max_message_bytes);

}  // namespace bakrest::server
