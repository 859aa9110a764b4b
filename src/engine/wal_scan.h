// Finds the transactions SQLite committed to a WAL file: runs of frames ending in a commit frame, with valid
// salts and an unbroken checksum chain — the same test SQLite's own recovery applies. The transaction log's
// capture and its recovery at open both read the WAL through this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/wal_format.h"

namespace bakrest::engine {

// A position in one generation of a WAL: just after a commit frame, or just after the header (frame 0).
struct WalCursor {
  uint32_t salt[2] = {0, 0};
  uint32_t frame = 0;      // frames 1..frame have been consumed
  wal::Checksum checksum;  // the running checksum after that frame
  // The header's own checksum, which seeds the frames' chain. The salts alone do not name a generation:
  // when a generation's first transaction rolls back, the next writer writes the header again, with the
  // same salts but its own connection's checkpoint sequence, and so another checksum.
  wal::Checksum header_checksum;
  uint32_t page_size = 0;
  bool big_endian_checksum = false;
  bool same_generation(const wal::Header& h) const {
    return salt[0] == h.salt[0] && salt[1] == h.salt[1] && header_checksum == h.checksum;
  }
};

struct WalTransaction {
  uint32_t first_frame = 0;
  uint32_t commit_frame = 0;
  uint32_t database_pages = 0;  // the database size after the commit
  // The newest frame of each page the transaction wrote, sorted by page number; pages beyond
  // database_pages (a truncating commit) are left out.
  struct PageFrame {
    uint32_t pgno;
    uint32_t frame;
    // The page's image as the scan read it, valid only during on_commit; null when the scan no longer holds
    // it (a transaction larger than kWalScanChunkBytes), and the caller reads the frame itself.
    const uint8_t* image;
  };
  std::vector<PageFrame> pages;
  WalCursor end;  // the cursor after the commit frame
};

struct WalScanResult {
  WalCursor end;           // after the last commit found (or where the scan started)
  bool restarted = false;  // the WAL's salts differed from the cursor's: scanned from the header
};

// The scan reads whole frames in pieces of up to this many bytes, one read each: a small transaction's
// frames arrive in one read, and their page images need not be read again.
inline constexpr size_t kWalScanChunkBytes = 1 << 20;

// Reads the WAL from `from` (or from the header if `from` is empty or of another generation) and calls
// on_commit for every committed transaction, in order. Stops at the first frame that is missing, torn, of
// another generation or breaks the checksum chain, and never reads at or past limit_offset. Returns nullopt
// if the file has no valid header (an empty or never-used WAL).
std::optional<WalScanResult> scan_wal_commits(const wal::ReadAt& read, const std::optional<WalCursor>& from,
                                              uint64_t limit_offset,
                                              const std::function<void(const WalTransaction&)>& on_commit);

}  // namespace bakrest::engine
