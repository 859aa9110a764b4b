// Checksums make almost every mutation of a backup or log file fail at its first check, so the targets also
// run each input "resealed": every checksum, header check, digest and total that can be recomputed from the
// bytes is recomputed the way the writers compute it, and the decoders see structure the mutation changed.
// The layouts are those of docs/FORMAT.md and docs/LOG.md; nothing here decides validity.
#pragma once

#include <openssl/evp.h>
#include <xxhash.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "format/backup_layout.h"
#include "fuzz_support.h"

namespace bakrest::fuzz {

// A backup file: header checksum, each chunk's header check and checksum, and the trailer's totals, digest
// and checksum, as far as the structure can be followed.
inline std::vector<uint8_t> reseal_backup(std::vector<uint8_t> b) {
  namespace l = format::layout;
  auto at = [&](size_t pos) { return std::span<uint8_t>(b).subspan(pos); };
  if (b.size() < l::kHeaderPrefixSize) return b;
  auto fields = l::load_le<uint32_t>(at(l::kHeaderFieldsLengthOffset));
  if (fields > l::kHeaderMaxFieldsSize) return b;
  size_t pos = l::kHeaderPrefixSize + fields;
  if (b.size() < pos + l::kHeaderChecksumSize) return b;
  l::store_le<uint64_t>(at(pos), l::checksum(std::span(b).first(pos)));
  pos += l::kHeaderChecksumSize;
  uint64_t chunks = 0, body = 0, stored = 0;
  while (pos + l::kChunkHeaderSize <= b.size()) {
    auto head = at(pos);
    if (std::equal(l::kChunkMarker.begin(), l::kChunkMarker.end(), head.begin())) {
      l::store_le<uint64_t>(head.subspan(l::kChunkSequenceOffset), chunks);
      l::store_le<uint32_t>(head.subspan(l::kChunkHeaderCheckOffset), l::chunk_header_check(head));
      auto stored_length = l::load_le<uint32_t>(head.subspan(l::kChunkStoredLengthOffset));
      size_t checked = l::kChunkHeaderSize + stored_length;
      if (pos + checked + l::kChunkChecksumSize > b.size()) break;
      l::store_le<uint64_t>(at(pos + checked), l::checksum(std::span(b).subspan(pos, checked)));
      ++chunks;
      body += l::load_le<uint32_t>(head.subspan(l::kChunkRawLengthOffset));
      stored += stored_length;
      pos += checked + l::kChunkChecksumSize;
    } else if (std::equal(l::kTrailerMarker.begin(), l::kTrailerMarker.end(), head.begin())) {
      if (pos + l::kTrailerSize > b.size()) break;
      auto trailer = at(pos);
      l::store_le<uint64_t>(trailer.subspan(l::kTrailerChunkCountOffset), chunks);
      l::store_le<uint64_t>(trailer.subspan(l::kTrailerBodyBytesOffset), body);
      l::store_le<uint64_t>(trailer.subspan(l::kTrailerStoredBytesOffset), stored);
      // The digest of the file's own version (a version the reader does not know gets the newest's).
      uint16_t version = l::load_le<uint16_t>(std::span(b).subspan(l::kHeaderVersionOffset));
      if (version < l::kOldestVersion || version > l::kVersion) version = l::kVersion;
      l::StreamDigest digest(version);
      digest.update(std::span(b).first(pos));
      auto sum = digest.finish();
      // An encrypted backup's digest ends in its trailer tag, which only the data key can make: kept.
      const bool encrypted = b[l::kHeaderPrefixSize + l::kFieldEncryption] != 0;
      std::copy(sum.begin(),
                sum.begin() + (encrypted ? l::kTrailerTagOffset - l::kTrailerDigestOffset : sum.size()),
                trailer.begin() + l::kTrailerDigestOffset);
      l::store_le<uint64_t>(trailer.subspan(l::kTrailerChecksumOffset),
                            l::checksum(trailer.first(l::kTrailerChecksumOffset)));
      break;
    } else {
      break;
    }
  }
  return b;
}

// Log records from `pos` on: each whole record's checksum over its header and page entries.
inline void reseal_log_records(std::vector<uint8_t>& b, size_t pos) {
  constexpr size_t kHeader = 56, kSum = 8;
  auto u32 = [&](size_t at) { return format::layout::load_le<uint32_t>(std::span(b).subspan(at)); };
  while (pos + kHeader <= b.size()) {
    uint64_t size = kHeader + uint64_t{u32(pos + 4)} * (4 + uint64_t{u32(pos + 36)}) + kSum;
    if (size > b.size() - pos) break;
    format::layout::store_le<uint64_t>(std::span(b).subspan(pos + size - kSum),
                                       XXH3_64bits(b.data() + pos, size - kSum));
    pos += size;
  }
}

// A log segment file: its 32-byte header's checksum (over the first 24 bytes), then the records.
inline void reseal_log_segment(std::vector<uint8_t>& b) {
  constexpr size_t kHeader = 32;
  if (b.size() < kHeader) return;
  format::layout::store_le<uint64_t>(std::span(b).subspan(24), XXH3_64bits(b.data(), 24));
  reseal_log_records(b, kHeader);
}

}  // namespace bakrest::fuzz
