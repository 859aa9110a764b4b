#include "instance/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

#include "common/private_files.h"

namespace bakrest::instance {

DataDir::DataDir(std::filesystem::path root) : root_(std::filesystem::absolute(std::move(root))) {
  for (const auto& dir : {root_, databases_dir(), store_dir(), keyring_dir()})
    create_private_directories(dir);

  std::filesystem::path lock_file = root_ / "instance.lock";
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    throw std::runtime_error("cannot open " + lock_file.string() + ": " + std::strerror(errno));
  }
  // flock locks belong to the open file, so they vanish with the process: no stale locks after a crash.
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error("data directory " + root_.string() +
                             " is in use by another bakrest server (pid " + holder + ")");
  }
  // Only now, with the lock held, may the tree be changed: earlier builds, a copy or a restore from
  // elsewhere can leave files that others may read.
  if (size_t loosened = make_tree_private(root_); loosened > 0) {
    spdlog::warn(
        "data directory {}: removed group and other permissions from {} file(s) and directories; the "
        "data directory is private to the server's user",
        root_.string(), loosened);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid is only a hint for the error above; the lock itself is held.
  }
}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace bakrest::instance
