#include "server/packet.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "common/clock.h"
#include "server/bytes.h"

namespace bakrest::server {
namespace {

bool is_client_packet_type(uint8_t type) {
  switch (static_cast<PacketType>(type)) {
    case PacketType::kSqlBatch:
    case PacketType::kRpc:
    case PacketType::kAttention:
    case PacketType::kBulkLoad:
    case PacketType::kTransactionManager:
    case PacketType::kLogin7:
    case PacketType::kSspi:
    case PacketType::kPrelogin:
      return true;
    default:
      return false;
  }
}

// Fills buf completely; false if the stream ended before the first byte, throws if it ends later.
bool read_exact(Stream& in, std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    size_t n = in.read_some(buf.subspan(got));
    if (n == 0) {
      if (got == 0) return false;
      throw ProtocolError("connection closed in the middle of a packet");
    }
    got += n;
  }
  return true;
}

}  // namespace

std::array<uint8_t, kPacketHeaderSize> encode_header(const PacketHeader& h) {
  return {h.type,
          h.status,
          static_cast<uint8_t>(h.length >> 8),
          static_cast<uint8_t>(h.length),
          static_cast<uint8_t>(h.spid >> 8),
          static_cast<uint8_t>(h.spid),
          h.packet_id,
          h.window};
}

PacketHeader decode_header(std::span<const uint8_t, kPacketHeaderSize> b) {
  return PacketHeader{
      b[0], b[1], static_cast<uint16_t>(b[2] << 8 | b[3]), static_cast<uint16_t>(b[4] << 8 | b[5]),
      b[6], b[7]};
}

namespace {

// Decides for each packet whether its payload may be kept: returns the refusal, or kNone.
using GrowPolicy = std::function<RequestBudget::Refusal(InMessage& message, uint64_t total)>;

// Reads and checks a packet header. Returns nullopt when the stream ends cleanly before it, unless the header
// belongs to a message already started (the client closed mid-message: ProtocolError).
std::optional<PacketHeader> read_header(Stream& in, bool started) {
  std::array<uint8_t, kPacketHeaderSize> raw;
  if (!read_exact(in, raw)) {
    if (started) throw ProtocolError("connection closed in the middle of a message");
    return std::nullopt;
  }
  PacketHeader h = decode_header(raw);
  if (h.type == 0x16 && !started) {
    throw ProtocolError("a TLS handshake record arrived where a TDS packet was expected");
  }
  if (!is_client_packet_type(h.type)) {
    throw ProtocolError(fmt::format("unexpected packet type 0x{:02X}", h.type));
  }
  if (h.length < kPacketHeaderSize)
    throw ProtocolError(fmt::format("packet length {} is too small", h.length));
  return h;
}

// Reads the payload of the packet h heads into out (resized to it).
void read_payload(Stream& in, const PacketHeader& h, Bytes& out) {
  out.resize(h.length - kPacketHeaderSize);
  if (!out.empty() && !read_exact(in, out))
    throw ProtocolError("connection closed in the middle of a packet");
}

// The message whose first packet's header is h, read whole; nullopt when the client marked it IGNORE.
std::optional<InMessage> read_message_with(Stream& in, const GrowPolicy& grow, PacketHeader h) {
  InMessage message = start_message(h);
  Bytes dropped;  // a packet of a refused message, read to be dropped
  for (;;) {
    size_t payload_size = h.length - kPacketHeaderSize;
    message.received_bytes += payload_size;
    ++message.packets;
    if (message.refused == RequestBudget::Refusal::kNone) {
      message.refused = grow(message, message.received_bytes);
      if (message.refused != RequestBudget::Refusal::kNone) {
        // Nothing more of this message is kept: the bytes so far go back to the budget at once.
        message.payload = Bytes();
        message.reservation = RequestBudget::Reservation();
      }
    }
    if (message.refused == RequestBudget::Refusal::kNone) {
      size_t old_size = message.payload.size();
      message.payload.resize(old_size + payload_size);
      if (payload_size > 0 && !read_exact(in, std::span(message.payload).subspan(old_size))) {
        throw ProtocolError("connection closed in the middle of a packet");
      }
    } else {
      read_payload(in, h, dropped);
    }
    if (h.status & packet_status::kEom) {
      if (h.status & packet_status::kIgnore) return std::nullopt;
      return message;
    }
    h = *read_header(in, true);
    if (h.type == static_cast<uint8_t>(PacketType::kAttention)) {
      message = start_message(h);  // the client abandoned the request it was sending
    } else if (h.type != static_cast<uint8_t>(message.type)) {
      throw ProtocolError(fmt::format("packet type changed from 0x{:02X} to 0x{:02X} within a message",
                                      static_cast<int>(message.type), h.type));
    }
  }
}

std::optional<InMessage> read_message_with(Stream& in, const GrowPolicy& grow) {
  for (;;) {
    auto first = read_header(in, false);
    if (!first) return std::nullopt;
    if (auto message = read_message_with(in, grow, *first)) return message;
  }
}

RequestBudget::Refusal grow_on(RequestBudget::Account& account, InMessage& message, uint64_t total) {
  return account.grow(message.reservation, total);
}

}  // namespace

