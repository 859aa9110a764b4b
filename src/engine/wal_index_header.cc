#include "engine/wal_index_header.h"

#include <unistd.h>

#include <cstring>

namespace bakrest::engine {

namespace {

// Layout of one header copy (48 bytes, native byte order): iVersion, unused, iChange, isInit,
// bigEndCksum, szPage, mxFrame, nPage, aFrameCksum[2], aSalt[2], aCksum[2]. Two copies, at 0 and 48.
constexpr size_t kCopySize = 48;
constexpr size_t kChecksummedBytes = 40;
constexpr uint32_t kVersion = 3007000;

uint32_t u32_at(const uint8_t* p, size_t offset) {
  uint32_t v;
  std::memcpy(&v, p + offset, sizeof v);
  return v;
}

}  // namespace

std::optional<WalIndexHeader> read_wal_index_header(int shm_fd) {
  uint8_t both[2 * kCopySize];
  if (shm_fd < 0 || ::pread(shm_fd, both, sizeof both, 0) != static_cast<ssize_t>(sizeof both))
    return std::nullopt;
  const uint8_t* h = both;
  if (std::memcmp(both, both + kCopySize, kCopySize) != 0) return std::nullopt;
  if (u32_at(h, 0) != kVersion || h[12] == 0) return std::nullopt;
  // The header checksum is the WAL checksum in native byte order over its first 40 bytes.
  uint32_t s0 = 0, s1 = 0;
  for (size_t i = 0; i < kChecksummedBytes; i += 8) {
    s0 += u32_at(h, i) + s1;
    s1 += u32_at(h, i + 4) + s0;
  }
  if (s0 != u32_at(h, 40) || s1 != u32_at(h, 44)) return std::nullopt;

  WalIndexHeader header;
  uint16_t size;
  std::memcpy(&size, h + 14, sizeof size);
  header.page_size = size == 1 ? 65536 : size;
  header.max_frame = u32_at(h, 16);
  header.database_pages = u32_at(h, 20);
  header.frame_checksum[0] = u32_at(h, 24);
  header.frame_checksum[1] = u32_at(h, 28);
  // The salts are the WAL header's bytes copied as they are, which are big-endian.
  for (int i = 0; i < 2; ++i) {
    const uint8_t* b = h + 32 + 4 * i;
    header.salt[i] = static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
                     static_cast<uint32_t>(b[2]) << 8 | b[3];
  }
  return header;
}

}  // namespace bakrest::engine
