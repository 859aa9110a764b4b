#include "storage/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "common/private_files.h"
#include "common/unique_fd.h"
#include "storage/arn.h"
#include "storage/quote.h"

namespace bakrest::storage {
namespace fs = std::filesystem;
namespace {

using Kind = StorageError::Kind;

constexpr char kNoSuchBucketMessage[] = "The specified bucket does not exist";
constexpr char kNoSuchKeyMessage[] = "The specified key does not exist";
constexpr size_t kMaxSegmentBytes = 255;  // NAME_MAX on the file systems we run on
constexpr int kPublishAttempts = 64;

// --- errors -------------------------------------------------------------------------------------------

// Callers pass errno straight in: action is a string_view and path an existing path, so no argument
// evaluation allocates (and perhaps clobbers errno) before errno is read.
StorageError io_error(std::string_view action, const fs::path& path, std::error_code error) {
  return StorageError(Kind::kIo, "Could not " + std::string(action) + " " + in_quotes(path.string()) + ": " +
                                     error.message() + ".");
}

StorageError io_error(std::string_view action, const fs::path& path, int err) {
  return io_error(action, path, std::error_code(err, std::generic_category()));
}

StorageError no_such_bucket() { return StorageError(Kind::kNoSuchBucket, kNoSuchBucketMessage); }

StorageError invalid_key(std::string_view key, const std::string& reason) {
  return StorageError(Kind::kInvalidKey,
                      "The object key " + in_quotes(key) + " is not valid: " + reason + ".");
}

// --- file descriptors -----------------------------------------------------------------------------------

using FileDescriptor = UniqueFd;

// On failure the result is invalid and errno says why.
FileDescriptor open_file(const fs::path& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = fileio::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return FileDescriptor(fd);
}

void write_all(int fd, const uint8_t* data, size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = fileio::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error("write", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void fsync_file(int fd, const fs::path& path) {
  if (fileio::fsync(fd) != 0) throw io_error("flush", path, errno);
}

// A rename, link, mkdir or unlink is only durable once the directory holding the entry is fsynced.
void fsync_directory(const fs::path& dir) {
  FileDescriptor fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.valid()) {
    // Pruned by a concurrent remove(): its removal is made durable by whoever removed it.
    if (errno == ENOENT) return;
    throw io_error("open directory", dir, errno);
  }
  // Some file systems (FUSE, some network mounts) cannot sync directories; they also cannot do better.
  if (fileio::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOTSUP)
    throw io_error("flush directory", dir, errno);
}

// mkdir that accepts an existing directory (a concurrent or earlier creator) but nothing else.
void ensure_directory(const fs::path& path) {
  if (fileio::mkdir(path.c_str(), 0700) == 0) return;
  const int err = errno;
  struct stat st;
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
  throw io_error("create directory", path, err == EEXIST ? ENOTDIR : err);
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Entry names in dir. A missing directory is empty when missing_ok (it may have been pruned concurrently).
std::vector<std::string> directory_names(const fs::path& dir, bool missing_ok) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (missing_ok && (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory))
      return names;
    throw io_error("read directory", dir, ec);
  }
  for (const fs::directory_iterator end; it != end;) {
    names.push_back(it->path().filename().string());
    it.increment(ec);
    if (ec) throw io_error("read directory", dir, ec);
  }
  return names;
}

// --- temporary files ------------------------------------------------------------------------------------
//
// Every temporary file is held under an exclusive flock() by its writer until it is renamed or unlinked.
// Leftover cleanup only removes files it can lock, so a LocalStore constructed on the same root (another
// instance sharing the buckets, or a second store in this process) never deletes a live writer's file.

struct TempFile {
  fs::path path;
  FileDescriptor fd;
};

std::string unique_temp_name() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 random(std::random_device{}());
  char name[96];
  std::snprintf(name, sizeof name, "%ld-%" PRIu64 "-%016" PRIx64 ".part", static_cast<long>(::getpid()),
                counter.fetch_add(1), static_cast<uint64_t>(random()));
  return name;
}

TempFile create_temp_file(const fs::path& tmp_dir) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    TempFile temp{tmp_dir / unique_temp_name(), {}};
    temp.fd = open_file(temp.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (!temp.fd.valid()) {
      const int err = errno;
      if (err == EEXIST) continue;
      // A bucket whose tmp/ was deleted by hand heals itself; any other failure is reported.
      if (err == ENOENT && (fileio::mkdir(tmp_dir.c_str(), 0700) == 0 || errno == EEXIST)) continue;
      throw io_error("create temporary file", temp.path, err);
    }
    int rc;
    do {
      rc = ::flock(temp.fd.get(), LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) throw io_error("lock temporary file", temp.path, errno);
    // Between open and flock a concurrent cleanup may have locked and unlinked the file; if the name still
    // refers to our file now that we hold the lock, no cleanup can take it any more.
    struct stat by_fd, by_name;
    if (::fstat(temp.fd.get(), &by_fd) != 0) throw io_error("inspect temporary file", temp.path, errno);
    if (::lstat(temp.path.c_str(), &by_name) != 0) {
      if (errno == ENOENT) continue;
      throw io_error("inspect temporary file", temp.path, errno);
    }
    if (!same_file(by_fd, by_name)) continue;
    return temp;
  }
  throw StorageError(Kind::kIo, "Could not create a temporary file in " + in_quotes(tmp_dir.string()) +
                                    ": every name tried was taken.");
}

// Removes one crash leftover from a tmp/ directory unless a live writer still holds it.
void remove_leftover(const fs::path& path) {
  struct stat by_name;
  if (::lstat(path.c_str(), &by_name) != 0) {
    if (errno == ENOENT) return;
    throw io_error("inspect leftover temporary file", path, errno);
  }
  if (S_ISDIR(by_name.st_mode)) return;  // writers only make files; a directory here is not ours to judge
  FileDescriptor fd;
  if (S_ISREG(by_name.st_mode)) {
    fd = open_file(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd.valid()) {
      if (errno == ENOENT) return;
      throw io_error("open leftover temporary file", path, errno);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK || errno == EINTR) return;  // a live writer owns it
      throw io_error("lock leftover temporary file", path, errno);
    }
    struct stat by_fd;
    if (::fstat(fd.get(), &by_fd) != 0) throw io_error("inspect leftover temporary file", path, errno);
    if (!same_file(by_fd, by_name)) return;  // the name moved on meanwhile; leave it to the next cleanup
  }
  if (fileio::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw io_error("remove leftover temporary file", path, errno);
}

// --- buckets and keys ------------------------------------------------------------------------------------

bool is_valid_region(std::string_view region) {
  if (region.empty() || region.size() > 64) return false;
  return std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// The bucket's directory; throws kNoSuchBucket unless the bucket exists. A bucket exists once its
// bucket.json does: create_bucket publishes that file last.
fs::path existing_bucket(const fs::path& root, const std::string& bucket) {
  if (!is_valid_bucket_name(bucket)) throw no_such_bucket();
  fs::path dir = root / bucket;
  const fs::path file = dir / "bucket.json";
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw no_such_bucket();
    throw io_error("inspect", file, errno);
  }
  if (!S_ISREG(st.st_mode)) throw no_such_bucket();
  return dir;
}

bool is_lexically_under(const fs::path& base, const fs::path& path) {
  const fs::path relative = path.lexically_normal().lexically_relative(base.lexically_normal());
  return !relative.empty() && relative != "." && *relative.begin() != "..";
}

struct KeyPath {
  std::vector<std::string> segments;
  fs::path path;  // objects/<segment>/.../<segment>
};

// Validates key and maps it to its file under objects; the file need not exist.
KeyPath key_path(const fs::path& objects, const std::string& key) {
  if (!is_valid_object_key(key)) {
    throw invalid_key(
        key,
        "keys are 1 to 1024 bytes of UTF-8 without control characters, do not start with '/' and have "
        "no empty, '.' or '..' path segments");
  }
  KeyPath result{{}, objects};
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    std::string segment = key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.size() > kMaxSegmentBytes) {
      throw invalid_key(key, "the local store cannot keep a path segment longer than 255 bytes");
    }
    result.path /= segment;
    result.segments.push_back(std::move(segment));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  // Validation already forbids '..' and absolute keys; this guards against any gap in it.
  if (!is_lexically_under(objects, result.path)) throw invalid_key(key, "it resolves outside its bucket");
  return result;
}