InMessage start_message(const PacketHeader& first) {
  InMessage message;
  message.type = static_cast<PacketType>(first.type);
  message.reset_connection =
      (first.status & (packet_status::kResetConnection | packet_status::kResetConnectionSkipTran)) != 0;
  message.reset_keeps_transaction = (first.status & packet_status::kResetConnectionSkipTran) != 0;
  return message;
}

std::optional<InMessage> read_message(Stream& in, size_t max_payload) {
  return read_message_with(in, [&](InMessage&, uint64_t total) {
    if (total > max_payload) throw ProtocolError(fmt::format("request larger than {} bytes", max_payload));
    return RequestBudget::Refusal::kNone;
  });
}

std::optional<InMessage> read_message(Stream& in, RequestBudget::Account& account) {
  return read_message_with(
      in, [&](InMessage& message, uint64_t total) { return grow_on(account, message, total); });
}

std::optional<PacketHeader> read_packet_header(Stream& in) { return read_header(in, false); }

std::optional<InMessage> read_message_from(Stream& in, const PacketHeader& first,
                                           RequestBudget::Account& account) {
  return read_message_with(
      in, [&](InMessage& message, uint64_t total) { return grow_on(account, message, total); }, first);
}

std::optional<PacketHeader> stream_message(Stream& in, const PacketHeader& first, MessageStream& out) {
  try {
    PacketHeader h = first;
    bool wanted = true;
    Bytes dropped;  // a packet out no longer wants, read to be dropped
    for (;;) {
      if (wanted) {
        Bytes payload;
        read_payload(in, h, payload);
        wanted = out.push(std::move(payload));
      } else {
        read_payload(in, h, dropped);
        out.count_dropped(dropped.size());
      }
      if (h.status & packet_status::kEom) {
        out.end((h.status & packet_status::kIgnore) ? MessageEnd::kIgnored : MessageEnd::kComplete);
        return std::nullopt;
      }
      h = *read_header(in, true);
      if (h.type == static_cast<uint8_t>(PacketType::kAttention)) {
        out.end(MessageEnd::kAttention);
        return h;
      }
      if (h.type != first.type) {
        throw ProtocolError(fmt::format("packet type changed from 0x{:02X} to 0x{:02X} within a message",
                                        first.type, h.type));
      }
    }
  } catch (...) {
    out.end(MessageEnd::kClosed);
    throw;
  }
}

MessageWriter::MessageWriter(Stream& out, uint16_t spid, size_t packet_size)
    : out_(out), spid_(spid), packet_size_(packet_size), next_packet_size_(packet_size) {}

void MessageWriter::set_packet_size(size_t packet_size) {
  next_packet_size_ = std::clamp(packet_size, kMinPacketSize, kMaxPacketSize);
  if (!in_message_) packet_size_ = next_packet_size_;
}

void MessageWriter::begin(PacketType type) {
  if (in_message_) throw std::logic_error("MessageWriter::begin inside a message");
  packet_size_ = next_packet_size_;
  type_ = type;
  packet_id_ = 1;
  in_message_ = true;
  buffer_.clear();
  buffer_.reserve(packet_size_);
  buffer_.resize(kPacketHeaderSize);
}

void MessageWriter::write(std::span<const uint8_t> data) {
  if (!in_message_) throw std::logic_error("MessageWriter::write outside a message");
  while (!data.empty()) {
    // Send a full packet only once more data is known to follow, so the last packet carries EOM.
    if (buffer_.size() == packet_size_) send_packet(false);
    size_t n = std::min(data.size(), packet_size_ - buffer_.size());
    buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    data = data.subspan(n);
  }
}

void MessageWriter::end() {
  if (!in_message_) throw std::logic_error("MessageWriter::end outside a message");
  in_message_ = false;
  send_packet(true);
}

void MessageWriter::flush() {
  // A packet shorter than the packet size before the last one: clients read each packet by the length in its
  // header (SQL Server sends such packets for RAISERROR ... WITH NOWAIT too).
  if (in_message_ && buffer_.size() > kPacketHeaderSize) send_packet(false);
}

void MessageWriter::send_packet(bool eom) {
  PacketHeader h{static_cast<uint8_t>(type_),
                 eom ? packet_status::kEom : uint8_t{0},
                 static_cast<uint16_t>(buffer_.size()),
                 spid_,
                 packet_id_,
                 0};
  auto header = encode_header(h);
  std::copy(header.begin(), header.end(), buffer_.begin());
  ++packet_id_;  // wraps at 256 as the protocol expects
  try {
    out_.write_all(buffer_);
    if (counters_) {
      ++counters_->writes;
      counters_->last_write_micros = now_micros();
    }
  } catch (...) {
    in_message_ = false;
    throw;
  }
  buffer_.resize(kPacketHeaderSize);
}

}  // namespace bakrest::server
