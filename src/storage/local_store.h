// ObjectStore on a local directory tree (docs/OPERATIONS.md, "Local object store").
#pragma once

#include <filesystem>

#include "storage/object_store.h"

namespace bakrest::storage {

// Layout under root: <bucket>/bucket.json ({"region": "..."}), <bucket>/objects/<key>, <bucket>/tmp/.
// Objects are written to tmp/, fsynced, then renamed into objects/ (and the directory fsynced), so a
// reader never sees a half-written object. A commit that fails leaves nothing under the key, also when only
// the directory's fsync failed after the rename (an object it replaced is gone then). Leftover tmp files from a crash are removed on construction;
// a writer holds its tmp file under flock(), so a store constructed on a root another instance is using
// never removes that instance's in-progress writes. All methods may be called from several threads and
// processes on the same root.
//
// Limitation: a key is a file and its '/'-separated prefixes are directories, so this store cannot hold
// both "a" and "a/b" (S3 can); create() of such a key fails with StorageError kInvalidKey. Path segments
// are limited to 255 bytes (NAME_MAX), also kInvalidKey.
class LocalStore : public ObjectStore {
 public:
  explicit LocalStore(std::filesystem::path root);

  std::optional<std::string> bucket_region(const std::string& bucket) override;
  void create_bucket(const std::string& bucket, const std::string& region) override;
  bool exists(const std::string& bucket, const std::string& key) override;
  using ObjectStore::create;
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key,
                                       IfExists if_exists) override;
  std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key) override;
  void remove(const std::string& bucket, const std::string& key) override;
  std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix) override;

 private:
  std::filesystem::path root_;
};

}  // namespace bakrest::storage