// Keys are files and their '/'-separated prefixes are directories, so the local store cannot hold both "a"
// and "a/b" (S3 can). Throws kInvalidKey if key collides with an existing object or key prefix that way.
void check_key_fits(const fs::path& objects, const std::string& key,
                    const std::vector<std::string>& segments) {
  fs::path path = objects;
  std::string prefix;
  for (size_t i = 0; i < segments.size(); ++i) {
    path /= segments[i];
    prefix += (i == 0 ? "" : "/") + segments[i];
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return;
      throw io_error("inspect", path, errno);
    }
    const bool last = i + 1 == segments.size();
    if (!last && !S_ISDIR(st.st_mode)) {
      throw StorageError(Kind::kInvalidKey,
                         "The object key " + in_quotes(key) + " cannot be stored because " +
                             in_quotes(prefix) +
                             " is an object; the local store cannot keep a key that is also "
                             "the folder of other keys.");
    }
    if (last && S_ISDIR(st.st_mode)) {
      throw StorageError(Kind::kInvalidKey,
                         "The object key " + in_quotes(key) +
                             " cannot be stored because other keys start with " + in_quotes(key + "/") +
                             "; the local store cannot keep a key that is also the folder of "
                             "other keys.");
    }
  }
}

// --- writer and reader ----------------------------------------------------------------------------------

