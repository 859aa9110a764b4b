// The file-system calls of bakrest's durable paths, in one place: the transaction log's segments, the
// changed-page file and every other file replaced with durable_file.h, the local object store, and the
// pages a restore writes. SQLite's own files are not here: SQLite reaches the disk through its VFS, which
// is its seam (engine/capture_vfs.h).
//
// Each function takes the POSIX call's arguments and returns its result, errno included. Normally it is
// that POSIX call, behind one atomic load and a branch the CPU predicts, so production pays nothing
// measurable next to the system call itself. Tests install a FileSystem instead, to see every call and
// to change what it does: tests/power/ keeps what was written since each file's last sync apart and
// drops or tears it at a simulated power cut; tests/fault/ makes one chosen call fail.
//
// The rules that keep a test's view complete: a descriptor opened here is closed here (closing any other
// descriptor here is fine too), and a durable path creates, renames, links and removes files only through
// these calls.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>

namespace bakrest::fileio {

// What a test implements: the same calls with the same contracts (return value, errno). Every method may
// be called from several threads at once.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual int open(const char* path, int flags, mode_t mode) = 0;
  virtual int close(int fd) = 0;
  virtual ssize_t read(int fd, void* buffer, size_t size) = 0;
  virtual ssize_t pread(int fd, void* buffer, size_t size, off_t offset) = 0;
  virtual ssize_t write(int fd, const void* data, size_t size) = 0;
  virtual ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) = 0;
  // On a descriptor of a directory: makes the entries created, renamed, linked or removed in it durable.
  virtual int fsync(int fd) = 0;
  virtual int fdatasync(int fd) = 0;
  virtual int ftruncate(int fd, off_t size) = 0;
  virtual int rename(const char* from, const char* to) = 0;
  virtual int link(const char* from, const char* to) = 0;
  virtual int unlink(const char* path) = 0;
  virtual int mkdir(const char* path, mode_t mode) = 0;
  virtual int rmdir(const char* path) = 0;
};

namespace detail {
inline std::atomic<FileSystem*> installed{nullptr};
}  // namespace detail

// Makes fs receive every call below while it lives. One at a time; install it before the code under test
// opens files and remove it after that code closed them (it is not safe against calls in flight).
class ScopedFileSystem {
 public:
  explicit ScopedFileSystem(FileSystem& fs) : previous_(detail::installed.exchange(&fs)) {}
  ~ScopedFileSystem() { detail::installed.store(previous_); }
  ScopedFileSystem(const ScopedFileSystem&) = delete;
  ScopedFileSystem& operator=(const ScopedFileSystem&) = delete;

 private:
  FileSystem* previous_;
};

// The calls. Where no FileSystem is installed each is the POSIX call of the same name.
inline FileSystem* installed() { return detail::installed.load(std::memory_order_acquire); }

inline int open(const char* path, int flags, mode_t mode = 0) {
  FileSystem* fs = installed();
  return fs ? fs->open(path, flags, mode) : ::open(path, flags, mode);
}
inline int close(int fd) {
  FileSystem* fs = installed();
  return fs ? fs->close(fd) : ::close(fd);
}
inline ssize_t read(int fd, void* buffer, size_t size) {
  FileSystem* fs = installed();
  return fs ? fs->read(fd, buffer, size) : ::read(fd, buffer, size);
}
inline ssize_t pread(int fd, void* buffer, size_t size, off_t offset) {
  FileSystem* fs = installed();
  return fs ? fs->pread(fd, buffer, size, offset) : ::pread(fd, buffer, size, offset);
}
inline ssize_t write(int fd, const void* data, size_t size) {
  FileSystem* fs = installed();
  return fs ? fs->write(fd, data, size) : ::write(fd, data, size);
}
inline ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  FileSystem* fs = installed();
  return fs ? fs->pwrite(fd, data, size, offset) : ::pwrite(fd, data, size, offset);
}
inline int fsync(int fd) {
  FileSystem* fs = installed();
  return fs ? fs->fsync(fd) : ::fsync(fd);
}
inline int fdatasync(int fd) {
  FileSystem* fs = installed();
  return fs ? fs->fdatasync(fd) : ::fdatasync(fd);
}
inline int ftruncate(int fd, off_t size) {
  FileSystem* fs = installed();
  return fs ? fs->ftruncate(fd, size) : ::ftruncate(fd, size);
}
inline int rename(const char* from, const char* to) {
  FileSystem* fs = installed();
  return fs ? fs->rename(from, to) : ::rename(from, to);
}
inline int link(const char* from, const char* to) {
  FileSystem* fs = installed();
  return fs ? fs->link(from, to) : ::link(from, to);
}
inline int unlink(const char* path) {
  FileSystem* fs = installed();
  return fs ? fs->unlink(path) : ::unlink(path);
}
inline int mkdir(const char* path, mode_t mode) {
  FileSystem* fs = installed();
  return fs ? fs->mkdir(path, mode) : ::mkdir(path, mode);
}
inline int rmdir(const char* path) {
  FileSystem* fs = installed();
  return fs ? fs->rmdir(path) : ::rmdir(path);
}

}  // namespace bakrest::fileio
