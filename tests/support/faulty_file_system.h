// Storage faults for tests (DESIGN.md §2, tests/fault/): a common/file_io.h FileSystem that makes one chosen
// call fail the way a disk or file system reports an error — the call does nothing and returns -1 with
// errno set. Every call is recorded with the file it concerns, so that a test can trace an operation once
// and then fail each of its calls in turn, the way pgBackRest's tests script every storage error path.
//
// Calls it does not fail go to the FileSystem that was installed when it was made (a simulated disk, say),
// or straight to POSIX. It installs itself for its lifetime. Thread safety: calls may come from any thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_io.h"

namespace bakrest::fault {

class FaultyFileSystem final : public fileio::FileSystem {
 public:
  enum class Call {
    kOpen,           // open without O_CREAT (a file for reading or writing, or a directory to sync)
    kCreate,         // open with O_CREAT
    kRead,           // read, pread
    kWrite,          // write, pwrite
    kSync,           // fsync, fdatasync of a file
    kSyncDirectory,  // fsync of a directory
    kTruncate,
    kRename,
    kLink,
    kUnlink,
    kMkdir,
    kRmdir,
  };
  struct Event {
    Call call;
    std::string path;  // the file or directory the call concerns ("" if unknown)
  };

  FaultyFileSystem();
  ~FaultyFileSystem() override;
  FaultyFileSystem(const FaultyFileSystem&) = delete;
  FaultyFileSystem& operator=(const FaultyFileSystem&) = delete;

  // From now on, the n-th call (1-based) of the kind fails with error; later ones succeed again.
  void fail(Call call, int n, int error);
  // From now on, every call of the kind on a path containing path_part fails with error, until
  // stop_failing() (a disk that stays full, say).
  void fail_matching(Call call, std::string path_part, int error);
  void stop_failing();
  // The call that was failed, once it was.
  std::optional<Event> failed() const;
  // Every call so far (close is not recorded).
  std::vector<Event> events() const;

  int open(const char* path, int flags, mode_t mode) override;
  int close(int fd) override;
  ssize_t read(int fd, void* buffer, size_t size) override;
  ssize_t pread(int fd, void* buffer, size_t size, off_t offset) override;
  ssize_t write(int fd, const void* data, size_t size) override;
  ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) override;
  int fsync(int fd) override;
  int fdatasync(int fd) override;
  int ftruncate(int fd, off_t size) override;
  int rename(const char* from, const char* to) override;
  int link(const char* from, const char* to) override;
  int unlink(const char* path) override;
  int mkdir(const char* path, mode_t mode) override;
  int rmdir(const char* path) override;

 private:
  // Records the call; true if it is the one to fail (errno is then set).
  bool fails(Call call, const std::string& path);
  std::string path_of(int fd) const;
  Call sync_kind(int fd) const;

  fileio::FileSystem* next_;
  mutable std::mutex mutex_;
  std::vector<Event> events_;
  std::map<Call, int> counts_;
  std::map<int, std::string> paths_;  // descriptors opened through this file system
  std::optional<Call> fail_call_;
  int fail_at_ = 0;
  int fail_error_ = 0;
  std::optional<Call> match_call_;
  std::string match_path_;
  int match_error_ = 0;
  std::optional<Event> failed_;
  std::optional<fileio::ScopedFileSystem> installed_;  // last: installed once everything else is ready
};

const char* call_name(FaultyFileSystem::Call call);

}  // namespace bakrest::fault
