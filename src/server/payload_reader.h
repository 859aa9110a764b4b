// A message's payload read as ByteReader reads a span, whether the payload is in memory whole or arrives a
// packet at a time through a MessageStream; then reading blocks until the bytes it needs have arrived. The
// decoder of BULK_LOAD messages reads through it (server/bulk_load.h).
//
// Lengths in a payload are the client's: callers bound them before asking for that many bytes. bytes(n)
// copies only when its n bytes span two packets, append() and skip() take what arrives a packet at a time,
// and nothing is allocated ahead of bytes that have arrived. A payload that ends before the bytes asked for
// is ProtocolError
// ("truncated data ..."); a stream that ends other than at EOM throws MessageAbandoned.
//
// Not thread-safe: one thread reads (a MessageStream's consumer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/value.h"
#include "server/bytes.h"
#include "server/message_stream.h"

namespace bakrest::server {

class PayloadReader {
 public:
  // A payload in memory whole, which must outlive the reader.
  explicit PayloadReader(std::span<const uint8_t> payload);
  // The payload of a message arriving through stream, which must outlive the reader.
  explicit PayloadReader(MessageStream& stream);
  PayloadReader(const PayloadReader&) = delete;
  PayloadReader& operator=(const PayloadReader&) = delete;

  uint8_t u8() { return pos_ < data_.size() ? data_[pos_++] : next_u8(); }
  uint16_t u16le() { return static_cast<uint16_t>(uint_le(2)); }
  uint32_t u32le() { return static_cast<uint32_t>(uint_le(4)); }
  uint64_t u64le() { return uint_le(8); }
  int32_t i32le() { return static_cast<int32_t>(u32le()); }
  uint64_t uint_le(size_t width) {  // width <= 8
    if (data_.size() - pos_ < width) return spanning_uint_le(width);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v |= uint64_t{data_[pos_ + i]} << (8 * i);
    pos_ += width;
    return v;
  }
  // The next n bytes in one view, valid until the next call.
  std::span<const uint8_t> bytes(size_t n);
  // Appends the next n bytes to out.
  void append(Bytes& out, size_t n);
  void skip(size_t n);
  uint8_t peek();
  // True at the end of the payload (for a stream: once the message has ended after the bytes read).
  bool at_end();

  // Bytes read so far.
  uint64_t position() const { return consumed_ + pos_; }
  // Bytes left, when the payload is in memory whole; nullopt for a stream, whose end is not known ahead.
  std::optional<uint64_t> remaining() const;

  // The reader reads no more: a stream drops the rest of its message (MessageStream::discard_rest()) and this
  // returns once the message has ended. Reading afterwards finds the end.
  void discard_rest();

 private:
  // True once there is a byte to read at pos_, taking the next packet when the current one is used up.
  bool fill();
  uint8_t next_u8();                        // u8() at the end of a packet
  uint64_t spanning_uint_le(size_t width);  // uint_le() across packets
  [[noreturn]] void truncated(size_t needed, size_t had) const;

  MessageStream* stream_ = nullptr;
  MessageStream::Piece piece_;     // the packet being read, for a stream
  std::span<const uint8_t> data_;  // its bytes, or the whole payload
  size_t pos_ = 0;                 // in data_
  uint64_t consumed_ = 0;          // bytes of the packets before data_
  bool ended_ = false;             // a stream has no more packets
  Bytes scratch_;                  // bytes() that span packets
};

}  // namespace bakrest::server
