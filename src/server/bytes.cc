#include "server/bytes.h"

#include <fmt/format.h>

namespace bakrest::server {

void ByteWriter::u16le(uint16_t v) { uint_le(v, 2); }
void ByteWriter::u32le(uint32_t v) { uint_le(v, 4); }
void ByteWriter::u64le(uint64_t v) { uint_le(v, 8); }

void ByteWriter::u16be(uint16_t v) {
  u8(static_cast<uint8_t>(v >> 8));
  u8(static_cast<uint8_t>(v));
}

void ByteWriter::u32be(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<uint8_t>(v >> shift));
}

void ByteWriter::uint_le(uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::patch_u16le(size_t offset, uint16_t v) {
  buf_.at(offset) = static_cast<uint8_t>(v);
  buf_.at(offset + 1) = static_cast<uint8_t>(v >> 8);
}

void ByteReader::need(size_t n) const {
  if (n > remaining()) {
    throw ProtocolError(
        fmt::format("truncated data: needed {} bytes at offset {}, {} left", n, pos_, remaining()));
  }
}

uint8_t ByteReader::u8() {
  need(1);
  return data_[pos_++];
}

uint8_t ByteReader::peek() const {
  need(1);
  return data_[pos_];
}

uint16_t ByteReader::u16le() { return static_cast<uint16_t>(uint_le(2)); }
uint32_t ByteReader::u32le() { return static_cast<uint32_t>(uint_le(4)); }
uint64_t ByteReader::u64le() { return uint_le(8); }

uint16_t ByteReader::u16be() {
  auto b = bytes(2);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}

uint32_t ByteReader::u32be() {
  auto b = bytes(4);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

uint64_t ByteReader::uint_le(size_t width) {
  auto b = bytes(width);
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{b[i]} << (8 * i);
  return v;
}

std::span<const uint8_t> ByteReader::bytes(size_t n) {
  need(n);
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

}  // namespace bakrest::server
