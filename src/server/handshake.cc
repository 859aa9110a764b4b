#include "server/handshake.h"

#include <fmt/format.h>

#include <array>

#include "server/bytes.h"
#include "server/prelogin.h"

namespace bakrest::server {
namespace {

constexpr uint8_t kTlsHandshakeRecord = 0x16;
// The PRELOGIN ENCRYPTION byte may carry this flag beside its value; bakrest has no client certificates to
// check, so the flag changes nothing.
constexpr uint8_t kClientCertificateFlag = 0x80;
// Most often a client that does not trust the certificate and says so by hanging up.
constexpr const char* kClosedDuringHandshake =
    "the client closed the connection during the TLS handshake (does it trust the server's certificate?)";

Message encryption_required() {
  return Message{17835,
                 1,
                 20,
                 "Encryption is required to connect to this server but the client library does not support "
                 "encryption; the connection has been closed. Please upgrade your client library.",
                 {},
                 1};
}

// What to answer the client's ENCRYPTION byte with, and what will be encrypted (table in handshake.h).
struct Plan {
  uint8_t answer = encryption::kNotSupported;
  Encryption encryption = Encryption::kNone;
  bool refuse = false;
};

Plan plan_for(std::optional<uint8_t> asked, const EncryptionPolicy& policy) {
  if (!policy.tls) return Plan{};
  uint8_t value = asked ? static_cast<uint8_t>(*asked & ~kClientCertificateFlag) : encryption::kNotSupported;
  switch (value) {
    case encryption::kOff:
      return policy.force ? Plan{encryption::kRequired, Encryption::kFull, false}
                          : Plan{encryption::kOff, Encryption::kLoginOnly, false};
    case encryption::kOn:
    case encryption::kRequired:
      return Plan{encryption::kOn, Encryption::kFull, false};
    default:  // NOT_SUP, or a value this server does not know
      return policy.force ? Plan{encryption::kRequired, Encryption::kNone, true} : Plan{};
  }
}

void send_message(MessageWriter& writer, PacketType type, std::span<const uint8_t> payload) {
  writer.begin(type);
  writer.write(payload);
  writer.end();
}

// TDS 7.x: the client's handshake records arrive as PRELOGIN payloads; each flight is answered with one
// PRELOGIN message (an alert too, so the client learns why a handshake failed).
// `message` is the client's first flight.
std::unique_ptr<TlsSession> wrapped_handshake(Transport& transport, MessageWriter& writer,
                                              const TlsContext& context, std::optional<InMessage> message,
                                              size_t max_message_bytes) {
  auto tls = context.open(TlsMode::kWrapped);
  for (;;) {
    if (!message) throw ProtocolError(kClosedDuringHandshake);
    if (message->type != PacketType::kPrelogin) {
      throw ProtocolError(
          fmt::format("expected the TLS handshake in PRELOGIN packets, got packet type 0x{:02X}",
                      static_cast<int>(message->type)));
    }
    Bytes reply;
    bool done = false;
    try {
      done = tls->handshake(message->payload, reply);
    } catch (const ProtocolError&) {
      if (!reply.empty()) send_message(writer, PacketType::kPrelogin, reply);
      throw;
    }
    if (!reply.empty()) send_message(writer, PacketType::kPrelogin, reply);
    if (done) return tls;
    message = read_message(transport, max_message_bytes);
  }
}

// TDS 8.0: the handshake runs on the socket itself, starting with the bytes already read.
std::unique_ptr<TlsSession> strict_handshake(Transport& transport, const TlsContext& context,
                                             std::span<const uint8_t> first) {
  auto tls = context.open(TlsMode::kStrict);
  std::array<uint8_t, 16 * 1024> buffer;
  std::span<const uint8_t> received = first;
  for (;;) {
    Bytes reply;
    bool done = false;
    try {
      done = tls->handshake(received, reply);
    } catch (const ProtocolError&) {
      if (!reply.empty()) transport.raw().write_all(reply);
      throw;
    }
    if (!reply.empty()) transport.raw().write_all(reply);
    if (done) return tls;
    size_t n = transport.raw().read_some(buffer);
    if (n == 0) throw ProtocolError(kClosedDuringHandshake);
    received = std::span<const uint8_t>(buffer.data(), n);
  }
}

}  // namespace

std::optional<Negotiated> negotiate(Transport& transport, MessageWriter& writer,
                                    const EncryptionPolicy& policy, const ProductVersion& product,
                                    size_t max_message_bytes) {
  Negotiated result;
  // The first bytes tell TDS 8.0 (a TLS record) from TDS 7.x (a PRELOGIN or LOGIN7 packet).
  std::array<uint8_t, 1024> first;
  size_t n = transport.read_some(first);
  if (n == 0) return std::nullopt;
  std::span<const uint8_t> head(first.data(), n);
  if (head[0] == kTlsHandshakeRecord) {
    if (!policy.tls) {
      throw ProtocolError(
          "the client opened with a TLS handshake (TDS 8.0 strict encryption), but TLS is off");
    }
    auto tls = strict_handshake(transport, *policy.tls, head);
    result.strict = true;
    result.encryption = Encryption::kFull;
    result.tls_protocol = tls->protocol();
    result.tls_cipher = tls->cipher();
    transport.start_tls(std::move(tls));
  } else {
    transport.unread(head);
  }

  auto message = read_message(transport, max_message_bytes);
  if (!message) return std::nullopt;
  Plan plan;
  if (message->type == PacketType::kPrelogin) {
    PreloginRequest prelogin = parse_prelogin(message->payload);
    if (result.strict) {
      // Already encrypted: NOT_SUP tells the client that no TLS handshake follows inside this one.
      plan = Plan{encryption::kNotSupported, Encryption::kFull, false};
    } else {
      plan = plan_for(prelogin.encryption, policy);
    }
    send_message(writer, PacketType::kReply, build_prelogin_reply(plan.answer, product));
    message = read_message(transport, max_message_bytes);
    if (!message) return std::nullopt;
    // Told that encryption is required, a client that asked for none may still start the handshake (FreeTDS
    // does); then it encrypts everything and is welcome.
    if (plan.refuse && message->type == PacketType::kPrelogin) plan = {plan.answer, Encryption::kFull, false};
    if (!result.strict && plan.encryption != Encryption::kNone) {
      auto tls = wrapped_handshake(transport, writer, *policy.tls, std::move(message), max_message_bytes);
      result.tls_protocol = tls->protocol();
      result.tls_cipher = tls->cipher();
      transport.start_tls(std::move(tls));
      message = read_message(transport, max_message_bytes);
      if (!message) return std::nullopt;
    }
  } else if (!result.strict) {
    plan = plan_for(std::nullopt, policy);  // no PRELOGIN: a client that knows no encryption
  }
  if (message->type != PacketType::kLogin7) {
    throw ProtocolError(
        fmt::format("expected LOGIN7, got packet type 0x{:02X}", static_cast<int>(message->type)));
  }
  if (!result.strict) result.encryption = plan.encryption;
  // Login-only encryption: the rest of the connection is plain, from the login reply on.
  if (result.encryption == Encryption::kLoginOnly) transport.stop_tls();
  if (plan.refuse) result.refusal = encryption_required();
  result.login7 = std::move(*message);
  return result;
}

}  // namespace bakrest::server
