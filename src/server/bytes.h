// Little building blocks for TDS byte layouts: an appending writer and a bounds-checked reader.
// TDS is little-endian except the packet header and the LOGINACK/PRELOGIN version fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"

namespace bakrest::server {

// The peer sent bytes that do not form valid TDS. Whoever catches it decides whether the connection
// survives: a broken frame ends it, a bad request body only fails that request.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16le(uint16_t v);
  void u16be(uint16_t v);
  void u32le(uint32_t v);
  void u32be(uint32_t v);
  void u64le(uint64_t v);
  void i32le(int32_t v) { u32le(static_cast<uint32_t>(v)); }
  void uint_le(uint64_t v, size_t width);  // the low `width` bytes of v
  void bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void zeros(size_t n) { buf_.insert(buf_.end(), n, 0); }

  // Overwrites a u16le written earlier at `offset` (for length prefixes known only afterwards).
  void patch_u16le(size_t offset, uint16_t v);

  size_t size() const { return buf_.size(); }
  const Bytes& data() const { return buf_; }
  Bytes take() { return std::move(buf_); }
  void clear() { buf_.clear(); }

 private:
  Bytes buf_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  uint8_t u8();
  uint16_t u16le();
  uint16_t u16be();
  uint32_t u32le();
  uint32_t u32be();
  uint64_t u64le();
  int32_t i32le() { return static_cast<int32_t>(u32le()); }
  uint64_t uint_le(size_t width);  // width <= 8
  std::span<const uint8_t> bytes(size_t n);
  void skip(size_t n) { bytes(n); }
  uint8_t peek() const;

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  void need(size_t n) const;

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace bakrest::server