class LocalObjectWriter final : public ObjectWriter {
 public:
  LocalObjectWriter(fs::path objects, std::string key, KeyPath target, TempFile temp, IfExists if_exists,
                    CallContext ctx)
      : objects_(std::move(objects)),
        key_(std::move(key)),
        target_(std::move(target)),
        temp_(std::move(temp)),
        if_exists_(if_exists),
        ctx_(std::move(ctx)) {}
  ~LocalObjectWriter() override { abort(); }

  void write(std::span<const uint8_t> bytes) override {
    require_state(State::kOpen, "write to");
    ctx_.check("write");
    try {
      write_all(temp_.fd.get(), bytes.data(), bytes.size(), temp_.path);
    } catch (...) {
      // Part of the bytes may be in the file; committing now would publish a corrupt object.
      state_ = State::kFailed;
      throw;
    }
    bytes_written_ += bytes.size();
    write_behind();
  }

  void commit() override {
    require_state(State::kOpen, "commit");
    try {
      ctx_.check("commit");
      fsync_file(temp_.fd.get(), temp_.path);
      publish();
    } catch (...) {
      if (published_) withdraw();
      abort();
      throw;
    }
    temp_.fd.reset();  // releases the lock only now, after the temporary name is gone
    state_ = State::kCommitted;
  }

  // After commit() this does nothing: a published object is removed with ObjectStore::remove.
  void abort() override {
    if (state_ != State::kOpen && state_ != State::kFailed) return;
    // Unlink while still holding the lock so no cleanup ever sees our file unlocked. An unlink error is
    // ignored (this runs from the destructor); the next LocalStore on this root removes the leftover.
    if (!published_) fileio::unlink(temp_.path.c_str());
    temp_.fd.reset();
    state_ = State::kAborted;
  }

  uint64_t bytes_written() const override { return bytes_written_; }

 private:
  enum class State { kOpen, kFailed, kCommitted, kAborted };

