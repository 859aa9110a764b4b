#include "engine/wal_format.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/file_io.h"

namespace bakrest::engine::wal {

namespace {

constexpr uint32_t kMagic = 0x377f0682;

uint32_t read_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[3]) << 24 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[1]) << 8 | p[0];
}

bool valid_page_size(uint32_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

}  // namespace

uint32_t read_be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

void Checksum::add(bool big_endian, const uint8_t* data, size_t size) {
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint32_t a = big_endian ? read_be32(data + i) : read_le32(data + i);
    uint32_t b = big_endian ? read_be32(data + i + 4) : read_le32(data + i + 4);
    s[0] += a + s[1];
    s[1] += b + s[0];
  }
}

std::optional<Header> parse_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) return std::nullopt;
  const uint8_t* h = bytes.data();
  uint32_t magic = read_be32(h);
  if ((magic & 0xFFFFFFFE) != kMagic) return std::nullopt;
  Header header;
  header.big_endian_checksum = (magic & 1) != 0;
  header.page_size = read_be32(h + 8);
  if (!valid_page_size(header.page_size)) return std::nullopt;
  header.checkpoint_sequence = read_be32(h + 12);
  header.salt[0] = read_be32(h + 16);
  header.salt[1] = read_be32(h + 20);
  header.checksum.add(header.big_endian_checksum, h, 24);
  if (header.checksum.s[0] != read_be32(h + 24) || header.checksum.s[1] != read_be32(h + 28))
    return std::nullopt;
  return header;
}

namespace {

// The file a descriptor refers to, for error messages ("" if the system cannot say).
std::string path_of(int fd) {
  char link[32], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

}  // namespace

size_t pread_full(int fd, std::span<uint8_t> out, uint64_t offset) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = fileio::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      // Database files, WALs and log segments are all read here: say which one.
      int error = errno;
      std::string path = path_of(fd);
      throw std::runtime_error("reading " + (path.empty() ? std::string("a database file") : path) +
                               " failed: " + std::strerror(error));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace bakrest::engine::wal
