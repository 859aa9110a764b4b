// A database's transaction log as the engine sees it (DESIGN.md §3, docs/LOG.md): the segment store, the
// capture of SQLite's WAL commits (fed by the capture VFS), recovery at open, the changed-page tracking
// and what may be discarded. One object per database file, shared by every connection to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/changed_pages.h"
#include "engine/log_store.h"
#include "engine/wal_format.h"
#include "engine/wal_scan.h"

namespace bakrest::engine {

class DatabaseLog {
 public:
  // Opens the log in log_dir for the database file db_file, before SQLite opens that file: cuts off a
  // torn log tail, appends the transactions committed in the WAL that the log does not hold yet, marks
  // their pages changed, and makes it all durable. A new log's first record gets initial_next_lsn.
  DatabaseLog(std::filesystem::path db_file, std::filesystem::path log_dir, uint64_t initial_next_lsn,
              LogStoreOptions options = {});
  ~DatabaseLog();
  DatabaseLog(const DatabaseLog&) = delete;
  DatabaseLog& operator=(const DatabaseLog&) = delete;

  const std::filesystem::path& db_file() const { return db_file_; }

  // --- capture (called by the capture VFS on a WAL file of this database) -------------------------------
  // The WAL was synced by the connection holding SQLite's write lock: append the transactions it just
  // committed. read reads that connection's WAL; written_end bounds what it wrote.
  //
  // Never throws: once the WAL sync succeeded the commit is durable (after a crash, recovery would take it
  // from the WAL), so reporting it failed would lie to the client. If the append fails, the log is behind
  // the WAL: capture_failure() says why, and nothing may start the WAL over or add to it until the log
  // has caught up (before_wal_write()).
  void after_wal_sync(const wal::ReadAt& read, uint64_t written_end);
  // SQLite is about to write to the WAL (the caller holds its write lock). While the log is behind, first
  // appends what it lacks; throws if that still fails, so the write fails and no transaction is
  // acknowledged that the log could not hold.
  void before_wal_write(const wal::ReadAt& read);
  // SQLite is about to start the WAL over, overwriting frames that may be the only durable copy of
  // transactions the log holds only in the OS cache: make the log durable first. A safety net too: a
  // committed transaction of the old frames that is not in the log yet is appended first (read reads the
  // WAL of the connection about to restart it, which holds SQLite's write lock).
  void before_wal_restart(const wal::ReadAt& read);

  // Why the log is behind the WAL (its last append failed), or nullopt. While it is, the database is
  // SUSPECT: the engine refuses new connections and every write fails until an append succeeds again.
  std::optional<std::string> capture_failure() const;
  // Reads the database's WAL from disk and appends what the log lacks, for a log that is behind and sees
  // no writes (the checkpointer calls it). Returns whether the log has caught up. Safe only because no
  // connection writes to the WAL while the log is behind (before_wal_write refuses them).
  bool retry_capture();

  // --- positions --------------------------------------------------------------------------------------
  uint64_t next_lsn() const;
  uint64_t last_lsn() const { return next_lsn() - 1; }

  // The last captured commit: its LSN and where it ends in the WAL (no WAL position if every committed
  // page is in the database file). A backup snapshot reads the image at exactly this LSN.
  struct CommitPoint {
    uint64_t lsn = 0;
    std::optional<WalCursor> wal;
    uint32_t database_pages = 0;
    uint32_t page_size = 0;
  };
  CommitPoint commit_point() const;

  // --- durability and retention -----------------------------------------------------------------------
  // Makes every captured record and the changed-page state durable. The checkpointer calls it first.
  void flush();
  // Every transaction up to lsn is in the database file (a checkpoint backfilled them).
  void note_checkpointed(uint64_t lsn);
  // The oldest LSN a log backup still needs (FULL recovery with a log chain), or nullopt (the log is
  // then kept only until checkpoints make it unnecessary). Segments below what is needed are discarded.
  void set_log_backup_floor(std::optional<uint64_t> lsn);
  uint64_t first_lsn() const;
  uint64_t bytes_on_disk() const;

  // --- reading ----------------------------------------------------------------------------------------
  // Reads records from_lsn <= lsn < to_lsn without holding up commits. Throws if the log no longer holds
  // from_lsn.
  void read(uint64_t from_lsn, uint64_t to_lsn, const LogStore::RecordVisitor& visit);
  std::optional<uint64_t> lsn_at_or_before(int64_t time_us) const;
  std::optional<int64_t> commit_time(uint64_t lsn) const;

  // --- changed pages ----------------------------------------------------------------------------------
  std::optional<DifferentialBase> differential_base() const;
  // A full backup takes its image at commit_point(): starts collecting pages changed after it. Returns the
  // commit point and a handle, atomically with respect to commits.
  std::pair<CommitPoint, uint64_t> begin_full_backup();
  void finish_full_backup(uint64_t handle, const std::optional<Guid>& succeeded_backup_id);
  // See ChangedPages::adopt_base.
  void adopt_full_backup(const DifferentialBase& base);
  // The commit point, the differential base and the pages changed between them, atomically; no base
  // (nullopt) if no full backup succeeded since the log began.
  struct DifferentialPoint {
    CommitPoint point;
    std::optional<DifferentialBase> base;
    PageBitmap changed;
  };
  DifferentialPoint begin_differential_backup() const;

 private:
  void recover();
  CommitPoint commit_point_locked() const;
  void append_transaction(const WalTransaction& txn, const wal::ReadAt& read, int64_t commit_time_us);
  // Appends the committed transactions of the WAL after cursor_, reading no further than limit. Returns
  // how many.
  uint64_t capture_locked(const wal::ReadAt& read, uint64_t limit);
  void flush_locked();
  void discard_locked();
  // Appends from cursor_ to the WAL's end; records or clears failure_. Returns whether it is clear.
  bool catch_up_locked(const wal::ReadAt& read, uint64_t limit);

  const std::filesystem::path db_file_;
  mutable std::mutex mutex_;
  std::unique_ptr<LogStore> store_;
  ChangedPages changed_;
  std::optional<WalCursor> cursor_;  // after the last captured commit
  uint32_t database_pages_ = 0;      // after the last captured commit
  uint32_t page_size_ = 0;
  int64_t last_commit_time_ = 0;
  uint64_t checkpointed_lsn_ = 0;
  std::optional<uint64_t> backup_floor_;
  std::optional<std::string> failure_;  // the last append's error, while the log is behind the WAL
  std::atomic<bool> behind_{false};     // failure_.has_value(), readable without the mutex
  int readers_ = 0;                     // reads in progress: segments stay
};

}  // namespace bakrest::engine
