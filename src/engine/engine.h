// Databases on SQLite: the catalog in msdb, connections for sessions, consistent page snapshots for
// backups, restore targets, and the checkpointer. Every database file is in WAL mode with
// synchronous=FULL, and only the engine's checkpointer checkpoints (DESIGN.md §3): that is what lets a
// backup read a consistent image while writers keep running, and what the transaction log will build on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/sqlite.h"
#include "engine/changed_pages.h"
#include "engine/log_store.h"
#include "instance/msdb.h"

namespace bakrest::engine {

enum class DatabaseState { kOnline, kRestoring };
const char* state_name(DatabaseState state);

struct DatabaseInfo {
  int64_t id = 0;
  std::string name;
  Guid guid{};
  Guid fork_guid{};            // the recovery fork; a restore that recovers starts a new one
  std::filesystem::path file;  // absolute; empty for msdb
  DatabaseState state = DatabaseState::kOnline;
  std::string recovery_model;  // FULL, SIMPLE or BULK_LOGGED
  int64_t create_date = 0;     // unix micros
  bool is_system = false;
  // FULL recovery: the first LSN the next log backup must hold; nullopt until a full backup starts the
  // log chain (and again after a switch to SIMPLE).
  std::optional<uint64_t> log_chain_lsn;
  // RESTORING: the redo point — the next LSN a log backup must supply — and the full backup that was
  // restored (a differential must be based on it). Once ONLINE, restore_lsn is where the log began.
  std::optional<uint64_t> restore_lsn;
  Guid restore_base_backup_id{};
  std::string restored_by;       // the login that last restored it with NORECOVERY
  bool restore_damaged = false;  // a restore failed while writing pages: only a new full restore helps
};

// A database image at exactly one LSN, read page by page while writers go on. Checkpoints of the database
// wait while it lives.
class PageSnapshot {
 public:
  virtual ~PageSnapshot() = default;
  virtual uint32_t page_size() const = 0;
  virtual uint64_t page_count() const = 0;
  // The image holds exactly the transactions with LSN <= lsn().
  virtual uint64_t lsn() const = 0;
  // pgno counts from 1. out.size() must equal page_size(). SQLite's lock-byte page (common/sqlite_file.h),
  // which a database past 1 GiB has but SQLite never writes, reads as zeros.
  virtual void read_page(uint64_t pgno, std::span<uint8_t> out) = 0;
  // Pages first .. first + out.size() / page_size() - 1 into out, as read_page would give each, with one
  // large read of the database file rather than one per page. out.size() must be a whole number of pages
  // and the run must lie within 1..page_count(). Safe to call from several threads at once.
  virtual void read_pages(uint64_t first, std::span<uint8_t> out) = 0;
  // A full backup of this image succeeded: it becomes the differential base and, in FULL recovery, starts
  // the log chain if none is running. Without this call (failure, cancellation) nothing changes.
  virtual void full_backup_succeeded(const Guid& backup_id) = 0;
};

// A differential backup's input: the image and the pages changed since the base.
struct DifferentialSnapshot {
  std::unique_ptr<PageSnapshot> image;
  PageBitmap changed;  // pages changed after base.lsn, up to image->lsn()
  DifferentialBase base;
};

// What a log backup copies: records first_lsn <= lsn < last_lsn, read while writers go on. Keeps the
// database in use while it lives.
class LogBackupSource {
 public:
  virtual ~LogBackupSource() = default;
  virtual uint64_t first_lsn() const = 0;
  virtual uint64_t last_lsn() const = 0;  // the next LSN after the backup
  virtual uint32_t page_size() const = 0;
  virtual void read(const LogStore::RecordVisitor& visit) = 0;
  // The backup is safe in the store: the chain moves on to last_lsn() and the log may drop what it copied.
  virtual void succeeded() = 0;
};

// A database being restored. For a full restore the name is taken and the database shows RESTORING until
// finish(); destroying an unfinished full-restore target removes the file and the catalog entry. For a
// differential or log restore onto a RESTORING database, destroying an unfinished target after pages were
// written marks the database damaged (only a new full restore can follow).
class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  virtual uint32_t page_size() const = 0;
  virtual void write_page(uint64_t pgno, std::span<const uint8_t> page) = 0;
  // Writes pages first, first + 1, ... (pages.size() a whole number of pages) in one write, at once. Unlike
  // the other calls, several threads may call it at the same time for runs that do not overlap (the stripes
  // of a multi-file restore); nothing else may be called meanwhile.
  virtual void write_pages(uint64_t first, std::span<const uint8_t> pages) = 0;
  // Sets the database size in pages (a differential or log record may shrink it).
  virtual void truncate(uint64_t pages) = 0;
  // Makes the written image durable. The database now holds every transaction below next_lsn.
  // recover: it becomes ONLINE on a new recovery fork, its log starting at next_lsn. Otherwise it stays
  // RESTORING with redo point next_lsn; base_backup_id (a full restore's own backup id) is what a
  // differential must be based on, and restored_by is recorded for rds_finish_restore/rds_drop_database.
  virtual void finish(bool recover, uint64_t next_lsn, const Guid& base_backup_id,
                      const std::string& restored_by) = 0;
};

