#include "engine/wal_index.h"

#include "engine/wal_format.h"

#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
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
  const uint8_t* h = frame.data();
  bool intact = read_at(wal_fd, frame.data(), frame.size(), it->second.offset) == frame.size() &&
                read_be32(h) == pgno && read_be32(h + 8) == salt_[0] && read_be32(h + 12) == salt_[1];
  if (intact) {
    // Re-checking the chained checksum also catches a frame torn by a writer reusing the slot mid-read.
    wal::Checksum sum = it->second.checksum;
    sum.add(big_endian_checksum_, h, 8);
    sum.add(big_endian_checksum_, h + kFrameHeaderSize, page_size_);
    intact = sum.s[0] == read_be32(h + 16) && sum.s[1] == read_be32(h + 20);
  }
  if (intact) {
    std::memcpy(out.data(), h + kFrameHeaderSize, page_size_);
    return true;
  }
  // A writer reuses the slot only after starting the WAL over, which changes the header's salts. The
  // header is read after the frame, so a restart that raced the frame's read is seen here.
  uint8_t header_bytes[wal::kHeaderSize];
  if (read_at(wal_fd, header_bytes, sizeof header_bytes, 0) < sizeof header_bytes) return false;  // truncated
  auto header = wal::parse_header(header_bytes);
  if (!header || header->salt[0] != salt_[0] || header->salt[1] != salt_[1]) return false;
  throw std::runtime_error("the WAL frame of page " + std::to_string(pgno) + " at byte " +
                           std::to_string(it->second.offset) +
                           " no longer passes its checksum although the WAL was not started over: the WAL is "
                           "damaged, and the backup can't read a consistent image");
}

}  // namespace bakrest::engine
