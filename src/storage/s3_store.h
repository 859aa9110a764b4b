// ObjectStore on one S3 bucket over HTTP (docs/OPERATIONS.md, "S3 buckets"): AWS S3 or any S3-compatible
// endpoint (Ceph RGW, MinIO, ...), SigV4-signed, path- or virtual-host-addressed.
//
// Requests: each is retried on its own (not the whole backup) with exponential backoff and full jitter when
// it fails in a way that may pass — 5xx, SlowDown/throttling, RequestTimeout, a reset connection, a stall
// below the minimum speed, a truncated body — honouring Retry-After, until max_attempts or retry_seconds is
// reached; then the StorageError names the operation, key, HTTP status, S3's code and message and the
// request id. 403s and other refusals are not retried. Keys that expired (ExpiredToken) are fetched again
// once. Requests are signed with the bucket's credentials (storage/credentials.h), or with those the call's
// CallContext carries when it carries any (a task acting as an IAM role: storage/role_signed_store.h).
//
// Writing: an object smaller than the first part is sent with one PutObject. A larger one is a multipart
// upload whose parts (each with Content-MD5 and a signed SHA-256) are sent by up to parts_in_flight threads
// while the caller keeps writing; the part size starts at part_size_mb and doubles every 1,000 parts, so one
// object can reach S3's 5 TiB limit within its 10,000 parts (parts_per_size, 1,000, is settable for tests).
// Memory: at most (parts in flight + 1) × part size, and parts in flight shrink as parts grow so that this
// stays within max_buffer_mb (buffer_limit_bytes() reports it). The completed object's ETag is checked
// against the parts' MD5s; CompleteMultipartUpload's errors inside a 200 reply are detected. IfExists::kFail
// uses If-None-Match: * where the endpoint supports conditional writes (conditional_writes = true), else a
// HeadObject just before completing (a window in which another writer can slip in). An uncommitted writer
// aborts its upload.
//
// Reading: open() asks HeadObject for the size and ETag, then reads the range in chunks of read_chunk_mb
// by ranged GETs with If-Match (an object replaced mid-read is an error, never a mix), up to parts_in_flight
// chunks at once ahead of the caller (fewer when (chunks + 1) × read_chunk_mb would pass max_buffer_mb); a
// chunk that fails is asked for again from the byte it reached.
//
// Thread safety: as ObjectStore. No staging on local disk.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "storage/credentials.h"
#include "storage/http_client.h"
#include "storage/object_store.h"

namespace bakrest::storage {

struct S3Settings {
  std::string bucket;
  std::string endpoint;  // "http://127.0.0.1:9000", "https://rgw.example.net"; empty: AWS's regional endpoint
  std::string region = "us-east-1";
  bool virtual_addressing = false;  // bucket.host/key instead of host/bucket/key
  bool conditional_writes = true;   // the endpoint honours If-None-Match: * on PutObject and completion
  http::Options http;
  CredentialSettings credentials;
  int max_attempts = 8;
  int retry_seconds = 120;    // a request stops retrying after this long
  int part_size_mb = 8;       // the first part size (S3: at least 5)
  int parts_per_size = 1000;  // the part size doubles after this many parts
  int parts_in_flight = 4;
  int max_buffer_mb = 256;
  int read_chunk_mb = 8;
  // Backoff: the n-th retry waits a random time in [0, min(max_backoff, base_backoff * 2^n)].
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{10'000};
};

class S3Store : public ObjectStore, public BucketAdmin {
 public:
  // Throws std::runtime_error for bad settings or credentials that cannot be read.
  explicit S3Store(S3Settings settings);
  ~S3Store() override;

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

  // "http://127.0.0.1:9000", or the AWS endpoint in use.
  std::string endpoint(const std::string& bucket) const override;
  bool signs_requests(const std::string&) const override { return true; }

  class Connection;  // signing, sending and retrying (s3_store.cc)

 private:
  std::shared_ptr<Connection> connection_;
};

}  // namespace bakrest::storage
