// The instance's configuration, kept in <data>/instance.toml (documented in docs/OPERATIONS.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace bakrest::instance {

struct BucketConfig {
  std::string name;
  std::string region;
};

struct Config {
  std::string instance_id;  // generated at first start
  std::string region = "us-east-1";
  std::string account = "123456789012";
  std::string edition = "standard";  // express, web, standard, enterprise
  std::string time_zone = "UTC";
  std::string listen_host = "127.0.0.1";
  int port = 1433;
  std::string option_group = "default:sqlserver-se-16-00";
  std::vector<std::string> options = {"SQLSERVER_BACKUP_RESTORE"};
  std::string iam_role_arn;  // IAM_ROLE_ARN of SQLSERVER_BACKUP_RESTORE; empty: no permission checks yet
  std::vector<BucketConfig> buckets = {{"aws_example_bucket", "us-east-1"}};
  double max_transfer_mb_per_sec = 0;  // [storage]: caps backup and restore transfer speed; 0: no limit

  bool option_enabled(const std::string& name) const;
};

// Reads the file; throws std::runtime_error naming the file and the problem for invalid content.
Config load_config(const std::filesystem::path& file);
// Writes the file atomically (temp file, fsync, rename).
void save_config(const Config& config, const std::filesystem::path& file);

}  // namespace bakrest::instance
