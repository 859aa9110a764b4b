// Full backup and restore jobs: the engine's pages through the backup format to the object store and back.
#pragma once

#include <cstdint>
#include <string>

#include "common/ids.h"
#include "common/job_control.h"
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
};

struct RestoreRequest {
  int64_t task_id = 0;
  std::string database;
  std::string arn;
  std::string bucket;
  std::string key;
};

// Writes a full backup of request.database to the object and records it in msdb.backupset. On failure or
// cancellation no object is left (an existing object being overwritten stays as it was).
void run_full_backup(const BackupRequest& request, Environment& env, JobControl& control);

// After a restart: removes the object an interrupted backup had already published, if it is this
// backup's (its header carries request.backup_id). An object that was there before is left alone.
void remove_interrupted_backup(const BackupRequest& request, Environment& env);

// Restores a full backup as request.database with RECOVERY. The database shows RESTORING while the backup
// is read and becomes ONLINE only after every byte was read and verified; on failure it is removed.
void run_full_restore(const RestoreRequest& request, Environment& env, JobControl& control);

// The RDS texts for these conditions, shared with the procedures that check them up front.
std::string database_exists_message(const std::string& name);

}  // namespace bakrest::backup
