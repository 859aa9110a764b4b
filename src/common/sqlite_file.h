// What bakrest reads of a SQLite database file itself (sqlite.org/fileformat2.html, "The Database Header").
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

namespace bakrest {

// The page size a database header gives (big-endian u16 at offset 16, where 1 stands for 65536), or 0 if
// header holds fewer than 18 bytes.
inline uint32_t sqlite_page_size(std::span<const uint8_t> header) {
  if (header.size() < 18) return 0;
  uint32_t size = static_cast<uint32_t>(header[16]) << 8 | header[17];
  return size == 1 ? 65536 : size;
}

// The page that holds SQLite's lock bytes, the 512 bytes from offset 2^30 ("the pending byte"; sqlite.org/
// fileformat2.html, "The Lock-Byte Page"): SQLite never reads or writes it, so a database of more than 1 GiB
// has it neither in its WAL nor, until a checkpoint writes past it, in its file. Its content means nothing.
inline uint64_t sqlite_lock_byte_page(uint32_t page_size) { return (uint64_t{1} << 30) / page_size + 1; }

// The page size in the header of the database file open on fd, or 0 if the file has no header yet. Throws
// std::runtime_error naming file if it can't be read.
uint32_t sqlite_page_size_of(int fd, const std::filesystem::path& file);

}  // namespace bakrest
