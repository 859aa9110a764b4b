#include "engine/wal_scan.h"

#include <algorithm>
#include <map>

namespace bakrest::engine {

std::optional<WalScanResult> scan_wal_commits(const wal::ReadAt& read, const std::optional<WalCursor>& from,
                                              uint64_t limit_offset,
                                              const std::function<void(const WalTransaction&)>& on_commit) {
  uint8_t header_bytes[wal::kHeaderSize];
  if (read(0, header_bytes) < sizeof header_bytes) return std::nullopt;
  auto header = wal::parse_header(header_bytes);
  if (!header) return std::nullopt;

  WalScanResult result;
  if (from && from->same_generation(*header) && from->page_size == header->page_size) {
    result.end = *from;
  } else {
    result.restarted = true;
    result.end.salt[0] = header->salt[0];
    result.end.salt[1] = header->salt[1];
    result.end.frame = 0;
    result.end.checksum = header->checksum;
    result.end.header_checksum = header->checksum;
    result.end.page_size = header->page_size;
    result.end.big_endian_checksum = header->big_endian_checksum;
  }

  const uint32_t page_size = header->page_size;
  std::vector<uint8_t> frame(wal::kFrameHeaderSize + page_size);
  wal::Checksum running = result.end.checksum;
  std::map<uint32_t, uint32_t> pending;  // pgno -> newest frame, of the transaction being read
  uint32_t first_frame = result.end.frame + 1;
  for (uint32_t n = result.end.frame + 1;; ++n) {
    uint64_t offset = wal::frame_offset(n, page_size);
    if (offset + frame.size() > limit_offset) break;
    if (read(offset, frame) < frame.size()) break;
    const uint8_t* h = frame.data();
    uint32_t pgno = wal::read_be32(h);
    if (pgno == 0 || wal::read_be32(h + 8) != header->salt[0] || wal::read_be32(h + 12) != header->salt[1])
      break;
    running.add(header->big_endian_checksum, h, 8);
    running.add(header->big_endian_checksum, h + wal::kFrameHeaderSize, page_size);
    if (running.s[0] != wal::read_be32(h + 16) || running.s[1] != wal::read_be32(h + 20)) break;
    pending[pgno] = n;
    uint32_t commit_size = wal::read_be32(h + 4);
    if (commit_size == 0) continue;

    WalTransaction txn;
    txn.first_frame = first_frame;
    txn.commit_frame = n;
    txn.database_pages = commit_size;
    txn.pages.reserve(pending.size());
    for (const auto& [page, at] : pending) {
      if (page <= commit_size) txn.pages.push_back({page, at});
    }
    txn.end = result.end;
    txn.end.frame = n;
    txn.end.checksum = running;
    on_commit(txn);
    result.end = txn.end;
    pending.clear();
    first_frame = n + 1;
  }
  return result;
}

}  // namespace bakrest::engine
