#include "common/durable_file.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/file_io.h"

namespace bakrest {

void throw_errno(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void fsync_directory(const std::filesystem::path& dir) {
  int fd = fileio::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_errno("open " + dir.string());
  int rc = fileio::fsync(fd);
  int saved = errno;
  fileio::close(fd);
  errno = saved;
  if (rc != 0) throw_errno("fsync " + dir.string());
}

void replace_file_durably(const std::filesystem::path& file, std::span<const uint8_t> bytes) {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  int fd = fileio::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("create " + tmp.string());
  auto fail = [&](const std::string& what) {
    int saved = errno;
    fileio::close(fd);
    errno = saved;
    throw_errno(what + " " + tmp.string());
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = fileio::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (fileio::fsync(fd) != 0) fail("fsync");
  fileio::close(fd);
  if (fileio::rename(tmp.c_str(), file.c_str()) != 0)
    throw_errno("rename " + tmp.string() + " to " + file.string());
  fsync_directory(file.has_parent_path() ? file.parent_path() : std::filesystem::path("."));
}

bool remove_file(const std::filesystem::path& file) {
  if (fileio::unlink(file.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("remove " + file.string());
}

}  // namespace bakrest
