// One ObjectStore over many: each configured bucket lives in its own store (the local directory store, or
// an S3Store for a bucket on an S3 endpoint), and calls go to the store of the bucket they name. A bucket
// that no store claims goes to the fallback store, which answers as it would for any unknown bucket.
// Thread safety: as ObjectStore; the routes are fixed at construction.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace bakrest::storage {

class BucketRouter : public ObjectStore {
 public:
  explicit BucketRouter(ObjectStore& fallback) : fallback_(fallback) {}

  // Calls naming bucket go to store (owned by the router). Throws std::invalid_argument for a bucket routed
  // twice.
  void route(const std::string& bucket, std::unique_ptr<ObjectStore> store);
  // The store that holds bucket.
  ObjectStore& store_of(const std::string& bucket);

  using ObjectStore::bucket_region;
  using ObjectStore::create;
  using ObjectStore::head;
  using ObjectStore::list;
  using ObjectStore::open;
  using ObjectStore::remove;
  std::optional<std::string> bucket_region(const std::string& bucket, const CallContext& ctx) override {
    return store_of(bucket).bucket_region(bucket, ctx);
  }
  std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key,
                                 const CallContext& ctx) override {
    return store_of(bucket).head(bucket, key, ctx);
  }
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key, IfExists if_exists,
                                       const CallContext& ctx) override {
    return store_of(bucket).create(bucket, key, if_exists, ctx);
  }
  std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key,
                                     const ByteRange& range, const CallContext& ctx) override {
    return store_of(bucket).open(bucket, key, range, ctx);
  }
  void remove(const std::string& bucket, const std::string& key, const CallContext& ctx) override {
    store_of(bucket).remove(bucket, key, ctx);
  }
  std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix,
                               const CallContext& ctx) override {
    return store_of(bucket).list(bucket, prefix, ctx);
  }
  int abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                               std::chrono::system_clock::time_point before,
                               const CallContext& ctx) override {
    return store_of(bucket).abort_unfinished_uploads(bucket, key, before, ctx);
  }
  std::string endpoint(const std::string& bucket) const override;
  bool signs_requests(const std::string& bucket) const override;

 private:
  ObjectStore& fallback_;
  std::map<std::string, std::unique_ptr<ObjectStore>> routes_;
};

}  // namespace bakrest::storage
