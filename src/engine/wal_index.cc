#include "engine/wal_index.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bakrest::engine {

namespace {

constexpr size_t kWalHeaderSize = 32;
constexpr size_t kFrameHeaderSize = 24;
constexpr uint32_t kMagic = 0x377f0682;

uint32_t read_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[3]) << 24 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[1]) << 8 | p[0];
}

uint32_t read_be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// The WAL checksum: pairs of 32-bit words in the byte order the header's magic names.
void checksum(bool big_endian, const uint8_t* data, size_t size, uint32_t s[2]) {
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint32_t a = big_endian ? read_be32(data + i) : read_le32(data + i);
    uint32_t b = big_endian ? read_be32(data + i + 4) : read_le32(data + i + 4);
    s[0] += a + s[1];
    s[1] += b + s[0];
  }
}

// Reads exactly size bytes, or fewer only at end of file.
size_t read_at(int fd, uint8_t* out, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("reading the WAL failed: ") + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

bool valid_page_size(uint32_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

}  // namespace

std::optional<WalIndex> WalIndex::scan(int wal_fd, const WalIndexHeader& committed) {
  WalIndex index;
  if (committed.max_frame == 0) return index;
  uint8_t header[kWalHeaderSize];
  if (wal_fd < 0 || read_at(wal_fd, header, sizeof header, 0) < sizeof header) return std::nullopt;
  uint32_t magic = read_be32(header);
  if ((magic & 0xFFFFFFFE) != kMagic) return std::nullopt;
  index.big_endian_checksum_ = (magic & 1) != 0;
  index.page_size_ = read_be32(header + 8);
  if (!valid_page_size(index.page_size_) || index.page_size_ != committed.page_size) return std::nullopt;
  uint32_t s[2] = {0, 0};
  checksum(index.big_endian_checksum_, header, 24, s);
  if (s[0] != read_be32(header + 24) || s[1] != read_be32(header + 28)) return std::nullopt;
  index.salt_[0] = read_be32(header + 16);
  index.salt_[1] = read_be32(header + 20);
  if (index.salt_[0] != committed.salt[0] || index.salt_[1] != committed.salt[1]) return std::nullopt;

  std::vector<uint8_t> frame(kFrameHeaderSize + index.page_size_);
  uint64_t offset = kWalHeaderSize;
  for (uint32_t n = 1; n <= committed.max_frame; ++n, offset += frame.size()) {
    if (read_at(wal_fd, frame.data(), frame.size(), offset) < frame.size()) return std::nullopt;
    const uint8_t* h = frame.data();
    uint32_t pgno = read_be32(h);
    if (pgno == 0 || read_be32(h + 8) != index.salt_[0] || read_be32(h + 12) != index.salt_[1])
      return std::nullopt;
    FrameRef ref{offset, {s[0], s[1]}};
    checksum(index.big_endian_checksum_, h, 8, s);
    checksum(index.big_endian_checksum_, h + kFrameHeaderSize, index.page_size_, s);
    if (s[0] != read_be32(h + 16) || s[1] != read_be32(h + 20)) return std::nullopt;
    index.pages_[pgno] = ref;
  }
  // The chain must end exactly where SQLite says the last commit ended.
  if (s[0] != committed.frame_checksum[0] || s[1] != committed.frame_checksum[1]) return std::nullopt;
  return index;
}

bool WalIndex::read_page(int wal_fd, uint32_t pgno, std::span<uint8_t> out) const {
  auto it = pages_.find(pgno);
  if (it == pages_.end()) return false;
  std::vector<uint8_t> frame(kFrameHeaderSize + page_size_);
  if (read_at(wal_fd, frame.data(), frame.size(), it->second.offset) < frame.size()) return false;
  const uint8_t* h = frame.data();
  if (read_be32(h) != pgno || read_be32(h + 8) != salt_[0] || read_be32(h + 12) != salt_[1]) return false;
  // Re-checking the chained checksum also catches a frame torn by a writer reusing the slot mid-read.
  uint32_t s[2] = {it->second.checksum[0], it->second.checksum[1]};
  checksum(big_endian_checksum_, h, 8, s);
  checksum(big_endian_checksum_, h + kFrameHeaderSize, page_size_, s);
  if (s[0] != read_be32(h + 16) || s[1] != read_be32(h + 20)) return false;
  std::memcpy(out.data(), h + kFrameHeaderSize, page_size_);
  return true;
}

}  // namespace bakrest::engine
