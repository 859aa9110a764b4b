// Object storage as the backup pipeline sees it: buckets with a region, objects published atomically, read
// whole or by byte range. Two implementations share this contract and every test of it: LocalStore (a
// directory tree) and S3Store (S3 over HTTP). Thread safety: every method of an ObjectStore may be called
// from several threads at once; one ObjectWriter or ObjectReader is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bakrest::storage {

class CredentialProvider;  // storage/credentials.h

// What went wrong with a storage call, for the task_info a user reads: which operation on which object, and
// for a remote store the HTTP status, the store's error code and message and its request id. Never holds a
// credential.
struct ErrorDetails {
  std::string operation;  // "PutObject", "UploadPart", ... or for the local store "write", "publish", ...
  std::string bucket;
  std::string key;
  int http_status = 0;  // 0: no HTTP reply (local store, or the connection failed)
  std::string code;     // S3's error code, e.g. "SlowDown"; empty when there is none
  std::string message;  // S3's message, or the transport's ("Connection reset by peer")
  std::string request_id;
};

// A storage failure; what() is a sentence for users (e.g. "The specified bucket does not exist").
class StorageError : public std::runtime_error {
 public:
  enum class Kind {
    kNoSuchBucket,
    kNoSuchKey,
    kInvalidKey,
    kAccessDenied,    // credentials refused or no permission (S3 403): never retried
    kAlreadyExists,   // a kFail writer found the key taken at commit
    kInvalidRequest,  // the store refused the request as malformed (a range past the end, ...): not retried
    kThrottled,       // the store asked us to slow down (503 SlowDown, 429): retried after a pause
    kTransient,       // a 5xx reply, a reset connection, a truncated body: retried
    kTimeout,         // a call's deadline passed or a transfer stalled: retried while the deadline allows
    kCancelled,       // the caller's context was cancelled: not retried
    kIo,              // a local I/O error, or a remote failure of no other kind: not retried
  };
  StorageError(Kind kind, const std::string& what, ErrorDetails details = {})
      : std::runtime_error(what), kind_(kind), details_(std::move(details)) {}
  Kind kind() const { return kind_; }
  const ErrorDetails& details() const { return details_; }
  // Whether the same request may succeed if sent again.
  bool retryable() const {
    return kind_ == Kind::kThrottled || kind_ == Kind::kTransient || kind_ == Kind::kTimeout;
  }

 private:
  Kind kind_;
  ErrorDetails details_;
};

// What a storage call may wait for and how it learns to stop: cancellation (polled, so a call notices it
// within a fraction of a second even mid-transfer) and a deadline. A default context never stops. A context
// may also carry the credentials a remote store signs the call with, in place of its own (a task that acts
// as an IAM role on AWS: storage/role_signed_store.h); a store that signs nothing never sees them.
class CallContext {
 public:
  using Clock = std::chrono::steady_clock;

  CallContext() = default;
  explicit CallContext(std::function<bool()> cancelled, Clock::time_point deadline = Clock::time_point::max())
      : cancelled_(std::move(cancelled)), deadline_(deadline) {}

  bool cancelled() const { return cancelled_ && cancelled_(); }
  Clock::time_point deadline() const { return deadline_; }
  bool expired() const { return deadline_ != Clock::time_point::max() && Clock::now() >= deadline_; }
  // The same cancellation with a deadline no later than `from_now` from now.
  CallContext within(Clock::duration from_now) const {
    auto until = Clock::now() + from_now;
    CallContext out(cancelled_, until < deadline_ ? until : deadline_);
    out.credentials_ = credentials_;
    return out;
  }
  // The same context, its calls signed with credentials.
  CallContext signed_by(std::shared_ptr<CredentialProvider> credentials) const {
    CallContext out = *this;
    out.credentials_ = std::move(credentials);
    return out;
  }
  // The credentials to sign with in place of the store's own, or null.
  const std::shared_ptr<CredentialProvider>& credentials() const { return credentials_; }
  // Throws StorageError kCancelled or kTimeout (naming operation) if the call must stop.
  void check(std::string_view operation) const {
    if (cancelled()) {
      throw StorageError(StorageError::Kind::kCancelled, std::string(operation) + " was cancelled.",
                         details_of(operation));
    }
    if (expired()) {
      throw StorageError(StorageError::Kind::kTimeout,
                         std::string(operation) + " did not finish before its deadline.",
                         details_of(operation));
    }
  }

 private:
  static ErrorDetails details_of(std::string_view operation) {
    ErrorDetails details;
    details.operation = operation;
    return details;
  }

  std::function<bool()> cancelled_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::shared_ptr<CredentialProvider> credentials_;
};

