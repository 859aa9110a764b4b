// ObjectStore on a local directory tree (docs/OPERATIONS.md, "Local object store").
#pragma once

#include <filesystem>

#include "storage/object_store.h"

namespace bakrest::storage {

// Layout under root: <bucket>/bucket.json ({"region": "..."}), <bucket>/objects/<key>, <bucket>/tmp/.
// Objects are written to tmp/, fsynced, then renamed into objects/ (and the directory fsynced), so a
// reader never sees a half-written object. A commit that fails leaves nothing under the key, also when only
// the directory's fsync failed after the rename (an object it replaced is gone then). Leftover tmp files from
// a crash are removed on construction; a writer holds its tmp file under flock(), so a store constructed on a
// root another instance is using never removes that instance's in-progress writes. All methods may be called
// from several threads and processes on the same root.
//
// Limitation: a key is a file and its '/'-separated prefixes are directories, so this store cannot hold
// both "a" and "a/b" (S3 can); create() of such a key fails with StorageError kInvalidKey. Path segments
// are limited to 255 bytes (NAME_MAX), also kInvalidKey.
//
// Contexts: every call checks its context when it starts, and a writer or reader before each write or
// read; a local call, once started, is not interrupted.
class LocalStore : public ObjectStore, public BucketAdmin {
 public:
  explicit LocalStore(std::filesystem::path root);

  using BucketAdmin::create_bucket;
  using ObjectStore::bucket_region;
  using ObjectStore::create;
  using ObjectStore::head;
  using ObjectStore::list;
  using ObjectStore::open;
  using ObjectStore::remove;
  std::optional<std::string> bucket_region(const std::string& bucket, const CallContext& ctx) override;
  void create_bucket(const std::string& bucket, const std::string& region, const CallContext& ctx) override;
  std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key,
                                 const CallContext& ctx) override;
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key, IfExists if_exists,
                                       const CallContext& ctx) override;
  std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key,
                                     const ByteRange& range, const CallContext& ctx) override;
  void remove(const std::string& bucket, const std::string& key, const CallContext& ctx) override;
  std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix,
                               const CallContext& ctx) override;
  int abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                               std::chrono::system_clock::time_point before, const CallContext& ctx) override;
  std::string endpoint(const std::string&) const override { return "file://" + root_.string(); }

 private:
  std::filesystem::path root_;
};

}  // namespace bakrest::storage
