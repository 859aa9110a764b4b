// The header of SQLite's WAL-index (the -shm file; sqlite.org/fileformat2.html#walindexformat): which WAL
// frames are committed. Reading it needs no lock, so a backup can find a committed point without
// waiting for writers, who would otherwise starve it of SQLite's write lock.
#pragma once

#include <cstdint>
#include <optional>

namespace bakrest::engine {

struct WalIndexHeader {
  uint32_t page_size = 0;               // 0 when unknown
  uint32_t max_frame = 0;               // frames 1..max_frame of the WAL are committed
  uint32_t database_pages = 0;          // database size in pages after the last commit
  uint32_t frame_checksum[2] = {0, 0};  // running checksum after frame max_frame
  uint32_t salt[2] = {0, 0};            // the current WAL generation's salts
};

// Reads the header from the open -shm file. nullopt if it is not initialised, or the two copies differ or
// fail their checksum (a writer was updating it): read again.
std::optional<WalIndexHeader> read_wal_index_header(int shm_fd);

}  // namespace bakrest::engine
