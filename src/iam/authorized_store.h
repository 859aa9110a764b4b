// The object store as a role may use it: every call is checked against the role's permission policies
// before it reaches the store, as S3 checks a request made with the role's credentials. A task's backup or
// restore reaches the store only through one of these (procs' task runners make it from the role that the
// instance's SQLSERVER_BACKUP_RESTORE option names), so no code path skips the check.
//
//   bucket_region                s3:GetBucketLocation  on arn:aws:s3:::<bucket>
//   list                         s3:ListBucket         on arn:aws:s3:::<bucket>
//   head, open                   s3:GetObject          on arn:aws:s3:::<bucket>/<key>; a head of an
//                                                      absent object also needs s3:ListBucket, as in S3
//                                                      (without it S3 answers 403, not 404)
//   create                       s3:PutObject          on the object
//   an uncommitted writer's abort, abort_unfinished_uploads
//                                s3:AbortMultipartUpload on the object
//   remove                       s3:DeleteObject       on the object
//
// bakrest never lists the parts of an upload, so s3:ListMultipartUploadParts (in the RDS page's policy) is
// never asked for. A denial is StorageError kAccessDenied, "Access Denied (User: <role ARN> is not authorized
// to perform: <action> on resource: <ARN>)", thrown before anything is sent or written. An abort that is
// denied is logged and the writer's own clean-up (its destructor) is left to do what the store does.
//
// Thread safety: as ObjectStore; the role's policies are immutable once loaded.
#pragma once

#include <memory>
#include <string>

#include "iam/role_store.h"
#include "storage/object_store.h"

namespace bakrest::iam {

class AuthorizedStore : public storage::ObjectStore {
 public:
  AuthorizedStore(storage::ObjectStore& inner, std::shared_ptr<const RolePolicies> role)
      : inner_(inner), role_(std::move(role)) {}

  using storage::ObjectStore::bucket_region;
  using storage::ObjectStore::create;
  using storage::ObjectStore::head;
  using storage::ObjectStore::list;
  using storage::ObjectStore::open;
  using storage::ObjectStore::remove;

  std::optional<std::string> bucket_region(const std::string& bucket,
                                           const storage::CallContext& ctx) override;
  std::optional<storage::ObjectInfo> head(const std::string& bucket, const std::string& key,
                                          const storage::CallContext& ctx) override;
  std::unique_ptr<storage::ObjectWriter> create(const std::string& bucket, const std::string& key,
                                                storage::IfExists if_exists,
                                                const storage::CallContext& ctx) override;
  std::unique_ptr<storage::ObjectReader> open(const std::string& bucket, const std::string& key,
                                              const storage::ByteRange& range,
                                              const storage::CallContext& ctx) override;
  void remove(const std::string& bucket, const std::string& key, const storage::CallContext& ctx) override;
  std::vector<storage::ObjectInfo> list(const std::string& bucket, const std::string& prefix,
                                        const storage::CallContext& ctx) override;
  int abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                               std::chrono::system_clock::time_point before,
                               const storage::CallContext& ctx) override;
  std::string endpoint(const std::string& bucket) const override { return inner_.endpoint(bucket); }

  // Whether the role may perform action on resource (an ARN).
  bool allows(const std::string& action, const std::string& resource) const;
  // Throws the StorageError above unless it may. operation, bucket and key go into the error's details.
  void require(const std::string& action, const std::string& bucket, const std::string& key) const;

 private:
  storage::ObjectStore& inner_;
  std::shared_ptr<const RolePolicies> role_;
};

// What a role may not do, as AWS words it: "User: <role ARN> is not authorized to perform: <action> on
// resource: <resource>".
std::string not_authorized(const std::string& role_arn, const std::string& action,
                           const std::string& resource);

}  // namespace bakrest::iam