  // Starts writing each full window of the object to disk as soon as it is written, and waits for the one
  // before it, so that the page cache holds at most two windows of it unwritten. Without this a large object
  // reached the disk only in commit()'s fsync: seconds in which a backup showed 99% and did no other work.
  // Advice only: an error here changes nothing (the fsync in commit() is what makes the object durable).
  void write_behind() {
    static constexpr uint64_t kWindow = 8 << 20;
    while (bytes_written_ - flushed_ >= kWindow) {
      ::sync_file_range(temp_.fd.get(), static_cast<off_t>(flushed_), kWindow, SYNC_FILE_RANGE_WRITE);
      if (flushed_ >= kWindow) {
        ::sync_file_range(temp_.fd.get(), static_cast<off_t>(flushed_ - kWindow), kWindow,
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
      }
      flushed_ += kWindow;
    }
  }

  void require_state(State wanted, const char* action) const {
    if (state_ == wanted) return;
    if (state_ == State::kFailed) {
      throw StorageError(Kind::kIo, "Cannot " + std::string(action) + " the object " + in_quotes(key_) +
                                        " because an earlier write to it failed.");
    }
    throw std::logic_error("Cannot " + std::string(action) + " the object " + in_quotes(key_) +
                           ": it is already " + (state_ == State::kCommitted ? "committed." : "aborted."));
  }

  // Creates the missing parent directories of the target and records the ones it made. Returns ENOENT
  // when a concurrent remove() pruned a directory between two mkdirs (try again), else 0.
  int make_parents(std::vector<fs::path>& created) {
    fs::path dir = objects_;
    for (size_t i = 0; i < target_.segments.size(); ++i) {  // objects/ itself, then one per prefix segment
      if (i > 0) dir /= target_.segments[i - 1];
      if (fileio::mkdir(dir.c_str(), 0700) == 0) {
        created.push_back(dir);
        continue;
      }
      const int err = errno;
      if (err == EEXIST) {
        struct stat st;
        if (::lstat(dir.c_str(), &st) != 0) {
          if (errno == ENOENT) return ENOENT;  // pruned right after mkdir saw it
          throw io_error("inspect", dir, errno);
        }
        if (S_ISDIR(st.st_mode)) continue;
      }
      if (err == ENOENT && i > 0) return ENOENT;
      if (err == EEXIST || err == ENOTDIR) check_key_fits(objects_, key_, target_.segments);
      throw io_error("create directory", dir, err);
    }
    return 0;
  }

  void publish() {
    std::vector<fs::path> created;
    for (int attempt = 1;; ++attempt) {
      int err = make_parents(created);
      if (err == 0) {
        if (if_exists_ == IfExists::kFail) {
          // link() publishes only if the name is free, atomically; the temporary name then goes.
          if (fileio::link(temp_.path.c_str(), target_.path.c_str()) == 0) {
            fileio::unlink(temp_.path.c_str());
            break;
          }
          err = errno;
          struct stat st;
          if (err == EEXIST && ::lstat(target_.path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            throw StorageError(Kind::kAlreadyExists, "The object " + in_quotes(key_) + " already exists.");
          }
        } else if (fileio::rename(temp_.path.c_str(), target_.path.c_str()) == 0) {
          break;
        } else {
          err = errno;
        }
      }
      // A concurrent remove() may have pruned a parent directory we just made or saw; make it again.
      if (err == ENOENT && attempt < kPublishAttempts) continue;
      if (err == EISDIR || err == ENOTDIR || err == ENOTEMPTY || err == EEXIST) {
        check_key_fits(objects_, key_, target_.segments);
        if (attempt < kPublishAttempts) continue;  // the conflicting key went away meanwhile
      }
      throw io_error("publish " + in_quotes(temp_.path.string()) + " as", target_.path, err);
    }
    published_ = true;
    // The new entry lives in the target's directory; every directory we made is an entry in its parent.
    std::vector<fs::path> to_sync{target_.path.parent_path()};
    for (const fs::path& dir : created) to_sync.push_back(dir.parent_path());
    std::sort(to_sync.begin(), to_sync.end());
    to_sync.erase(std::unique(to_sync.begin(), to_sync.end()), to_sync.end());
    for (const fs::path& dir : to_sync) fsync_directory(dir);
  }

  // The name was published but could not be made durable (a directory sync failed): a commit that throws
  // leaves nothing visible under the key, so the name goes again if it is still ours. Best effort; what the
  // object replaced is gone either way.
  void withdraw() noexcept {
    struct stat ours, named;
    if (::fstat(temp_.fd.get(), &ours) != 0 || ::lstat(target_.path.c_str(), &named) != 0 ||
        !same_file(ours, named))
      return;
    if (fileio::unlink(target_.path.c_str()) != 0) return;
    try {
      fsync_directory(target_.path.parent_path());
    } catch (const StorageError&) {
      // The removal is then as durable as the failed publish was.
    }
  }

  fs::path objects_;
  std::string key_;
  KeyPath target_;
  TempFile temp_;
  IfExists if_exists_;
  CallContext ctx_;
  State state_ = State::kOpen;
  bool published_ = false;
  uint64_t bytes_written_ = 0;
  uint64_t flushed_ = 0;  // bytes whose writing to disk write_behind() has started
};

class LocalObjectReader final : public ObjectReader {
 public:
  // Reads [offset, offset + remaining) of the file; the caller has checked that range against size.
  LocalObjectReader(fs::path path, FileDescriptor fd, uint64_t size, uint64_t offset, uint64_t remaining,
                    CallContext ctx)
      : path_(std::move(path)),
        fd_(std::move(fd)),
        size_(size),
        position_(offset),
        remaining_(remaining),
        ctx_(std::move(ctx)) {}

  uint64_t size() const override { return size_; }

  // Fills out completely unless the range ends first, so callers need not loop for short reads.
  size_t read(std::span<uint8_t> out) override {
    ctx_.check("read");
    const size_t wanted = static_cast<size_t>(std::min<uint64_t>(out.size(), remaining_));
    size_t total = 0;
    while (total < wanted) {
      // pread: the position is ours, whatever else shares the descriptor's offset.
      const ssize_t n =
          fileio::pread(fd_.get(), out.data() + total, wanted - total, static_cast<off_t>(position_));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw io_error("read", path_, errno);
      }
      if (n == 0) break;  // the file shrank under us; the reader of the bytes notices what is missing
      total += static_cast<size_t>(n);
      position_ += static_cast<uint64_t>(n);
      remaining_ -= static_cast<uint64_t>(n);
    }
    return total;
  }

 private:
  fs::path path_;
  FileDescriptor fd_;
  uint64_t size_;
  uint64_t position_;
  uint64_t remaining_;
  CallContext ctx_;
};

// Appends the objects under dir (whose key prefix is dir_key, "" or ending in '/') that start with prefix.
void list_directory(const fs::path& dir, const std::string& dir_key, std::string_view prefix,
                    std::vector<ObjectInfo>& out) {
  for (const std::string& name : directory_names(dir, /*missing_ok=*/true)) {
    const fs::path path = dir / name;
    std::string key = dir_key + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed while we listed
      throw io_error("inspect", path, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      key += '/';
      // Only descend where the prefix can still match, so listing one backup's stripes stays cheap.
      if (key.starts_with(prefix) || prefix.starts_with(key)) list_directory(path, key, prefix, out);
    } else if (S_ISREG(st.st_mode) && key.starts_with(prefix)) {
      out.push_back(ObjectInfo{std::move(key), static_cast<uint64_t>(st.st_size), {}});
    }
    // Anything else (symlinks, sockets) was not made by the store and open() refuses it, so it is not listed.
  }
}

}  // namespace

