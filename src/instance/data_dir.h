// The instance's data directory (layout in docs/OPERATIONS.md) and the lock that keeps a second server
// off it.
#pragma once

#include <filesystem>

namespace bakrest::instance {

class DataDir {
 public:
  // Creates the directory tree if needed (mode 0700) and takes an exclusive lock on <root>/instance.lock.
  // Then removes group and other permissions from everything in the tree, logging how many it changed:
  // the data directory is private to the server's user. Throws std::runtime_error naming the other
  // server's pid when the directory is already in use.
  explicit DataDir(std::filesystem::path root);
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_file() const { return root_ / "instance.toml"; }
  std::filesystem::path msdb_file() const { return root_ / "msdb.db"; }
  std::filesystem::path databases_dir() const { return root_ / "databases"; }
  std::filesystem::path store_dir() const { return root_ / "store"; }
  std::filesystem::path keyring_dir() const { return root_ / "keyring"; }
  std::filesystem::path log_file() const { return root_ / "bakrest.log"; }
  std::filesystem::path tls_dir() const { return root_ / "tls"; }

 private:
  std::filesystem::path root_;
  int lock_fd_ = -1;
};

}  // namespace bakrest::instance
