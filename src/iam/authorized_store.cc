#include "iam/authorized_store.h"

#include <spdlog/spdlog.h>

namespace bakrest::iam {

namespace {

std::string s3_arn(const std::string& bucket, const std::string& key) {
  return "arn:aws:s3:::" + bucket + (key.empty() ? "" : "/" + key);
}

// Checks the writer's abort; everything else passes through.
class AuthorizedWriter : public storage::ObjectWriter {
 public:
  AuthorizedWriter(std::unique_ptr<storage::ObjectWriter> inner, const AuthorizedStore& store,
                   std::string bucket, std::string key)
      : inner_(std::move(inner)), store_(store), bucket_(std::move(bucket)), key_(std::move(key)) {}
  void write(std::span<const uint8_t> bytes) override { inner_->write(bytes); }
  void commit() override { inner_->commit(); }
  void abort() override {
    if (!store_.allows("s3:AbortMultipartUpload", s3_arn(bucket_, key_))) {
      spdlog::warn("could not abort the upload of {}/{}: s3:AbortMultipartUpload is not allowed", bucket_,
                   key_);
      return;
    }
    inner_->abort();
  }
  uint64_t bytes_written() const override { return inner_->bytes_written(); }
  uint64_t buffer_limit_bytes() const override { return inner_->buffer_limit_bytes(); }

 private:
  std::unique_ptr<storage::ObjectWriter> inner_;
  const AuthorizedStore& store_;
  std::string bucket_;
  std::string key_;
};

}  // namespace

std::string not_authorized(const std::string& role_arn, const std::string& action,
                           const std::string& resource) {
  return "User: " + role_arn + " is not authorized to perform: " + action + " on resource: " + resource;
}

bool AuthorizedStore::allows(const std::string& action, const std::string& resource) const {
  std::vector<const Policy*> policies;
  for (const Policy& p : role_->permissions) policies.push_back(&p);
  return allowed(policies, Request{action, resource, {}, {}});
}

void AuthorizedStore::require(const std::string& action, const std::string& bucket,
                              const std::string& key) const {
  std::string resource = s3_arn(bucket, key);
  if (allows(action, resource)) return;
  storage::ErrorDetails details;
  details.operation = action;
  details.bucket = bucket;
  details.key = key;
  details.http_status = 403;
  details.code = "AccessDenied";
  details.message = not_authorized(role_->role.arn, action, resource);
  throw storage::StorageError(storage::StorageError::Kind::kAccessDenied,
                              "Access Denied (" + details.message + ")", details);
}

std::optional<std::string> AuthorizedStore::bucket_region(const std::string& bucket,
                                                          const storage::CallContext& ctx) {
  require("s3:GetBucketLocation", bucket, "");
  return inner_.bucket_region(bucket, ctx);
}

std::optional<storage::ObjectInfo> AuthorizedStore::head(const std::string& bucket, const std::string& key,
                                                         const storage::CallContext& ctx) {
  require("s3:GetObject", bucket, key);
  auto info = inner_.head(bucket, key, ctx);
  // S3 tells a caller that may not list the bucket nothing about which keys exist: 403, not 404.
  if (!info) require("s3:ListBucket", bucket, "");
  return info;
}

std::unique_ptr<storage::ObjectWriter> AuthorizedStore::create(const std::string& bucket,
                                                               const std::string& key,
                                                               storage::IfExists if_exists,
                                                               const storage::CallContext& ctx) {
  require("s3:PutObject", bucket, key);
  return std::make_unique<AuthorizedWriter>(inner_.create(bucket, key, if_exists, ctx), *this, bucket, key);
}

std::unique_ptr<storage::ObjectReader> AuthorizedStore::open(const std::string& bucket,
                                                             const std::string& key,
                                                             const storage::ByteRange& range,
                                                             const storage::CallContext& ctx) {
  require("s3:GetObject", bucket, key);
  return inner_.open(bucket, key, range, ctx);
}

void AuthorizedStore::remove(const std::string& bucket, const std::string& key,
                             const storage::CallContext& ctx) {
  require("s3:DeleteObject", bucket, key);
  inner_.remove(bucket, key, ctx);
}

std::vector<storage::ObjectInfo> AuthorizedStore::list(const std::string& bucket, const std::string& prefix,
                                                       const storage::CallContext& ctx) {
  require("s3:ListBucket", bucket, "");
  return inner_.list(bucket, prefix, ctx);
}

int AuthorizedStore::abort_unfinished_uploads(const std::string& bucket, const std::string& key,
                                              std::chrono::system_clock::time_point before,
                                              const storage::CallContext& ctx) {
  require("s3:AbortMultipartUpload", bucket, key);
  return inner_.abort_unfinished_uploads(bucket, key, before, ctx);
}

}  // namespace bakrest::iam
