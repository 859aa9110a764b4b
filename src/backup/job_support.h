// What the backup and restore jobs share: RDS's bucket checks, the transfer-rate limit, the task_info
// wording and the msdb backup history.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backup/jobs.h"
#include "common/job_control.h"
#include "format/backup_file.h"

namespace bakrest::backup {

inline std::runtime_error task_error(const std::string& text) { return std::runtime_error(text); }

// RDS's checks before any S3 work: the bucket exists and is in the instance's region.
void check_bucket(Environment& env, const std::string& bucket, const storage::CallContext& ctx);

// The storage context of a job: its calls stop when the task is cancelled.
storage::CallContext storage_context(const JobControl& control);

// Runs a job; a storage call that stopped because the task was cancelled ends the job as cancelled.
template <typename Job>
void run_cancellable(const JobControl& control, Job&& job) {
  try {
    job();
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kCancelled && control.cancel_requested())
      throw JobCancelled();
    throw;
  }
}

// Keeps transfer speed under a limit (instance.toml [storage] max_transfer_mb_per_sec) by sleeping.
// account() may be called from several threads at once (the stripes of one backup, each with the total of
// all): it only reads the limiter.
class RateLimiter {
 public:
  explicit RateLimiter(double bytes_per_second);
  // Sleeps until total_bytes since construction are within the limit; throws JobCancelled if the task is
  // cancelled meanwhile.
  void account(uint64_t total_bytes, const JobControl& control) const;

 private:
  double rate_;
  int64_t start_;
};

// "in 1.234 seconds (56.789 MB/sec)", as SQL Server ends its BACKUP/RESTORE messages.
std::string throughput(uint64_t bytes, int64_t micros);

format::RecoveryModel recovery_model_code(const std::string& model);

// One row of msdb.dbo.backupset plus a backupmediafamily row per object.
struct BackupRecord {
  char type = 'D';  // D full, I differential, L log
  std::string database_name;
  Guid database_guid{};
  Guid backup_id{};
  Guid fork_guid{};
  std::string recovery_model;
  int64_t start_us = 0;
  int64_t finish_us = 0;
  uint64_t backup_size = 0;
  uint64_t compressed_size = 0;
  uint64_t first_lsn = 0;
  uint64_t last_lsn = 0;
  uint64_t checkpoint_lsn = 0;
  std::optional<uint64_t> database_backup_lsn;
  std::optional<uint64_t> differential_base_lsn;
  std::optional<Guid> differential_base_guid;
  std::string arn;                 // as the task was given it (a multi-file backup's with its '*')
  std::vector<std::string> media;  // the ARN of each object, stripe 1 first: a backupmediafamily row each
  std::string endpoint;            // the bucket's store (ObjectStore::endpoint)
  uint32_t block_size = 0;         // @block_size the objects were written in (physical_block_size); 0: none
  int64_t task_id = 0;
  bool copy_only = false;  // SQL Server's is_copy_only: outside the differential base and the log chain
};
void record_backup(Environment& env, const BackupRecord& record);
// The checkpoint_lsn of the backup whose backup_set_uuid is backup_id, if msdb records it.
std::optional<uint64_t> recorded_checkpoint_lsn(Environment& env, const Guid& backup_id);

// Reads exactly out.size() body bytes; returns false at a clean end of body, throws FormatError if the body
// ends inside what was asked for.
bool read_exact(format::BackupReader& reader, std::span<uint8_t> out, const char* what);

}  // namespace bakrest::backup