// Keeps a database "in use" while it lives: DROP DATABASE refuses it (3702).
class DatabaseLease {
 public:
  virtual ~DatabaseLease() = default;
};

// A session's connection to one database. Keeps the database "in use" while it lives.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual sqlite::Database& db() = 0;
  virtual const DatabaseInfo& info() const = 0;
  // Runs fn with ATTACH/DETACH allowed (users may not attach files themselves).
  virtual void with_attach_allowed(const std::function<void()>& fn) = 0;
  // Why the database is SUSPECT (its transaction log could not be written, so writes fail), or nullopt.
  virtual std::optional<std::string> suspect_reason() const = 0;
};

class Engine {
 public:
  // Reads the catalog, creates the system databases on first start and starts the checkpointer.
  Engine(std::filesystem::path databases_dir, instance::Msdb& msdb);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::optional<DatabaseInfo> find(const std::string& name);
  std::vector<DatabaseInfo> list();

  // Throws SqlError 1801 if the name is taken (ignoring case and accents), 15151-style errors for bad names.
  DatabaseInfo create_database(const std::string& name);
  // Throws SqlError 3701 (no such database), 3702 (in use), or for system databases.
  void drop_database(const std::string& name);

  // Opens a connection for a session. Throws SqlError 911 if there is no such database, 927 if it is
  // being restored, 926 if it is SUSPECT (its transaction log could not be written: DatabaseLog::
  // capture_failure()). "msdb" opens the catalog read-only.
  std::unique_ptr<Connection> connect(const std::string& name);

  // Marks an ONLINE database in use, for a session that attached it by a three-part name. Throws SqlError
  // 911 or 927 like connect().
  std::unique_ptr<DatabaseLease> lease(const std::string& name);

  // A consistent image of an ONLINE user database at one LSN, for a full backup.
  std::unique_ptr<PageSnapshot> snapshot(const std::string& name);
  // The image and changed pages for a differential backup. SqlError 3035 if no full backup is its base.
  DifferentialSnapshot differential_snapshot(const std::string& name);

  // A log backup: checks SQL Server's rules (SqlError 4208 under SIMPLE, 4214 when no full backup started
  // the log chain) and covers from where the last log backup ended to the newest commit.
  std::unique_ptr<LogBackupSource> begin_log_backup(const std::string& name);

  // ALTER DATABASE name SET RECOVERY FULL | SIMPLE | BULK_LOGGED (model upper case).
  void set_recovery_model(const std::string& name, const std::string& model);

  // Creates an empty database in state RESTORING (SqlError 1801 if the name is taken) for a full restore.
  // It takes the backup's database GUID and fork; recovering later starts a new fork.
  std::unique_ptr<RestoreTarget> begin_restore(const std::string& name, const Guid& guid,
                                               const Guid& fork_guid, uint32_t page_size);
  // Opens a RESTORING database for a differential or log restore.
  std::unique_ptr<RestoreTarget> continue_restore(const std::string& name);
  // rds_finish_restore: a RESTORING database becomes ONLINE on a new fork.
  void finish_restore(const std::string& name);
  // rds_drop_database: removes a RESTORING database and its backup history.
  void drop_restoring(const std::string& name);

