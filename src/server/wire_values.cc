#include "server/wire_values.h"

#include <fmt/format.h>

#include <bit>

#include "server/bytes.h"

namespace bakrest::server {

size_t time_bytes(int scale) { return scale <= 2 ? 3 : scale <= 4 ? 4 : 5; }

int64_t signed_le(std::span<const uint8_t> b) {
  uint64_t v = 0;
  for (size_t i = 0; i < b.size(); ++i) v |= uint64_t{b[i]} << (8 * i);
  size_t bits = b.size() * 8;
  if (bits < 64 && ((v >> (bits - 1)) & 1)) v |= ~uint64_t{0} << bits;  // sign-extend
  return static_cast<int64_t>(v);
}

Value int_value(std::span<const uint8_t> b) {
  if (b.size() == 1) return int64_t{b[0]};  // TINYINT is unsigned
  return signed_le(b);
}

Value float_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  if (b.size() == 4) return static_cast<double>(std::bit_cast<float>(r.u32le()));
  return std::bit_cast<double>(r.u64le());
}

std::string guid_text(std::span<const uint8_t> g) {
  // The first three groups are little-endian integers, the last two are bytes in order.
  return fmt::format(
      "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
      g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

}  // namespace bakrest::server
