// Forging backup files for tests: files that are wrong in exactly one way, with every checksum and the
// digest recomputed, so that only the reader's own checks (not the checksums) can catch them.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "format/backup_layout.h"

namespace bakrest::format::forge {

namespace L = layout;

inline std::array<uint8_t, 32> sha256(std::span<const uint8_t> bytes) {
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

// Where the parts of a well-formed file lie.
struct Layout {
  size_t header_end = 0;  // the header's checksum ends here
  size_t fields_begin = L::kHeaderPrefixSize;
  std::vector<size_t> chunk_begins;  // and the trailer begins at trailer
  size_t trailer = 0;
};

inline Layout parse_layout(const std::vector<uint8_t>& file) {
  Layout out;
  auto fields = L::load_le<uint32_t>(std::span(file).subspan(L::kHeaderFieldsLengthOffset));
  out.header_end = L::kHeaderPrefixSize + fields + L::kHeaderChecksumSize;
  size_t at = out.header_end;
  while (std::memcmp(file.data() + at, L::kChunkMarker.data(), 4) == 0) {
    out.chunk_begins.push_back(at);
    at += L::kChunkOverhead + L::load_le<uint32_t>(std::span(file).subspan(at + L::kChunkStoredLengthOffset));
  }
  out.trailer = at;
  return out;
}

inline size_t chunk_end(const std::vector<uint8_t>& file, size_t begin) {
  return begin + L::kChunkOverhead +
         L::load_le<uint32_t>(std::span(file).subspan(begin + L::kChunkStoredLengthOffset));
}

// Recomputes every checksum and the digest, so a test can forge a file that is wrong in exactly one way.
inline void reseal(std::vector<uint8_t>& file, bool digest = true) {
  std::span<uint8_t> all(file);
  auto fields = L::load_le<uint32_t>(all.subspan(L::kHeaderFieldsLengthOffset));
  size_t checked = L::kHeaderPrefixSize + fields;
  L::store_le<uint64_t>(all.subspan(checked), L::checksum(all.first(checked)));
  Layout layout = parse_layout(file);
  for (size_t begin : layout.chunk_begins) {
    auto chunk = all.subspan(begin);
    L::store_le<uint32_t>(chunk.subspan(L::kChunkHeaderCheckOffset), L::chunk_header_check(chunk));
    size_t end = chunk_end(file, begin) - L::kChunkChecksumSize;
    L::store_le<uint64_t>(all.subspan(end), L::checksum(all.subspan(begin, end - begin)));
  }
  auto trailer = all.subspan(layout.trailer);
  if (digest) {
    L::StreamDigest stream(L::load_le<uint16_t>(all.subspan(L::kHeaderVersionOffset)));
    stream.update(all.first(layout.trailer));
    auto sum = stream.finish();
    // An encrypted backup keeps its trailer tag (the digest's last 16 bytes), which only its key can make.
    const bool encrypted = file[L::kHeaderPrefixSize + L::kFieldEncryption] != 0;
    std::copy(sum.begin(),
              sum.begin() + (encrypted ? L::kTrailerTagOffset - L::kTrailerDigestOffset : sum.size()),
              trailer.begin() + L::kTrailerDigestOffset);
  }
  L::store_le<uint64_t>(trailer.subspan(L::kTrailerChecksumOffset),
                        L::checksum(trailer.first(L::kTrailerChecksumOffset)));
}

// Stores value at a fixed header field (an offset from format/backup_layout.h, relative to the fields) and
// reseals the file.
template <typename T>
void forge_header_field(std::vector<uint8_t>& file, size_t field, T value) {
  L::store_le<T>(std::span(file).subspan(L::kHeaderPrefixSize + field), value);
  reseal(file);
}

}  // namespace bakrest::format::forge