  // Removes a database left RESTORING by an interrupted full restore (at restart).
  void discard_restoring(const std::string& name);

  // The transaction-log position of an ONLINE user database: the LSN of its newest commit.
  uint64_t last_lsn(const std::string& name);
  // The full backup the next differential of an ONLINE user database would be based on.
  std::optional<DifferentialBase> differential_base(const std::string& name);
  // At restart, for a full backup that was recorded but whose success did not reach the log before the
  // instance stopped: it becomes the differential base (unless a newer one is) and, in FULL recovery,
  // starts the log chain at base.lsn + 1 if none runs, as PageSnapshot::full_backup_succeeded would have.
  // Nothing happens if the database is not ONLINE or is another one now (database_guid differs).
  void adopt_full_backup(const std::string& name, const Guid& database_guid, const DifferentialBase& base);
  // The same for a log backup whose success did not reach the catalog: the log chain moves on to
  // next_lsn (if it is not there already), as LogBackupSource::succeeded would have.
  void adopt_log_backup(const std::string& name, const Guid& database_guid, uint64_t next_lsn);

  // Checkpoints every database whose WAL has reached min_wal_bytes and that has had commits since its last
  // complete checkpoint, skipping those a backup is reading; a WAL whose every frame reached the database
  // file is truncated if no reader still uses it. A database whose log is behind its WAL (SUSPECT) gets
  // its log caught up first, and no checkpoint until that succeeds. Returns how many it checkpointed.
  size_t checkpoint_all(uintmax_t min_wal_bytes = 4u << 20);

  std::filesystem::path msdb_file() const { return msdb_.file(); }

 private:
  struct Shared;  // per-database state shared by its connections, snapshots and the checkpointer
  class Lease;
  // The shared state of a database; for an ONLINE user database its log is opened (and recovered) here.
  // Call with mutex_ held.
  std::shared_ptr<Shared> shared_for(const DatabaseInfo& info);
  std::pair<DatabaseInfo, std::shared_ptr<Shared>> online_user_database(const std::string& name);
  void apply_log_floor(const DatabaseInfo& info, Shared& shared);
  // The log chain starts at lsn after a full backup (FULL recovery, no chain yet) or moves on to lsn after
  // a log backup; the log may then drop what it no longer needs.
  void start_log_chain(int64_t id, uint64_t lsn);
  void advance_log_chain(int64_t id, uint64_t lsn);
  void refresh_log_floor_locked(int64_t id);
  // Finds an ONLINE database (SqlError 911/927 otherwise) and leases it; call with mutex_ held.
  std::pair<DatabaseInfo, std::unique_ptr<Lease>> lease_online_locked(const std::string& name);
  void create_system_databases();
  void checkpointer_loop();
  bool checkpoint_one(const DatabaseInfo& info, Shared& shared, uintmax_t min_wal_bytes);
  // For DROP DATABASE, with mutex_ held: SqlError 3702 if the database is in use; otherwise waits until
  // the checkpointer has let go of it.
  void wait_for_checkpointer(std::unique_lock<std::mutex>& lock, int64_t id, const std::string& name);
  friend class ConnectionImpl;
  friend class RestoreTargetImpl;
  friend class SnapshotImpl;
  friend class LogBackupSourceImpl;

  std::filesystem::path dir_;
  instance::Msdb& msdb_;
  std::mutex mutex_;
  std::condition_variable released_;  // the checkpointer let go of a database
  std::map<int64_t, std::shared_ptr<Shared>> shared_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread checkpointer_;
};

// The authorizer state of a session's connection: sessions may not change the WAL settings, checkpoint,
// attach files themselves (bakrest attaches for them, with attach_allowed set), or read msdb's logins.
struct SessionAuthorizer {
  std::atomic<bool> attach_allowed{false};
  bool main_is_msdb = false;
};

// Applies the settings every database connection needs (WAL, synchronous=FULL, no automatic or
// close-time checkpoints, busy timeout), and for session connections (authorizer != nullptr) the
// authorizer.
void configure_connection(sqlite::Database& db, SessionAuthorizer* authorizer);

// Where a database file's transaction log lives: "<name>.log/" next to "<name>.db".
std::filesystem::path log_dir_for(const std::filesystem::path& database_file);

}  // namespace bakrest::engine
