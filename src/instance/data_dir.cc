#include "instance/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace bakrest::instance {

DataDir::DataDir(std::filesystem::path root) : root_(std::filesystem::absolute(std::move(root))) {
  std::filesystem::create_directories(root_);
  std::filesystem::create_directories(databases_dir());
  std::filesystem::create_directories(store_dir());
  std::filesystem::create_directories(keyring_dir());
  std::filesystem::permissions(keyring_dir(), std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);

  std::filesystem::path lock_file = root_ / "instance.lock";
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
    // The pid is only a hint for the error above; the lock itself is held.
  }
}

DataDir::~DataDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace bakrest::instance