LocalStore::LocalStore(fs::path root) : root_(std::move(root)) {
  std::error_code ec;
  try {
    create_private_directories(root_);
  } catch (const fs::filesystem_error& e) {
    throw io_error("create the object store directory", root_, e.code());
  }
  if (!fs::is_directory(root_, ec)) {
    throw io_error("use the object store directory", root_,
                   ec ? ec : std::make_error_code(std::errc::not_a_directory));
  }
  // A crash (or a writer whose unlink failed) leaves temporary files behind; nothing will ever claim them.
  for (const std::string& name : directory_names(root_, /*missing_ok=*/false)) {
    if (!is_valid_bucket_name(name)) continue;  // not a bucket: not ours to clean
    const fs::path tmp = root_ / name / "tmp";
    struct stat st;
    // stat, not lstat: a bucket may be a symlink to another disk, as existing_bucket() allows.
    if (::stat((root_ / name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (::lstat(tmp.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    for (const std::string& file : directory_names(tmp, /*missing_ok=*/true)) remove_leftover(tmp / file);
  }
}

std::optional<std::string> LocalStore::bucket_region(const std::string& bucket, const CallContext& ctx) {
  ctx.check("inspect the bucket");
  if (!is_valid_bucket_name(bucket)) return std::nullopt;
  const fs::path path = root_ / bucket / "bucket.json";
  FileDescriptor fd = open_file(path, O_RDONLY | O_NONBLOCK);
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw io_error("open", path, errno);
  }
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = fileio::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error("read", path, errno);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("region") || !doc["region"].is_string()) {
    throw StorageError(Kind::kIo, "The bucket file " + in_quotes(path.string()) +
                                      " is damaged: expected a JSON object with a \"region\" string.");
  }
  return doc["region"].get<std::string>();
}

void LocalStore::create_bucket(const std::string& bucket, const std::string& region, const CallContext& ctx) {
  ctx.check("create the bucket");
  // StorageError has no kind for a bad bucket name or region; kInvalidKey is the nearest (a bad name).
  if (!is_valid_bucket_name(bucket)) {
    throw StorageError(Kind::kInvalidKey,
                       "The bucket name " + in_quotes(bucket) +
                           " is not valid: bucket names are 3 to 63 letters, digits, '.', '_' "
                           "or '-' and start and end with a letter or digit.");
  }
  if (!is_valid_region(region)) {
    throw StorageError(Kind::kInvalidKey,
                       "The region " + in_quotes(region) +
                           " is not valid: regions are 1 to 64 letters, digits, '-', '_' or "
                           "'.' (for example us-east-1).");
  }
  const fs::path dir = root_ / bucket;
  const auto require_region = [&](const std::string& existing) {
    if (existing != region) {
      throw StorageError(Kind::kIo, "The bucket " + in_quotes(bucket) + " already exists in region " +
                                        in_quotes(existing) + ".");
    }
  };
  if (auto existing = bucket_region(bucket)) return require_region(*existing);  // creating again is harmless

  for (const fs::path& path : {dir, dir / "objects", dir / "tmp"}) ensure_directory(path);

  // bucket.json appears atomically and exactly once: link() fails if a concurrent creator won the race.
  TempFile temp = create_temp_file(dir / "tmp");
  const std::string text = nlohmann::json{{"region", region}}.dump() + "\n";
  const fs::path target = dir / "bucket.json";
  int link_error = 0;
  try {
    write_all(temp.fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), temp.path);
    fsync_file(temp.fd.get(), temp.path);
    if (fileio::link(temp.path.c_str(), target.c_str()) != 0) link_error = errno;
  } catch (...) {
    fileio::unlink(temp.path.c_str());
    throw;
  }
  fileio::unlink(temp.path.c_str());
  if (link_error == EEXIST) {
    if (auto existing = bucket_region(bucket, ctx)) return require_region(*existing);
  }
  if (link_error != 0) throw io_error("create", target, link_error);
  fsync_directory(dir);
  fsync_directory(root_);
}

std::optional<ObjectInfo> LocalStore::head(const std::string& bucket, const std::string& key,
                                           const CallContext& ctx) {
  ctx.check("inspect the object");
  const KeyPath target = key_path(existing_bucket(root_, bucket) / "objects", key);
  struct stat st;
  if (::lstat(target.path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw io_error("inspect", target.path, errno);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return ObjectInfo{key, static_cast<uint64_t>(st.st_size), {}};
}

std::unique_ptr<ObjectWriter> LocalStore::create(const std::string& bucket, const std::string& key,
                                                 IfExists if_exists, const CallContext& ctx) {
  ctx.check("create the object");
  const fs::path dir = existing_bucket(root_, bucket);
  fs::path objects = dir / "objects";
  KeyPath target = key_path(objects, key);
  // Checked again at commit; failing here saves the caller from writing gigabytes that cannot be published.
  check_key_fits(objects, key, target.segments);
  TempFile temp = create_temp_file(dir / "tmp");
  return std::make_unique<LocalObjectWriter>(std::move(objects), key, std::move(target), std::move(temp),
                                             if_exists, ctx);
}

std::unique_ptr<ObjectReader> LocalStore::open(const std::string& bucket, const std::string& key,
                                               const ByteRange& range, const CallContext& ctx) {
  ctx.check("open the object");
  const KeyPath target = key_path(existing_bucket(root_, bucket) / "objects", key);
  // O_NONBLOCK so a FIFO planted in the tree cannot hang us; it does nothing for regular files.
  FileDescriptor fd = open_file(target.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
      throw StorageError(Kind::kNoSuchKey, kNoSuchKeyMessage);
    throw io_error("open", target.path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw io_error("inspect", target.path, errno);
  if (!S_ISREG(st.st_mode))
    throw StorageError(Kind::kNoSuchKey, kNoSuchKeyMessage);  // a key prefix directory
  const auto size = static_cast<uint64_t>(st.st_size);
  if (range.offset > size) {
    throw StorageError(Kind::kInvalidRequest, "The range starting at byte " + std::to_string(range.offset) +
                                                  " of " + in_quotes(key) + " is past its end (" +
                                                  std::to_string(size) + " bytes).");
  }
  const uint64_t remaining = std::min(size - range.offset, range.length.value_or(UINT64_MAX));
  return std::make_unique<LocalObjectReader>(target.path, std::move(fd), size, range.offset, remaining, ctx);
}

void LocalStore::remove(const std::string& bucket, const std::string& key, const CallContext& ctx) {
  ctx.check("remove the object");
  const fs::path objects = existing_bucket(root_, bucket) / "objects";
  const KeyPath target = key_path(objects, key);
  if (fileio::unlink(target.path.c_str()) != 0) {
    // EISDIR: the key is only a prefix of other keys, not an object.
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return;
    throw io_error("remove", target.path, errno);
  }
  fsync_directory(target.path.parent_path());
  // Prune directories the removal emptied. Failure is harmless (an empty directory lists as nothing), and
  // ENOTEMPTY simply means another key still lives there.
  fs::path dir = target.path.parent_path();
  bool pruned = false;
  while (dir != objects && is_lexically_under(objects, dir) && fileio::rmdir(dir.c_str()) == 0) {
    pruned = true;
    dir = dir.parent_path();
  }
  if (pruned) fsync_directory(dir);
}

std::vector<ObjectInfo> LocalStore::list(const std::string& bucket, const std::string& prefix,
                                         const CallContext& ctx) {
  ctx.check("list the objects");
  const fs::path objects = existing_bucket(root_, bucket) / "objects";
  std::vector<ObjectInfo> out;
  struct stat st;
  if (::lstat(objects.c_str(), &st) != 0) {
    if (errno == ENOENT) return out;  // nothing was ever committed after objects/ went missing
    throw io_error("inspect", objects, errno);
  }
  // Below objects/ a vanished directory means a concurrent remove(); objects/ itself must be one.
  if (!S_ISDIR(st.st_mode)) throw io_error("list", objects, ENOTDIR);
  list_directory(objects, "", prefix, out);
  // std::string compares bytes as unsigned, which is S3's UTF-8 binary key order.
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

int LocalStore::abort_unfinished_uploads(const std::string&, const std::string&,
                                         std::chrono::system_clock::time_point, const CallContext&) {
  return 0;  // the constructor removed every unfinished upload of an instance that is gone
}

}  // namespace bakrest::storage
