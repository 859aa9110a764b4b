// Reads a SQLite WAL file (format: sqlite.org/fileformat2.html#walformat) to find, for a committed
// point, the newest frame of every page. The backup snapshot reads pages through it.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

namespace bakrest::engine {

class WalIndex {
 public:
  // Scans the WAL open on wal_fd (-1: no WAL) up to its last valid commit frame. Call while no writer can
  // append (the engine holds SQLite's write lock for it). expected_page_size 0 accepts the WAL's.
  static WalIndex scan(int wal_fd, uint32_t expected_page_size);

  bool has_commit() const { return commit_frames_ > 0; }
  uint32_t page_size() const { return page_size_; }
  // Database size in pages after the last commit (valid if has_commit()).
  uint32_t database_pages() const { return database_pages_; }
  uint64_t commit_frames() const { return commit_frames_; }

  // Copies the newest committed image of pgno into out and returns true, or returns false if the WAL holds
  // none, or if that frame no longer holds it (the WAL restarted, which SQLite only does once every frame
  // is in the database file, so the database file then has the image).
  bool read_page(int wal_fd, uint32_t pgno, std::span<uint8_t> out) const;

 private:
  struct FrameRef {
    uint64_t offset;       // of the frame header
    uint32_t checksum[2];  // running checksum before this frame
  };

  uint32_t page_size_ = 0;
  bool big_endian_checksum_ = false;
  uint32_t salt_[2] = {0, 0};
  uint32_t database_pages_ = 0;
  uint64_t commit_frames_ = 0;
  std::unordered_map<uint32_t, FrameRef> pages_;
};

}  // namespace bakrest::engine
