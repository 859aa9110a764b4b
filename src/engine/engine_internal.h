// What engine.cc, checkpointer.cc and restore_target.cc share about a database: its per-database state, the
// lease that keeps it in use, and the steps of a restore. Internal to engine/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "common/sqlite.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/engine.h"

namespace bakrest::engine {

struct Engine::Shared {
  // Backups hold it shared; the checkpointer needs it exclusively, so no checkpoint runs under a backup.
  std::shared_mutex checkpoint_guard;
  int users = 0;  // live leases: connections, attachments, snapshots, restores; guarded by Engine::mutex_
  // The transaction log of an ONLINE user database, opened (and recovered) before SQLite first opens it.
  std::shared_ptr<DatabaseLog> log;
  std::unique_ptr<CaptureRegistration> capture;
  // The checkpointer's hold, apart from users: DROP DATABASE waits for it instead of failing with 3702.
  // Both guarded by Engine::mutex_.
  int checkpointing = 0;
  bool dropping = false;  // DROP DATABASE is waiting for the checkpointer: it starts no new checkpoint
  // What the last complete checkpoint left (checkpointer thread only): skip the database until it changes.
  uint64_t checkpointed_lsn = 0;
  uintmax_t wal_bytes_after_checkpoint = UINTMAX_MAX;
};

class Engine::Lease : public DatabaseLease {
 public:
  // Call with engine.mutex_ held.
  Lease(Engine& engine, std::shared_ptr<Shared> shared) : engine_(engine), shared_(std::move(shared)) {
    ++shared_->users;
  }
  ~Lease() override {
    std::lock_guard lock(engine_.mutex_);
    --shared_->users;
  }
  Shared& shared() { return *shared_; }

 private:
  Engine& engine_;
  std::shared_ptr<Shared> shared_;
};

// Removes a database's file, its -wal, -shm and -journal, and its transaction log.
void remove_database_files(const std::filesystem::path& file);

// A RESTORING database becomes ONLINE on a new recovery fork, its log beginning at next_lsn; no log may be
// there yet. Both recovering restores and rds_finish_restore end here.
void mark_recovered(sqlite::Database& db, const DatabaseInfo& info, uint64_t next_lsn);

// The restore target of begin_restore (fresh: a new file, removed unless finished; page_size as the backup
// says) or continue_restore (the RESTORING database's file; page_size 0: read from its header).
// restore_target.cc.
std::unique_ptr<RestoreTarget> make_restore_target(Engine& engine, DatabaseInfo info,
                                                   std::unique_ptr<DatabaseLease> lease, uint32_t page_size,
                                                   bool fresh);

// Opens a database file through the capture VFS with the settings every connection needs (WAL,
// synchronous=FULL, no automatic checkpoints); create makes a new, private file.
sqlite::Database open_database_file(const std::filesystem::path& file, bool create);

}  // namespace bakrest::engine
