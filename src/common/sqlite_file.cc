#include "common/sqlite_file.h"

#include <cerrno>

#include "common/durable_file.h"
#include "common/file_io.h"

namespace bakrest {

uint32_t sqlite_page_size_of(int fd, const std::filesystem::path& file) {
  uint8_t header[18];
  size_t got = 0;
  while (got < sizeof header) {
    ssize_t n = fileio::pread(fd, header + got, sizeof header - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("reading " + file.string() + " failed");
    if (n == 0) return 0;  // no header yet
    got += static_cast<size_t>(n);
  }
  return sqlite_page_size(header);
}

}  // namespace bakrest
