// The instance's configuration, kept in <data>/instance.toml (documented in docs/OPERATIONS.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/product_version.h"
#include "storage/s3_store.h"

namespace bakrest::instance {

// A [[buckets]] table: a local bucket (the directory store), or with type = "s3" a bucket of that name on
// an S3 endpoint (docs/OPERATIONS.md, "S3 buckets").
struct BucketConfig {
  std::string name;
  std::string region;
  std::optional<storage::S3Settings> s3;  // set for type = "s3"; its bucket and region are the above
};

// The option group a new instance starts in: its name, its options (SQLSERVER_BACKUP_RESTORE or none), and
// the option's IAM_ROLE_ARN (empty: the default role bakrest makes).
struct OptionGroupSeed {
  std::string name = "bakrest-backup-restore";
  std::vector<std::string> options = {"SQLSERVER_BACKUP_RESTORE"};
  std::string iam_role_arn;
};

// [aws]: an AWS account whose IAM roles and KMS keys are AWS's, not the instance's (docs/OPERATIONS.md,
// "Roles and keys on AWS"). When the option group names a role of this account, a task assumes it through
// STS with the instance's own credentials and signs its S3 and KMS requests with the role's temporary keys;
// AWS then applies the policies.
struct AwsConfig {
  std::string account;                      // 12 digits
  std::string region;                       // empty: the instance's
  std::string sts_endpoint;                 // empty: https://sts.<region>.amazonaws.com
  std::string kms_endpoint;                 // empty: https://kms.<region>.amazonaws.com
  storage::CredentialSettings credentials;  // the instance's own; empty: the AWS SDKs' default chain

  std::string region_or(const std::string& instance_region) const {
    return region.empty() ? instance_region : region;
  }
};

struct Config {
  std::string instance_id;  // generated at first start
  std::string region = "us-east-1";
  std::string account = "123456789012";
  std::string edition = "standard";  // express, web, standard, enterprise
  // The SQL Server version the instance presents itself as, in RDS's form (docs/COMPATIBILITY.md).
  std::string engine_version = "15.00.4153.1.v1";
  std::string time_zone = "UTC";
  std::string listen_host = "127.0.0.1";
  int port = 1433;
  // [option_group]: read at the first start only, to make the instance's option group in msdb (which keeps it
  // from then on: rds/option_groups.h); the start that seeds it removes the section from the file. Absent:
  // the group "bakrest-backup-restore" with SQLSERVER_BACKUP_RESTORE and the default role.
  std::optional<OptionGroupSeed> option_group_seed;
  std::vector<BucketConfig> buckets = {{"aws_example_bucket", "us-east-1", std::nullopt}};
  double max_transfer_mb_per_sec = 0;  // [storage]: caps backup and restore transfer speed; 0: no limit
  // [backup]: threads that compress and verify backups' chunks (0: the cores, up to 8), and the zstd level
  // of compressed backups ('S3 backup compression' on).
  int backup_threads = 0;
  int zstd_level = 3;

  // [limits]: what one client and the whole instance may use (docs/OPERATIONS.md, "Limits").
  int64_t max_database_gb = 1024;         // largest database a restore may produce (Express: 10 GB)
  int max_connections = 256;              // TDS connections at once; more get error 17809
  int64_t max_request_mb = 64;            // one request (a batch, an RPC) as sent by the client
  int64_t max_buffered_request_mb = 512;  // requests of all sessions held at once
  int login_timeout_seconds = 30;         // to finish PRELOGIN and LOGIN7 after connecting

  // [tls]: the TDS endpoint's certificate (docs/OPERATIONS.md, "Encryption"). Both files or neither; with
  // neither, bakrest makes a self-signed certificate in the data directory at first start.
  std::string tls_certificate_file;
  std::string tls_key_file;
  bool force_encryption = false;  // refuse clients that will not encrypt the whole connection

  // [control]: the AWS-compatible control endpoint the AWS CLI talks to (docs/OPERATIONS.md, "The control
  // endpoint"): KMS, IAM and RDS. Plain HTTP on loopback by default.
  // [kms]: the key service encrypted backups use, when it is not the instance's own: another instance's
  // control endpoint (or AWS KMS), with an access key it issued (docs/OPERATIONS.md, "Keys of another
  // instance"). Empty endpoint: the instance's own KMS. Empty region: the instance's.
  std::string kms_endpoint;
  std::string kms_region;
  std::string kms_access_key_id;
  std::string kms_secret_access_key;

  std::optional<AwsConfig> aws;

  bool control_enabled = true;
  std::string control_host = "127.0.0.1";
  int control_port = 14330;
  bool control_tls = false;  // HTTPS with the instance's TLS certificate ([tls]); else plain HTTP

  // max_database_gb in bytes, and at most 10 GB on Express edition (as RDS limits its restores).
  uint64_t max_database_bytes() const;
  // engine_version and edition as a ProductVersion (load_config() has checked that it reads).
  ProductVersion product() const;
};

// Reads the file; throws std::runtime_error naming the file and the problem for invalid content.
Config load_config(const std::filesystem::path& file);
// Writes the file atomically (temp file, fsync, rename).
void save_config(const Config& config, const std::filesystem::path& file);

}  // namespace bakrest::instance
