#include "engine/wal_scan.h"

#include <algorithm>

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
  const uint64_t frame_size = wal::kFrameHeaderSize + page_size;
  const uint64_t frames_per_chunk = std::max<uint64_t>(1, kWalScanChunkBytes / frame_size);
  std::vector<uint8_t> chunk;
  uint32_t chunk_first = 0;  // the frame at chunk[0]
  uint32_t chunk_frames = 0;
  wal::Checksum running = result.end.checksum;
  // Every frame of the transaction being read, in order; a page written twice appears twice.
  std::vector<WalTransaction::PageFrame> frames;
  uint32_t first_frame = result.end.frame + 1;
  for (uint32_t n = result.end.frame + 1;; ++n) {
    if (n >= chunk_first + chunk_frames) {
      uint64_t offset = wal::frame_offset(n, page_size);
      if (offset + frame_size > limit_offset) break;
      uint64_t wanted = std::min(frames_per_chunk, (limit_offset - offset) / frame_size);
      chunk.resize(wanted * frame_size);
      chunk_first = n;
      chunk_frames = static_cast<uint32_t>(read(offset, chunk) / frame_size);
      if (chunk_frames == 0) break;
      // Images of the transaction's earlier frames are gone with the previous chunk.
      for (auto& f : frames) f.image = nullptr;
    }
    const uint8_t* h = chunk.data() + (n - chunk_first) * frame_size;
    uint32_t pgno = wal::read_be32(h);
    if (pgno == 0 || wal::read_be32(h + 8) != header->salt[0] || wal::read_be32(h + 12) != header->salt[1])
      break;
    running.add(header->big_endian_checksum, h, 8);
    running.add(header->big_endian_checksum, h + wal::kFrameHeaderSize, page_size);
    if (running.s[0] != wal::read_be32(h + 16) || running.s[1] != wal::read_be32(h + 20)) break;
    frames.push_back({pgno, n, h + wal::kFrameHeaderSize});
    uint32_t commit_size = wal::read_be32(h + 4);
    if (commit_size == 0) continue;

    WalTransaction txn;
    txn.first_frame = first_frame;
    txn.commit_frame = n;
    txn.database_pages = commit_size;
    // The newest frame of each page: stable by page number, so the last of equal pages is the newest.
    std::stable_sort(frames.begin(), frames.end(),
                     [](const auto& a, const auto& b) { return a.pgno < b.pgno; });
    txn.pages.reserve(frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      bool newest = i + 1 == frames.size() || frames[i + 1].pgno != frames[i].pgno;
      if (newest && frames[i].pgno <= commit_size) txn.pages.push_back(frames[i]);
    }
    txn.end = result.end;
    txn.end.frame = n;
    txn.end.checksum = running;
    on_commit(txn);
    result.end = txn.end;
    frames.clear();
    first_frame = n + 1;
  }
  return result;
}

}  // namespace bakrest::engine
