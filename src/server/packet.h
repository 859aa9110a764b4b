// TDS packet framing: an 8-byte header (big-endian length and SPID) in front of each piece of a
// message; a message is the packets up to and including the one with the EOM status bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/connection_info.h"
#include "common/value.h"
#include "server/message_stream.h"
#include "server/request_budget.h"
#include "server/stream.h"

namespace bakrest::server {

enum class PacketType : uint8_t {
  kSqlBatch = 0x01,
  kRpc = 0x03,
  kReply = 0x04,
  kAttention = 0x06,
  kBulkLoad = 0x07,
  kTransactionManager = 0x0E,
  kLogin7 = 0x10,
  kSspi = 0x11,
  kPrelogin = 0x12,
};

namespace packet_status {
inline constexpr uint8_t kEom = 0x01;
inline constexpr uint8_t kIgnore = 0x02;
inline constexpr uint8_t kResetConnection = 0x08;
inline constexpr uint8_t kResetConnectionSkipTran = 0x10;
}  // namespace packet_status

inline constexpr size_t kPacketHeaderSize = 8;
inline constexpr size_t kDefaultPacketSize = 4096;  // in force until the login reply is sent
inline constexpr size_t kMinPacketSize = 512;
inline constexpr size_t kMaxPacketSize = 32767;

struct PacketHeader {
  uint8_t type = 0;
  uint8_t status = 0;
  uint16_t length = 0;  // including the header
  uint16_t spid = 0;
  uint8_t packet_id = 0;
  uint8_t window = 0;
};

std::array<uint8_t, kPacketHeaderSize> encode_header(const PacketHeader& header);
PacketHeader decode_header(std::span<const uint8_t, kPacketHeaderSize> bytes);

struct InMessage {
  PacketType type{};
  bool reset_connection = false;         // the client asks to reset session state before this request
  bool reset_keeps_transaction = false;  // ... but to leave an open transaction as it is
  Bytes payload;
  // A message read a packet at a time (stream_message()): its payload arrives here instead, and payload is
  // empty.
  std::shared_ptr<MessageStream> stream;
  RequestBudget::Reservation reservation;  // the budget's share the payload holds
  // The budget refused the message: payload is empty, the rest of the message was read and dropped, and
  // received_bytes says how large it had become.
  RequestBudget::Refusal refused = RequestBudget::Refusal::kNone;
  uint64_t received_bytes = 0;
  uint32_t packets = 0;  // how many packets the message came in
};

// Reads one client message. Returns nullopt when the stream ends cleanly between messages. Skips
// messages the client marked IGNORE. An ATTENTION packet arriving in the middle of another message
// wins: the partial message is dropped. Throws ProtocolError for malformed framing or a message whose
// payload exceeds max_payload (for messages before login, which are small).
std::optional<InMessage> read_message(Stream& in, size_t max_payload);
// The same for a logged-in session: the payload grows only as far as account allows (RequestBudget). A
// message it refuses is read to its end without being kept, and returned with refused set.
std::optional<InMessage> read_message(Stream& in, RequestBudget::Account& account);

// The pieces of read_message(account), for a reader that streams some messages (stream_message()) and reads
// the others whole. read_packet_header() reads and checks the header of a message's first packet; nullopt
// when the stream ends cleanly before it. read_message_from() reads the message that header starts, whole, as
// read_message() does; nullopt when the client marked it IGNORE.
std::optional<PacketHeader> read_packet_header(Stream& in);
std::optional<InMessage> read_message_from(Stream& in, const PacketHeader& first,
                                           RequestBudget::Account& account);
// The InMessage a message's first packet describes: its type and reset flags, no payload.
InMessage start_message(const PacketHeader& first);

// Reads the message whose first packet's header is `first` (read by read_packet_header()) into out a packet
// at a time, up to the packet with EOM, and ends out: kComplete, or kIgnored when that packet has IGNORE.
// Once out no longer wants payloads (MessageStream::push()) the rest is read and dropped, never kept. An
// ATTENTION packet before EOM ends out with kAttention and its header is returned, its payload unread: the
// caller reads the ATTENTION message from there (read_message_from()). Otherwise returns nullopt. Throws
// ProtocolError for malformed framing and when the connection closes before EOM, having ended out with
// kClosed; out ends with kClosed too when reading fails otherwise.
std::optional<PacketHeader> stream_message(Stream& in, const PacketHeader& first, MessageStream& out);

// Builds one outgoing message at a time, sending each packet as soon as it is full, so a large
// response never sits in memory whole.
class MessageWriter {
 public:
  MessageWriter(Stream& out, uint16_t spid, size_t packet_size = kDefaultPacketSize);

  // Applies from the next message on; clamped to [kMinPacketSize, kMaxPacketSize].
  void set_packet_size(size_t packet_size);
  size_t packet_size() const { return packet_size_; }

  void begin(PacketType type = PacketType::kReply);
  void write(std::span<const uint8_t> data);
  // Sends what is buffered as the last packet (EOM), even if that is only a header.
  void end();
  // Sends what is buffered now as a packet of the message (not its last), if there is any.
  void flush();
  bool in_message() const { return in_message_; }
  // Counts each packet sent (and when) into counters, which must outlive the writer; null: no counting.
  void count_into(ConnectionCounters* counters) { counters_ = counters; }

 private:
  void send_packet(bool eom);

  Stream& out_;
  uint16_t spid_;
  size_t packet_size_;
  size_t next_packet_size_;
  PacketType type_ = PacketType::kReply;
  uint8_t packet_id_ = 1;
  bool in_message_ = false;
  Bytes buffer_;  // header space followed by payload of the packet being filled
  ConnectionCounters* counters_ = nullptr;
};

}  // namespace bakrest::server
