// An ObjectStore whose every call is signed with one set of credentials, in place of each bucket's own: how a
// task acts as an IAM role on AWS (storage/sts.h) against the buckets it names. The remote store then checks
// those credentials (on AWS: the role's policies and the bucket's). A bucket the instance keeps itself (the
// local store) signs nothing and so checks nothing for such a role: calls on it are refused with
// kAccessDenied rather than let through unchecked.
//
// Thread safety: as the inner store.
#pragma once

#include <memory>
#include <string>

#include "storage/credentials.h"
#include "storage/object_store.h"

namespace bakrest::storage {

class RoleSignedStore : public ObjectStore {
 public:
  // who: the role, for the refusal's message.
  RoleSignedStore(ObjectStore& inner, std::shared_ptr<CredentialProvider> credentials, std::string who)
      : inner_(inner), credentials_(std::move(credentials)), who_(std::move(who)) {}

  using ObjectStore::bucket_region;
  using ObjectStore::create;
  using ObjectStore::head;
  using ObjectStore::list;
  using ObjectStore::open;
  using ObjectStore::remove;
  std::optional<std::string> bucket_region(const std::string& bucket, const CallContext& ctx) override {
    return inner_.bucket_region(bucket, as_role(bucket, ctx));
  }
  std::optional<ObjectInfo> head(const std::string& bucket, const std::string& key,
                                 const CallContext& ctx) override {
    return inner_.head(bucket, key, as_role(bucket, ctx));
  }
  std::unique_ptr<ObjectWriter> create(const std::string& bucket, const std::string& key, IfExists if_exists,
                                       const CallContext& ctx) override {
    return inner_.create(bucket, key, if_exists, as_role(bucket, ctx));
  }
  std::unique_ptr<ObjectReader> open(const std::string& bucket, const std::string& key,
                                     const ByteRange& range, const CallContext& ctx) override {
    return inner_.open(bucket, key, range, as_role(bucket, ctx));
  }
  void remove(const std::string& bucket, const std::string& key, const CallContext& ctx) override {
    inner_.remove(bucket, key, as_role(bucket, ctx));
  }
  std::vector<ObjectInfo> list(const std::string& bucket, const std::string& prefix,
                               const CallContext& ctx) override {
    return inner_.list(bucket, prefix, as_role(bucket, ctx));
  }
  int abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                               std::chrono::system_clock::time_point before,
                               const CallContext& ctx) override {
    return inner_.abort_unfinished_uploads(bucket, key, before, as_role(bucket, ctx));
  }
  std::string endpoint(const std::string& bucket) const override { return inner_.endpoint(bucket); }
  bool signs_requests(const std::string& bucket) const override { return inner_.signs_requests(bucket); }

 private:
  CallContext as_role(const std::string& bucket, const CallContext& ctx) const {
    if (!inner_.signs_requests(bucket)) {
      ErrorDetails details;
      details.bucket = bucket;
      throw StorageError(StorageError::Kind::kAccessDenied,
                         "Access Denied (" + who_ + " is an AWS role: it reaches buckets on S3, and bucket " +
                             bucket + " is kept by the instance itself)",
                         details);
    }
    return ctx.signed_by(credentials_);
  }

  ObjectStore& inner_;
  std::shared_ptr<CredentialProvider> credentials_;
  std::string who_;
};

}  // namespace bakrest::storage
