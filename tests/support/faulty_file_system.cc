#include "support/faulty_file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace bakrest::fault {

using Call = FaultyFileSystem::Call;

const char* call_name(Call call) {
  switch (call) {
    case Call::kOpen:
      return "open";
    case Call::kCreate:
      return "create";
    case Call::kRead:
      return "read";
    case Call::kWrite:
      return "write";
    case Call::kSync:
      return "fsync";
    case Call::kSyncDirectory:
      return "fsync of a directory";
    case Call::kTruncate:
      return "ftruncate";
    case Call::kRename:
      return "rename";
    case Call::kLink:
      return "link";
    case Call::kUnlink:
      return "unlink";
    case Call::kMkdir:
      return "mkdir";
    case Call::kRmdir:
      return "rmdir";
  }
  return "?";
}

FaultyFileSystem::FaultyFileSystem() : next_(fileio::installed()) { installed_.emplace(*this); }

FaultyFileSystem::~FaultyFileSystem() { installed_.reset(); }

void FaultyFileSystem::fail(Call call, int n, int error) {
  std::lock_guard lock(mutex_);
  fail_call_ = call;
  fail_at_ = counts_[call] + n;
  fail_error_ = error;
}

void FaultyFileSystem::fail_matching(Call call, std::string path_part, int error) {
  std::lock_guard lock(mutex_);
  match_call_ = call;
  match_path_ = std::move(path_part);
  match_error_ = error;
}

void FaultyFileSystem::stop_failing() {
  std::lock_guard lock(mutex_);
  match_call_.reset();
  fail_call_.reset();
}

std::optional<FaultyFileSystem::Event> FaultyFileSystem::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

std::vector<FaultyFileSystem::Event> FaultyFileSystem::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

bool FaultyFileSystem::fails(Call call, const std::string& path) {
  std::lock_guard lock(mutex_);
  events_.push_back({call, path});
  int n = ++counts_[call];
  if (match_call_ == call && path.find(match_path_) != std::string::npos) {
    failed_ = Event{call, path};
    errno = match_error_;
    return true;
  }
  if (fail_call_ != call || n != fail_at_) return false;
  failed_ = Event{call, path};
  errno = fail_error_;
  return true;
}

std::string FaultyFileSystem::path_of(int fd) const {
  std::lock_guard lock(mutex_);
  auto it = paths_.find(fd);
  if (it != paths_.end()) return it->second;
  // A descriptor opened before this file system was installed.
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

Call FaultyFileSystem::sync_kind(int fd) const {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? Call::kSyncDirectory : Call::kSync;
}

int FaultyFileSystem::open(const char* path, int flags, mode_t mode) {
  if (fails(flags & O_CREAT ? Call::kCreate : Call::kOpen, path)) return -1;
  int fd = next_ ? next_->open(path, flags, mode) : ::open(path, flags, mode);
  if (fd >= 0) {
    std::lock_guard lock(mutex_);
    paths_[fd] = path;
  }
  return fd;
}

int FaultyFileSystem::close(int fd) {
  {
    std::lock_guard lock(mutex_);
    paths_.erase(fd);
  }
  return next_ ? next_->close(fd) : ::close(fd);
}

ssize_t FaultyFileSystem::read(int fd, void* buffer, size_t size) {
  if (fails(Call::kRead, path_of(fd))) return -1;
  return next_ ? next_->read(fd, buffer, size) : ::read(fd, buffer, size);
}

ssize_t FaultyFileSystem::pread(int fd, void* buffer, size_t size, off_t offset) {
  if (fails(Call::kRead, path_of(fd))) return -1;
  return next_ ? next_->pread(fd, buffer, size, offset) : ::pread(fd, buffer, size, offset);
}

ssize_t FaultyFileSystem::write(int fd, const void* data, size_t size) {
  if (fails(Call::kWrite, path_of(fd))) return -1;
  return next_ ? next_->write(fd, data, size) : ::write(fd, data, size);
}

ssize_t FaultyFileSystem::pwrite(int fd, const void* data, size_t size, off_t offset) {
  if (fails(Call::kWrite, path_of(fd))) return -1;
  return next_ ? next_->pwrite(fd, data, size, offset) : ::pwrite(fd, data, size, offset);
}

int FaultyFileSystem::fsync(int fd) {
  if (fails(sync_kind(fd), path_of(fd))) return -1;
  return next_ ? next_->fsync(fd) : ::fsync(fd);
}

int FaultyFileSystem::fdatasync(int fd) {
  if (fails(sync_kind(fd), path_of(fd))) return -1;
  return next_ ? next_->fdatasync(fd) : ::fdatasync(fd);
}

int FaultyFileSystem::ftruncate(int fd, off_t size) {
  if (fails(Call::kTruncate, path_of(fd))) return -1;
  return next_ ? next_->ftruncate(fd, size) : ::ftruncate(fd, size);
}

int FaultyFileSystem::rename(const char* from, const char* to) {
  if (fails(Call::kRename, to)) return -1;
  return next_ ? next_->rename(from, to) : ::rename(from, to);
}

int FaultyFileSystem::link(const char* from, const char* to) {
  if (fails(Call::kLink, to)) return -1;
  return next_ ? next_->link(from, to) : ::link(from, to);
}

int FaultyFileSystem::unlink(const char* path) {
  if (fails(Call::kUnlink, path)) return -1;
  return next_ ? next_->unlink(path) : ::unlink(path);
}

int FaultyFileSystem::mkdir(const char* path, mode_t mode) {
  if (fails(Call::kMkdir, path)) return -1;
  return next_ ? next_->mkdir(path, mode) : ::mkdir(path, mode);
}

int FaultyFileSystem::rmdir(const char* path) {
  if (fails(Call::kRmdir, path)) return -1;
  return next_ ? next_->rmdir(path) : ::rmdir(path);
}

}  // namespace bakrest::fault
