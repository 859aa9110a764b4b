// Backup and restore jobs: the engine's pages and log through the backup format to the object store and
// back, and the restore chains (full -> differential -> log ... -> STOPAT) of docs/PROCEDURES.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/job_control.h"
#include "crypto/key_service.h"
#include "engine/engine.h"
#include "instance/config.h"
#include "instance/msdb.h"
#include "storage/object_store.h"

namespace bakrest::backup {

struct Environment {
  engine::Engine& engine;
  storage::ObjectStore& store;
  instance::Msdb& msdb;
  const instance::Config& config;
  double max_transfer_bytes_per_second = 0;  // 0: unlimited
  // Threads that compress and check a backup's chunks and verify and decompress a restore's
  // (format::WriterOptions::threads, ReaderOptions::threads): instance.toml [backup] threads, by default
  // the cores up to 8. A multi-file backup shares them among its stripes.
  unsigned zstd_threads = default_zstd_threads();
  int zstd_level = 3;  // instance.toml [backup] zstd_level
  // The key service encrypted backups use (a task's iam::AuthorizedKms); null: none, and a task given a key
  // fails saying so.
  crypto::KeyService* keys = nullptr;

  static unsigned default_zstd_threads() { return std::clamp(std::thread::hardware_concurrency(), 1u, 8u); }
  // The same environment reaching the objects through other_store and keys through other_keys (a task's
  // iam::AuthorizedStore and iam::AuthorizedKms).
  Environment with_access(storage::ObjectStore& other_store, crypto::KeyService* other_keys) const {
    return {engine,       other_store, msdb,      config, max_transfer_bytes_per_second,
            zstd_threads, zstd_level,  other_keys};
  }
};

enum class BackupKind { kFull, kDifferential, kLog };

// @block_size, @max_transfer_size and @buffer_count of a backup or restore, checked against RDS's valid
// values by the procedures (docs/PROCEDURES.md, "Tuning a backup or restore").
struct Tuning {
  // Backups hand the backup object its bytes in whole blocks of this size (msdb records it). Restores
  // check it and read in max_transfer_size, always a whole number of blocks.
  uint32_t block_size = 65536;
  // Backups: the chunk size (body bytes compressed and checked as one) and the size of each read of the
  // database file. Restores: the size of each read of the backup object and of each write of the database.
  uint32_t max_transfer_size = 1 << 20;
  // Chunks in flight at once over all stripes (each about 2 * max_transfer_size of memory); 0: two per
  // compression thread.
  unsigned buffer_count = 0;
};

struct BackupRequest {
  int64_t task_id = 0;
  Guid backup_id{};  // written into the header; recorded with the task first, for cleanup after a crash
  std::string database;
  std::string arn;
  std::string bucket;
  std::string key;
  bool overwrite = false;
  bool compress = false;
  BackupKind kind = BackupKind::kFull;
  // A multi-file backup's objects, stripe 1 first (@number_of_files > 1: the key's '*' replaced by 1-of-N
  // ... N-of-N). Empty: the one object `key`.
  std::vector<std::string> stripe_keys;
  Tuning tuning;
  std::string kms_key;  // @kms_master_key_arn: encrypt under this KMS key; empty: not encrypted

  // stripe_keys, or the one key.
  std::vector<std::string> keys() const { return stripe_keys.empty() ? std::vector{key} : stripe_keys; }
};

enum class RestoreKind { kFull, kDifferential, kLog };

struct RestoreRequest {
  int64_t task_id = 0;
  std::string database;
  std::string arn;
  std::string bucket;
  std::string key;
  RestoreKind kind = RestoreKind::kFull;
  bool recover = true;               // false: WITH NORECOVERY, the database stays RESTORING
  std::optional<int64_t> stopat_us;  // log restores: stop after the last commit at or before this time
  std::string login;                 // who asked; recorded for rds_finish_restore/rds_drop_database
  Tuning tuning;
  std::string kms_key;  // @kms_master_key_arn: the key an encrypted backup was made with; empty: none given
};

// Writes a backup of request.database to the object and records it in msdb.backupset and
// backupmediafamily: a full image, only the pages changed since the last full backup (differential), or
// the log since the last log backup (log). On failure or cancellation no object is left (an existing
// object being overwritten stays as it was). Chain errors (no full backup, SIMPLE recovery) are thrown as
// SqlError with SQL Server's number and text.
void run_backup(const BackupRequest& request, Environment& env, JobControl& control);
void run_full_backup(const BackupRequest& request, Environment& env, JobControl& control);

// After a restart, for a backup task that had not recorded itself in msdb.backupset: settles what it left
// under its key. A partial upload never shows there: the local store removed it when it opened, and an S3
// multipart upload to the key begun before now is aborted here (a failure to abort is logged, not thrown). An
// object that is not this backup's (its header lacks request.backup_id) is left alone: kNothing. This
// backup's object, published completely, is verified to its last byte and kept: its history is recorded and
// it takes the place in the chain it would have had (a full backup becomes the differential base, a log
// backup moves the log chain on, as settle_recorded_backup does), and the result is kKept. One that fails
// verification is removed: kNothing.
enum class InterruptedBackup { kNothing, kKept };
InterruptedBackup settle_interrupted_backup(const BackupRequest& request, Environment& env);

// After a restart, for a backup task: whether msdb.backupset records its backup (written last: the backup
// is complete). A recorded backup whose success had not reached the engine before the instance stopped
// takes its place in the chain now: a full backup becomes the differential base and starts the log chain
// (Engine::adopt_full_backup), a log backup moves the chain on (Engine::adopt_log_backup), so the next
// differential and log backups follow it as its history says. Copy-only backups change nothing.
bool settle_recorded_backup(int64_t task_id, const std::string& database, Environment& env);

// Restores request.kind from the object. A full restore creates the database (RESTORING while it is read,
// removed on failure); a differential or log restore applies onto a RESTORING database after checking the
// chain (SQL Server's messages 3117, 3136, 4305, 4326, 4330, 4338; see docs/PROCEDURES.md) and after
// reading and verifying the whole backup once, so a damaged backup changes nothing. With recover the
// database becomes ONLINE on a new recovery fork; a STOPAT later than the log's end leaves it RESTORING
// (SQL Server's 4322) so that more log can follow.
void run_restore(const RestoreRequest& request, Environment& env, JobControl& control);
void run_full_restore(const RestoreRequest& request, Environment& env, JobControl& control);

// The RDS texts for these conditions, shared with the procedures that check them up front.
std::string database_exists_message(const std::string& name);

}  // namespace bakrest::backup
