// Object storage as the backup pipeline sees it: buckets with a region, objects published atomically.
// LocalStore keeps buckets as directories; an S3 store over HTTP comes later behind the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace bakrest::storage {

// A storage failure; what() is a sentence for users (e.g. "The specified bucket does not exist").
class StorageError : public std::runtime_error {
 public:
  enum class Kind { kNoSuchBucket, kNoSuchKey, kInvalidKey, kAccessDenied, kAlreadyExists, kIo };
  StorageError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// An object being written. Nothing is visible under the key until commit(); destroying an uncommitted
// writer (or calling abort()) removes everything it wrote.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void write(std::span<const uint8_t> bytes) = 0;
  // Makes the object durable and visible under its key. Replaces any object that was there, or, for a
  // writer created with IfExists::kFail, throws StorageError kAlreadyExists and publishes nothing.
  virtual void commit() = 0;
  virtual void abort() = 0;
  virtual uint64_t bytes_written() const = 0;
};

class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to out.size() bytes at the current position; returns 0 at the end.
  virtual size_t read(std::span<uint8_t> out) = 0;
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

enum class IfExists { kReplace, kFail };

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The bucket's region, or nullopt if there is no such bucket.
  virtual std::optional<std::string> bucket_region(const std::string& bucket) = 0;
  virtual void create_bucket(const std::string& bucket, const std::string& region) = 0;

  // Throws StorageError: kNoSuchBucket, kInvalidKey.
  virtual bool exists(const std::string& bucket, const std::string& key) = 0;
  // if_exists decides, atomically at commit, what happens when the key is taken by then.
  virtual std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key,
                                               IfExists if_exists) = 0;
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key) {
    return create(bucket, key, IfExists::kReplace);
  }
  // Throws kNoSuchKey if absent.
  virtual std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key) = 0;
  // Removing an absent object is not an error.
  virtual void remove(const std::string& bucket, const std::string& key) = 0;
  // Objects whose key starts with prefix, in key order.
  virtual std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix) = 0;
};

}  // namespace bakrest::storage
