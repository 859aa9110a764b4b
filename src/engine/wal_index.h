// Reads a SQLite WAL file (format: sqlite.org/fileformat2.html#walformat) to find, for a committed
// point, the newest frame of every page. The backup snapshot reads pages through it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>

#include "engine/wal_format.h"
#include "engine/wal_index_header.h"

namespace bakrest::engine {

class WalIndex {
 public:
  // Indexes frames 1..committed.max_frame of the WAL open on wal_fd. Returns nullopt if the WAL does not
  // match the WAL-index header (a writer restarted the WAL in between): read the header again and retry.
  static std::optional<WalIndex> scan(int wal_fd, const WalIndexHeader& committed);

  // Copies the newest committed image of pgno into out and returns true, or returns false if the WAL holds
  // none, or if the WAL was started over since the scan (its header has other salts; SQLite does that only
  // once every frame is in the database file, so the database file then has the image). Throws
  // std::runtime_error if the frame no longer passes its check while the WAL was not started over: within
  // one generation SQLite never rewrites a committed frame, so that is damage, and the older image in the
  // database file would be the wrong page.
  bool read_page(int wal_fd, uint32_t pgno, std::span<uint8_t> out) const;

 private:
  struct FrameRef {
    uint64_t offset;         // of the frame header
    wal::Checksum checksum;  // running checksum before this frame
  };

  uint32_t page_size_ = 0;
  bool big_endian_checksum_ = false;
  uint32_t salt_[2] = {0, 0};
  std::unordered_map<uint32_t, FrameRef> pages_;
};

}  // namespace bakrest::engine
