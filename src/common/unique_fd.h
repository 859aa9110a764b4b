// Ownership of a file descriptor: closed (through common/file_io.h) when the owner goes.
#pragma once

#include <cerrno>
#include <utility>

#include "common/file_io.h"

namespace bakrest {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // close() errors are not reported: everything that must be durable is fsynced before closing. errno is
  // kept, so that a caller can still report why an earlier call failed.
  void reset() {
    if (fd_ >= 0) {
      const int saved = errno;
      fileio::close(fd_);
      errno = saved;
    }
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace bakrest
