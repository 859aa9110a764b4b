#include "engine/wal_index.h"

#include "engine/wal_format.h"

#include <unistd.h>

#include <cstring>
#include <vector>

namespace bakrest::engine {

using wal::kFrameHeaderSize;
using wal::read_be32;

namespace {

size_t read_at(int fd, uint8_t* out, size_t size, uint64_t offset) {
  return wal::pread_full(fd, std::span<uint8_t>(out, size), offset);
}

}  // namespace

std::optional<WalIndex> WalIndex::scan(int wal_fd, const WalIndexHeader& committed) {
  WalIndex index;
  if (committed.max_frame == 0) return index;
  uint8_t header_bytes[wal::kHeaderSize];
  if (wal_fd < 0 || read_at(wal_fd, header_bytes, sizeof header_bytes, 0) < sizeof header_bytes)
    return std::nullopt;
  auto header = wal::parse_header(header_bytes);
  if (!header || header->page_size != committed.page_size) return std::nullopt;
  index.big_endian_checksum_ = header->big_endian_checksum;
  index.page_size_ = header->page_size;
  wal::Checksum sum = header->checksum;
  index.salt_[0] = header->salt[0];
  index.salt_[1] = header->salt[1];
  if (index.salt_[0] != committed.salt[0] || index.salt_[1] != committed.salt[1]) return std::nullopt;

  std::vector<uint8_t> frame(kFrameHeaderSize + index.page_size_);
  uint64_t offset = wal::kHeaderSize;
  for (uint32_t n = 1; n <= committed.max_frame; ++n, offset += frame.size()) {
    if (read_at(wal_fd, frame.data(), frame.size(), offset) < frame.size()) return std::nullopt;
    const uint8_t* h = frame.data();
    uint32_t pgno = read_be32(h);
    if (pgno == 0 || read_be32(h + 8) != index.salt_[0] || read_be32(h + 12) != index.salt_[1])
      return std::nullopt;
    FrameRef ref{offset, sum};
    sum.add(index.big_endian_checksum_, h, 8);
    sum.add(index.big_endian_checksum_, h + kFrameHeaderSize, index.page_size_);
    if (sum.s[0] != read_be32(h + 16) || sum.s[1] != read_be32(h + 20)) return std::nullopt;
    index.pages_[pgno] = ref;
  }
  // The chain must end exactly where SQLite says the last commit ended.
  if (sum.s[0] != committed.frame_checksum[0] || sum.s[1] != committed.frame_checksum[1]) return std::nullopt;
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
  wal::Checksum sum = it->second.checksum;
  sum.add(big_endian_checksum_, h, 8);
  sum.add(big_endian_checksum_, h + kFrameHeaderSize, page_size_);
  if (sum.s[0] != read_be32(h + 16) || sum.s[1] != read_be32(h + 20)) return false;
  std::memcpy(out.data(), h + kFrameHeaderSize, page_size_);
  return true;
}

}  // namespace bakrest::engine
