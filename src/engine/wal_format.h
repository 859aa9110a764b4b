// SQLite's WAL file format (sqlite.org/fileformat2.html#walformat): the header, the frames and their chained
// checksum, shared by the backup snapshot's index and the transaction-log capture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace bakrest::engine::wal {

inline constexpr size_t kHeaderSize = 32;
inline constexpr size_t kFrameHeaderSize = 24;

uint32_t read_be32(const uint8_t* p);

// The running WAL checksum: pairs of 32-bit words in the byte order the header's magic names.
struct Checksum {
  uint32_t s[2] = {0, 0};
  bool operator==(const Checksum&) const = default;
  void add(bool big_endian, const uint8_t* data, size_t size);
};

struct Header {
  bool big_endian_checksum = false;
  uint32_t page_size = 0;
  uint32_t checkpoint_sequence = 0;
  uint32_t salt[2] = {0, 0};
  Checksum checksum;  // over the first 24 bytes; the seed of the frames' chain
};

// Parses and checks a WAL header (magic, version-independent fields, page size, checksum).
std::optional<Header> parse_header(std::span<const uint8_t> bytes);

// Reads up to out.size() bytes at offset; fewer only at end of file.
using ReadAt = std::function<size_t(uint64_t offset, std::span<uint8_t> out)>;

// Reads exactly out.size() bytes at offset from fd, or fewer only at end of file. Throws std::runtime_error
// naming the file on I/O errors.
size_t pread_full(int fd, std::span<uint8_t> out, uint64_t offset);

inline uint64_t frame_offset(uint32_t frame, uint32_t page_size) {
  return kHeaderSize + static_cast<uint64_t>(frame - 1) * (kFrameHeaderSize + page_size);
}

}  // namespace bakrest::engine::wal