// An object being written. Nothing is visible under the key until commit(); destroying an uncommitted
// writer (or calling abort()) removes everything it wrote (for S3: aborts the multipart upload). The
// context given to ObjectStore::create() governs every call of the writer.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // Throws StorageError. May keep bytes in memory until enough are there to send; at most
  // buffer_limit_bytes() at a time.
  virtual void write(std::span<const uint8_t> bytes) = 0;
  // Makes the object durable and visible under its key. Replaces any object that was there, or, for a
  // writer created with IfExists::kFail, throws StorageError kAlreadyExists and publishes nothing.
  virtual void commit() = 0;
  // Best effort and never throws; after it the writer accepts nothing.
  virtual void abort() = 0;
  virtual uint64_t bytes_written() const = 0;
  // The most memory this writer holds for data in flight (0: it buffers nothing of note).
  virtual uint64_t buffer_limit_bytes() const { return 0; }
};

// The bytes of one object, or of a range of it, read in order. The context given to ObjectStore::open()
// governs every read; a remote reader that loses its connection resumes from the byte it reached.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // The whole object's size, whatever range is being read.
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes of the range at the current position; fills out completely unless the
  // range ends first; returns 0 at its end. Throws StorageError.
  virtual size_t read(std::span<uint8_t> out) = 0;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // as the store reports it (quotes removed); empty for the local store
};

// A byte range of an object: from offset, length bytes (nullopt: to the end). An offset past the end is
// kInvalidRequest; a length reaching past the end stops at the end.
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

enum class IfExists { kReplace, kFail };

// The data path: what backups and restores do to objects.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The bucket's region, or nullopt if there is no such bucket. Throws StorageError (kAccessDenied, ...).
  virtual std::optional<std::string> bucket_region(const std::string& bucket, const CallContext& ctx) = 0;
  // The object's size and ETag, or nullopt if there is none. Throws StorageError: kNoSuchBucket, kInvalidKey.
  virtual std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key,
                                         const CallContext& ctx) = 0;
  // if_exists decides, atomically at commit, what happens when the key is taken by then (for a store that
  // cannot decide atomically, its documentation says how near it comes).
  virtual std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key,
                                               IfExists if_exists, const CallContext& ctx) = 0;
  // Throws kNoSuchKey if absent, kInvalidRequest for a range that starts past the end.
  virtual std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key,
                                             const ByteRange& range, const CallContext& ctx) = 0;
  // Removing an absent object is not an error.
  virtual void remove(const std::string& bucket, const std::string& key, const CallContext& ctx) = 0;
  // Objects whose key starts with prefix, in key order (UTF-8 bytes, as S3 orders them).
  virtual std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix,
                                       const CallContext& ctx) = 0;
  // Ends every unfinished upload to exactly this key that was started before `before` (an instance that
  // restarts ends what its interrupted tasks were writing) and returns how many it ended. A store whose
  // unfinished uploads vanish by themselves (the local store removes them when it opens) returns 0.
  virtual int abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                                       std::chrono::system_clock::time_point before,
                                       const CallContext& ctx) = 0;

  // Where the bucket's objects are, for msdb's backupmediafamily: the S3 endpoint's URL, or "file://<dir>"
  // for the local store.
  virtual std::string endpoint(const std::string& bucket) const = 0;
  // Whether calls on bucket are signed requests to a remote store, so that credentials a CallContext carries
  // are what the store checks (false for the local store, which checks nothing).
  virtual bool signs_requests(const std::string& bucket) const {
    (void)bucket;
    return false;
  }

  // The same calls for callers with nothing to cancel and no deadline.
  std::optional<std::string> bucket_region(const std::string& bucket) { return bucket_region(bucket, {}); }
  std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key) {
    return head(bucket, key, {});
  }
  bool exists(const std::string& bucket, const std::string& key, const CallContext& ctx = {}) {
    return head(bucket, key, ctx).has_value();
  }
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key,
                                       IfExists if_exists = IfExists::kReplace) {
    return create(bucket, key, if_exists, {});
  }
  std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key) {
    return open(bucket, key, ByteRange{}, {});
  }
  void remove(const std::string& bucket, const std::string& key) { remove(bucket, key, {}); }
  std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix) {
    return list(bucket, prefix, {});
  }
};

// Bucket administration, apart from the data path: the instance creates its configured local buckets at
// start; tests create S3 buckets. Backups and restores never create buckets.
class BucketAdmin {
 public:
  virtual ~BucketAdmin() = default;
  // Creating a bucket that exists in the same region is not an error; in another region it is kIo.
  virtual void create_bucket(const std::string& bucket, const std::string& region,
                             const CallContext& ctx) = 0;
  void create_bucket(const std::string& bucket, const std::string& region) {
    create_bucket(bucket, region, {});
  }
};

}  // namespace bakrest::storage
