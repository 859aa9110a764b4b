#include "engine/engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/durable_file.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/private_files.h"
#include "common/sqlite_file.h"
#include "common/text.h"
#include "common/unique_fd.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/database_name.h"
#include "engine/engine_internal.h"
#include "engine/integrity.h"
#include "engine/wal_index.h"
#include "engine/wal_index_header.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* kInfoColumns =
    "database_id, name, guid, file, state, recovery_model, create_date, is_system, fork_guid, log_chain_lsn, "
    "restore_lsn, restore_base_backup_id, restored_by, restore_damaged FROM databases";

struct SystemDatabase {
  int64_t id;
  const char* name;
  const char* file;
};
constexpr SystemDatabase kSystemDatabases[] = {
    {1, "master", "master.db"}, {2, "tempdb", "tempdb.db"}, {3, "model", "model.db"}, {4, "msdb", nullptr}};

// SQL Server's 926 for a database recovery marked SUSPECT; here the cause is always the transaction log.
SqlError suspect(const std::string& name, const std::string& reason) {
  return SqlError(
      926, 14,
      "Database '" + name +
          "' cannot be opened. It has been marked SUSPECT: its transaction log could not be written (" +
          reason +
          "). Committed transactions are safe in its WAL; bakrest retries the log every few "
          "seconds and the database opens again once it can be written.");
}

SqlError no_such_database(const std::string& name) {
  return SqlError(911, 16,
                  "Database '" + name + "' does not exist. Make sure that the name is entered correctly.");
}

DatabaseState parse_state(const std::string& text) {
  return text == "RESTORING" ? DatabaseState::kRestoring : DatabaseState::kOnline;
}

DatabaseInfo read_info(sqlite::Statement& s, const fs::path& dir) {
  DatabaseInfo info;
  info.id = s.get_int(0);
  info.name = s.get_text(1);
  info.guid = guid_from_string(s.get_text(2)).value_or(Guid{});
  if (!s.is_null(3)) info.file = dir / s.get_text(3);
  info.state = parse_state(s.get_text(4));
  info.recovery_model = s.get_text(5);
  info.create_date = parse_datetime(s.get_text(6)).value_or(0);
  info.is_system = s.get_int(7) != 0;
  info.fork_guid = guid_from_string(s.get_text(8)).value_or(Guid{});
  if (!s.is_null(9)) info.log_chain_lsn = static_cast<uint64_t>(s.get_int(9));
  if (!s.is_null(10)) info.restore_lsn = static_cast<uint64_t>(s.get_int(10));
  if (!s.is_null(11)) info.restore_base_backup_id = guid_from_string(s.get_text(11)).value_or(Guid{});
  if (!s.is_null(12)) info.restored_by = s.get_text(12);
  info.restore_damaged = s.get_int(13) != 0;
  return info;
}

int authorize(void* user_data, int action, const char* arg1, const char* arg2, const char* database,
              const char*) {
  auto* state = static_cast<SessionAuthorizer*>(user_data);
  if (action == SQLITE_ATTACH && arg1 && arg1[0] == '\0') return SQLITE_OK;  // VACUUM's temporary database
  if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
    return state->attach_allowed ? SQLITE_OK : SQLITE_DENY;
  if (action == SQLITE_READ && arg1 && database && std::string_view(arg1) == "logins") {
    // Password hashes stay out of sessions' reach.
    std::string_view db(database);
    if (db == "msdb" || (db == "main" && state->main_is_msdb)) return SQLITE_DENY;
  }
  if (action == SQLITE_PRAGMA && arg1) {
    std::string pragma = ascii_lower(arg1);
    if (pragma == "wal_checkpoint") return SQLITE_DENY;
    // Reading these is fine; changing them would break the WAL discipline backups depend on.
    bool guarded = pragma == "journal_mode" || pragma == "wal_autocheckpoint" || pragma == "synchronous" ||
                   pragma == "locking_mode" || pragma == "journal_size_limit" || pragma == "writable_schema";
    if (guarded && arg2) return SQLITE_DENY;
  }
  return SQLITE_OK;
}

}  // namespace

void remove_database_files(const fs::path& file) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::path p = file;
    p += suffix;
    fs::remove(p, ignored);
  }
  fs::remove_all(log_dir_for(file), ignored);
}

void mark_recovered(sqlite::Database& db, const DatabaseInfo& info, uint64_t next_lsn) {
  std::error_code ignored;
  fs::remove_all(log_dir_for(info.file), ignored);
  db.prepare(
        "UPDATE databases SET state = 'ONLINE', fork_guid = ?, restore_lsn = ?, restored_by = NULL, "
        "restore_damaged = 0, log_chain_lsn = NULL WHERE database_id = ? AND state = 'RESTORING'")
      .bind(1, guid_to_string(random_guid()))
      .bind(2, static_cast<int64_t>(next_lsn))
      .bind(3, info.id)
      .run();
}

sqlite::Database open_database_file(const fs::path& file, bool create) {
  // SQLite would create the file 0644 and give its -wal and -shm files the same mode.
  if (create) create_private_file(file);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  sqlite::Database db(file, flags, capture_vfs_name());
  configure_connection(db, nullptr);
  return db;
}

const char* state_name(DatabaseState state) {
  return state == DatabaseState::kRestoring ? "RESTORING" : "ONLINE";
}

void configure_connection(sqlite::Database& db, SessionAuthorizer* authorizer) {
  sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_wal_autocheckpoint(db.handle(), 0);
  sqlite3_busy_timeout(db.handle(), 10000);
  db.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864;");
  if (authorizer) sqlite3_set_authorizer(db.handle(), authorize, authorizer);
}

// --- connections -----------------------------------------------------------------------------------------

class ConnectionImpl : public Connection {
 public:
  ConnectionImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease,
                 std::shared_ptr<DatabaseLog> log)
      : engine_(engine),
        info_(std::move(info)),
        lease_(std::move(lease)),
        log_(std::move(log)),
        db_(open()) {}

  std::optional<std::string> suspect_reason() const override {
    return log_ ? log_->capture_failure() : std::nullopt;
  }

  sqlite::Database& db() override { return db_; }
  const DatabaseInfo& info() const override { return info_; }
  void with_attach_allowed(const std::function<void()>& fn) override {
    authorizer_.attach_allowed = true;
    try {
      fn();
    } catch (...) {
      authorizer_.attach_allowed = false;
      throw;
    }
    authorizer_.attach_allowed = false;
  }

 private:
  sqlite::Database open() {
    bool is_msdb = info_.file.empty();
    fs::path file = is_msdb ? engine_.msdb_file() : info_.file;
    int flags = (is_msdb ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    // Every session connection uses the capture VFS, also msdb's: databases it attaches inherit it.
    sqlite::Database db(file, flags, capture_vfs_name());
    authorizer_.main_is_msdb = is_msdb;
    if (is_msdb) {
      sqlite3_busy_timeout(db.handle(), 10000);
      sqlite3_set_authorizer(db.handle(), authorize, &authorizer_);
    } else {
      configure_connection(db, &authorizer_);
    }
    return db;
  }

  Engine& engine_;
  DatabaseInfo info_;
  std::unique_ptr<DatabaseLease> lease_;
  std::shared_ptr<DatabaseLog> log_;  // null for system databases
  SessionAuthorizer authorizer_;
  sqlite::Database db_;
};

// --- snapshots ---------------------------------------------------------------------------------------------

class SnapshotImpl : public PageSnapshot {
 public:
  // Reads the image at `point`: each page from its newest WAL frame at or before the point, else from the
  // database file, which no checkpoint changes while the guard is held.
  SnapshotImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease,
               std::shared_lock<std::shared_mutex> guard, std::shared_ptr<DatabaseLog> log,
               const DatabaseLog::CommitPoint& point, std::optional<uint64_t> generation)
      : engine_(engine),
        info_(std::move(info)),
        lease_(std::move(lease)),
        guard_(std::move(guard)),
        log_(std::move(log)),
        lsn_(point.lsn),
        generation_(generation) {
    db_fd_ = UniqueFd(::open(info_.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (db_fd_.get() < 0) throw_errno("open " + info_.file.string());
    fs::path wal = info_.file;
    wal += "-wal";
    wal_fd_ = UniqueFd(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
    page_size_ = point.page_size;
    page_count_ = point.database_pages;
    if (point.wal) {
      WalIndexHeader committed;
      committed.page_size = point.wal->page_size;
      committed.max_frame = point.wal->frame;
      committed.database_pages = point.database_pages;
      committed.frame_checksum[0] = point.wal->checksum.s[0];
      committed.frame_checksum[1] = point.wal->checksum.s[1];
      committed.salt[0] = point.wal->salt[0];
      committed.salt[1] = point.wal->salt[1];
      // If the WAL no longer matches, SQLite started it over, which it does only once every frame is in the
      // database file; no checkpoint has run since, so the file holds exactly this image.
      if (auto index = WalIndex::scan(wal_fd_.get(), committed)) wal_ = std::move(*index);
    }
  }
  ~SnapshotImpl() override {
    if (generation_) log_->finish_full_backup(*generation_, std::nullopt);
  }

  uint32_t page_size() const override { return page_size_; }
  uint64_t page_count() const override { return page_count_; }
  uint64_t lsn() const override { return lsn_; }

  void read_page(uint64_t pgno, std::span<uint8_t> out) override {
    if (pgno == 0 || pgno > page_count_ || out.size() != page_size_) {
      throw std::invalid_argument("page " + std::to_string(pgno) + " is outside the snapshot");
    }
    // Zeros, wherever the page is: what the file holds there (a hole, or nothing yet) means nothing.
    if (pgno == sqlite_lock_byte_page(page_size_)) {
      std::fill(out.begin(), out.end(), uint8_t{0});
      return;
    }
    if (wal_.read_page(wal_fd_.get(), static_cast<uint32_t>(pgno), out)) return;
    if (wal::pread_full(db_fd_.get(), out, (pgno - 1) * page_size_) < out.size()) {
      throw std::runtime_error(
          "page " + std::to_string(pgno) +
          " is neither in the WAL nor in the database file; the snapshot is not consistent");
    }
  }

  void read_pages(uint64_t first, std::span<uint8_t> out) override {
    const uint64_t count = out.size() / page_size_;
    if (first == 0 || out.size() % page_size_ != 0 || count > page_count_ || first > page_count_ - count + 1)
      throw std::invalid_argument("pages " + std::to_string(first) + ".." +
                                  std::to_string(first + count - 1) + " are not within the snapshot");
    // The database file is one read; only pages the WAL holds (a few, between checkpoints) are read again
    // from their frames. No checkpoint changes the file while the guard is held, so the file's bytes stay
    // the image of every page the WAL does not hold.
    const size_t got = wal::pread_full(db_fd_.get(), out, (first - 1) * page_size_);
    const uint32_t lock_page = sqlite_lock_byte_page(page_size_);
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t pgno = first + i;
      std::span<uint8_t> page = out.subspan(i * page_size_, page_size_);
      if (pgno == lock_page) {
        std::fill(page.begin(), page.end(), uint8_t{0});
        continue;
      }
      if (wal_.read_page(wal_fd_.get(), static_cast<uint32_t>(pgno), page)) continue;
      if (got < (i + 1) * page_size_) {
        throw std::runtime_error(
            "page " + std::to_string(pgno) +
            " is neither in the WAL nor in the database file; the snapshot is not consistent");
      }
    }
  }

  void full_backup_succeeded(const Guid& backup_id) override {
    if (!generation_) throw std::logic_error("not a full backup's snapshot");
    log_->finish_full_backup(*generation_, backup_id);
    generation_.reset();
    engine_.start_log_chain(info_.id, lsn_ + 1);
  }

 private:
  Engine& engine_;
  DatabaseInfo info_;
  std::unique_ptr<DatabaseLease> lease_;
  std::shared_lock<std::shared_mutex> guard_;
  std::shared_ptr<DatabaseLog> log_;
  uint64_t lsn_;
  std::optional<uint64_t> generation_;
  UniqueFd db_fd_;
  UniqueFd wal_fd_;
  WalIndex wal_;
  uint32_t page_size_ = 0;
  uint64_t page_count_ = 0;
};

class LogBackupSourceImpl : public LogBackupSource {
 public:
  LogBackupSourceImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease,
                      std::shared_ptr<DatabaseLog> log, uint64_t first, uint64_t last)
      : engine_(engine),
        info_(std::move(info)),
        lease_(std::move(lease)),
        log_(std::move(log)),
        first_(first),
        last_(last) {}
  uint64_t first_lsn() const override { return first_; }
  uint64_t last_lsn() const override { return last_; }
  uint32_t page_size() const override { return log_->commit_point().page_size; }
  void read(const LogStore::RecordVisitor& visit) override { log_->read(first_, last_, visit); }
  void succeeded() override { engine_.advance_log_chain(info_.id, last_); }

 private:
  Engine& engine_;
  DatabaseInfo info_;
  std::unique_ptr<DatabaseLease> lease_;
  std::shared_ptr<DatabaseLog> log_;
  uint64_t first_;
  uint64_t last_;
};

// --- engine ----------------------------------------------------------------------------------------------

Engine::Engine(fs::path databases_dir, instance::Msdb& msdb) : dir_(std::move(databases_dir)), msdb_(msdb) {
  create_private_directories(dir_);
  create_system_databases();
  // Every log is recovered before anything opens its database (DESIGN.md §3).
  for (const auto& info : list()) {
    if (info.is_system || info.state != DatabaseState::kOnline) continue;
    try {
      std::lock_guard lock(mutex_);
      shared_for(info);
    } catch (const std::exception& e) {
      spdlog::error("recovering the transaction log of '{}': {}", info.name, e.what());
    }
  }
  checkpointer_ = std::thread([this] { checkpointer_loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  checkpointer_.join();
}

void Engine::create_system_databases() {
  for (const auto& sys : kSystemDatabases) {
    if (sys.file && !fs::exists(dir_ / sys.file)) {
      auto db = open_database_file(dir_ / sys.file, true);
      db.exec("PRAGMA journal_mode=WAL");
    }
    msdb_.with([&](sqlite::Database& db) {
      db.prepare(
            // ON CONFLICT, unlike OR IGNORE, skips only an existing row and still fails on NULLs.
            "INSERT INTO databases (database_id, name, name_key, guid, fork_guid, file, state, "
            "recovery_model, is_system, create_date) VALUES (?, ?, ?, ?, ?, ?, 'ONLINE', 'SIMPLE', 1, ?) "
            "ON CONFLICT (database_id) DO NOTHING")
          .bind(1, sys.id)
          .bind(2, sys.name)
          .bind(3, sys.name)
          .bind(4, guid_to_string(random_guid()))
          .bind(5, guid_to_string(random_guid()))
          .bind(6, sys.file ? std::optional<std::string>(sys.file) : std::nullopt)
          .bind(7, format_datetime(now_micros()))
          .run();
    });
  }
}

std::optional<DatabaseInfo> Engine::find(const std::string& name) {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<DatabaseInfo> {
    auto s = db.prepare(std::string("SELECT ") + kInfoColumns + " WHERE name_key = ?");
    s.bind(1, database_name_key(name));
    if (!s.step()) return std::nullopt;
    return read_info(s, dir_);
  });
}

std::vector<DatabaseInfo> Engine::list() {
  return msdb_.with([&](sqlite::Database& db) {
    std::vector<DatabaseInfo> out;
    auto s = db.prepare(std::string("SELECT ") + kInfoColumns + " ORDER BY database_id");
    while (s.step()) out.push_back(read_info(s, dir_));
    return out;
  });
}

fs::path log_dir_for(const fs::path& database_file) {
  fs::path dir = database_file;
  dir.replace_extension(".log");
  return dir;
}

std::shared_ptr<Engine::Shared> Engine::shared_for(const DatabaseInfo& info) {
  auto& slot = shared_[info.id];
  if (!slot) slot = std::make_shared<Shared>();
  if (!slot->log && !info.is_system && info.state == DatabaseState::kOnline && !info.file.empty()) {
    auto log = std::make_shared<DatabaseLog>(info.file, log_dir_for(info.file), info.restore_lsn.value_or(1));
    slot->capture = std::make_unique<CaptureRegistration>(log);
    slot->log = std::move(log);
    apply_log_floor(info, *slot);
  }
  return slot;
}

void Engine::apply_log_floor(const DatabaseInfo& info, Shared& shared) {
  if (!shared.log) return;
  bool keeps_log = info.recovery_model != "SIMPLE" && info.log_chain_lsn.has_value();
  shared.log->set_log_backup_floor(keeps_log ? info.log_chain_lsn : std::nullopt);
}

void Engine::start_log_chain(int64_t id, uint64_t lsn) {
  std::lock_guard lock(mutex_);
  msdb_.with([&](sqlite::Database& db) {
    db.prepare(
          "UPDATE databases SET log_chain_lsn = ? WHERE database_id = ? AND log_chain_lsn IS NULL "
          "AND recovery_model <> 'SIMPLE'")
        .bind(1, static_cast<int64_t>(lsn))
        .bind(2, id)
        .run();
  });
  refresh_log_floor_locked(id);
}

void Engine::advance_log_chain(int64_t id, uint64_t lsn) {
  std::lock_guard lock(mutex_);
  msdb_.with([&](sqlite::Database& db) {
    db.prepare("UPDATE databases SET log_chain_lsn = MAX(log_chain_lsn, ?) WHERE database_id = ?")
        .bind(1, static_cast<int64_t>(lsn))
        .bind(2, id)
        .run();
  });
  refresh_log_floor_locked(id);
}

void Engine::refresh_log_floor_locked(int64_t id) {
  auto it = shared_.find(id);
  if (it == shared_.end()) return;
  auto info = msdb_.with([&](sqlite::Database& db) -> std::optional<DatabaseInfo> {
    auto s = db.prepare(std::string("SELECT ") + kInfoColumns + " WHERE database_id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_info(s, dir_);
  });
  if (info) apply_log_floor(*info, *it->second);
}

namespace {

// Inserts the catalog row; throws SqlError 1801 if the name (folded) is taken. Returns the new id.
int64_t insert_database_row(sqlite::Database& db, const std::string& name, const Guid& guid,
                            const Guid& fork_guid, const std::string& file, const char* state) {
  auto exists = db.prepare("SELECT name FROM databases WHERE name_key = ?");
  exists.bind(1, database_name_key(name));
  if (exists.step()) {
    throw SqlError(1801, 16, "Database '" + name + "' already exists. Choose a different database name.");
  }
  db.prepare(
        "INSERT INTO databases (database_id, name, name_key, guid, fork_guid, file, state, recovery_model, "
        "create_date) VALUES (NULL, ?, ?, ?, ?, ?, ?, "
        "'FULL', ?)")
      .bind(1, name)
      .bind(2, database_name_key(name))
      .bind(3, guid_to_string(guid))
      .bind(4, guid_to_string(fork_guid))
      .bind(5, file)
      .bind(6, state)
      .bind(7, format_datetime(now_micros()))
      .run();
  return db.last_insert_rowid();
}

void check_name(const std::string& name) {
  if (auto problem = database_name_problem(name)) {
    throw SqlError(15151, 16, "Invalid database name '" + name + "'. " + *problem);
  }
}

}  // namespace

DatabaseInfo Engine::create_database(const std::string& name) {
  check_name(name);
  std::string file_name = random_hex(16) + ".db";
  fs::path file = dir_ / file_name;
  {
    // A database file is written before its catalog row, so a crash leaves at worst an unused file.
    auto db = open_database_file(file, true);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA application_id=1112232530");  // 'BKRS': marks the file and gives page 1 a first commit
  }
  try {
    std::lock_guard lock(mutex_);
    msdb_.with([&](sqlite::Database& db) {
      sqlite::with_transaction(
          db, [&] { insert_database_row(db, name, random_guid(), random_guid(), file_name, "ONLINE"); });
    });
  } catch (...) {
    remove_database_files(file);
    throw;
  }
  spdlog::info("created database '{}' ({})", name, file_name);
  return *find(name);
}

void Engine::drop_database(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto info = find(name);
  if (!info) {
    throw SqlError(
        3701, 11,
        "Cannot drop the database '" + name + "', because it does not exist or you do not have permission.");
  }
  if (info->is_system)
    throw SqlError(3708, 16,
                   "Cannot drop the database '" + info->name + "' because it is a system database.");
  wait_for_checkpointer(lock, info->id, info->name);
  msdb_.with([&](sqlite::Database& db) {
    db.prepare("DELETE FROM databases WHERE database_id = ?").bind(1, info->id).run();
  });
  shared_.erase(info->id);
  remove_database_files(info->file);
  spdlog::info("dropped database '{}'", info->name);
}

std::pair<DatabaseInfo, std::unique_ptr<Engine::Lease>> Engine::lease_online_locked(const std::string& name) {
  auto found = find(name);
  if (!found) throw no_such_database(name);
  if (found->state == DatabaseState::kRestoring) {
    throw SqlError(927, 14,
                   "Database '" + found->name + "' cannot be opened. It is in the middle of a restore.");
  }
  auto shared = shared_for(*found);
  if (shared->log) {
    if (auto failure = shared->log->capture_failure()) throw suspect(found->name, *failure);
  }
  auto lease = std::make_unique<Lease>(*this, std::move(shared));
  return {std::move(*found), std::move(lease)};
}

std::unique_ptr<Connection> Engine::connect(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  auto log = lease->shared().log;
  return std::make_unique<ConnectionImpl>(*this, std::move(info), std::move(lease), std::move(log));
}

std::unique_ptr<DatabaseLease> Engine::lease(const std::string& name) {
  std::lock_guard lock(mutex_);
  return lease_online_locked(name).second;
}

std::unique_ptr<PageSnapshot> Engine::snapshot(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (info.is_system) throw no_such_database(name);
  Shared& shared = lease->shared();
  std::shared_lock guard(shared.checkpoint_guard);
  auto [point, generation] = shared.log->begin_full_backup();
  auto log = shared.log;
  return std::make_unique<SnapshotImpl>(*this, std::move(info), std::move(lease), std::move(guard),
                                        std::move(log), point, generation);
}

DifferentialSnapshot Engine::differential_snapshot(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (info.is_system) throw no_such_database(name);
  Shared& shared = lease->shared();
  std::shared_lock guard(shared.checkpoint_guard);
  auto diff = shared.log->begin_differential_backup();
  if (!diff.base) {
    throw SqlError(3035, 16,
                   "Cannot perform a differential backup for database \"" + info.name +
                       "\", because a current database backup does not exist. Perform a full database backup "
                       "by reissuing BACKUP DATABASE, omitting the WITH DIFFERENTIAL option.");
  }
  DifferentialSnapshot out;
  out.base = *diff.base;
  out.changed = std::move(diff.changed);
  auto log = shared.log;
  out.image = std::make_unique<SnapshotImpl>(*this, std::move(info), std::move(lease), std::move(guard),
                                             std::move(log), diff.point, std::nullopt);
  return out;
}

std::unique_ptr<LogBackupSource> Engine::begin_log_backup(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (info.is_system) {
    if (ascii_lower(info.name) == "master")
      throw SqlError(4212, 16, "Cannot back up the log of the master database. Use BACKUP DATABASE instead.");
    throw no_such_database(name);
  }
  if (info.recovery_model == "SIMPLE") {
    throw SqlError(4208, 16,
                   "The statement BACKUP LOG is not allowed while the recovery model is SIMPLE. Use BACKUP "
                   "DATABASE or change the recovery model using ALTER DATABASE.");
  }
  if (!info.log_chain_lsn) {
    throw SqlError(4214, 16, "BACKUP LOG cannot be performed because there is no current database backup.");
  }
  auto log = lease->shared().log;
  uint64_t first = *info.log_chain_lsn;
  uint64_t last = log->next_lsn();
  return std::make_unique<LogBackupSourceImpl>(*this, std::move(info), std::move(lease), std::move(log),
                                               first, last);
}

void Engine::set_recovery_model(const std::string& name, const std::string& model) {
  if (model != "FULL" && model != "SIMPLE" && model != "BULK_LOGGED")
    throw SqlError(102, 15, "Incorrect syntax near '" + model + "'.");
  std::lock_guard lock(mutex_);
  auto info = find(name);
  if (!info || info->state != DatabaseState::kOnline) {
    throw SqlError(5011, 14,
                   "User does not have permission to alter database '" + name +
                       "', the database does not exist, or the database is not in a state that allows access "
                       "checks.");
  }
  if (info->is_system && ascii_lower(info->name) != "master") {
    throw SqlError(5058, 16, "Option 'RECOVERY' cannot be set in database '" + info->name + "'.");
  }
  msdb_.with([&](sqlite::Database& db) {
    // Leaving FULL breaks the log chain: the next log backup needs a new full backup first.
    db.prepare(
          "UPDATE databases SET recovery_model = ?, "
          "log_chain_lsn = CASE WHEN ? = 'SIMPLE' THEN NULL ELSE log_chain_lsn END WHERE database_id = ?")
        .bind(1, model)
        .bind(2, model)
        .bind(3, info->id)
        .run();
  });
  refresh_log_floor_locked(info->id);
  spdlog::info("database '{}' uses the {} recovery model", info->name, model);
}

std::unique_ptr<RestoreTarget> Engine::begin_restore(const std::string& name, const Guid& guid,
                                                     const Guid& fork_guid, uint32_t page_size) {
  check_name(name);
  std::string file_name = random_hex(16) + ".db";
  DatabaseInfo info;
  std::unique_ptr<Lease> lease;
  {
    std::lock_guard lock(mutex_);
    msdb_.with([&](sqlite::Database& db) {
      sqlite::with_transaction(
          db, [&] { insert_database_row(db, name, guid, fork_guid, file_name, "RESTORING"); });
    });
    info = *find(name);
    lease = std::make_unique<Lease>(*this, shared_for(info));
  }
  try {
    return make_restore_target(*this, std::move(info), std::move(lease), page_size, true);
  } catch (...) {
    msdb_.with([&](sqlite::Database& db) {
      db.prepare("DELETE FROM databases WHERE name_key = ?").bind(1, database_name_key(name)).run();
    });
    throw;
  }
}

std::unique_ptr<RestoreTarget> Engine::continue_restore(const std::string& name) {
  std::unique_ptr<Lease> lease;
  DatabaseInfo info;
  {
    std::lock_guard lock(mutex_);
    auto found = find(name);
    if (!found || found->state != DatabaseState::kRestoring) {
      throw SqlError(3117, 16,
                     "The log or differential backup cannot be restored because no files are ready to "
                     "rollforward.");
    }
    info = std::move(*found);
    auto shared = shared_for(info);
    if (shared->users > 0)
      throw std::runtime_error("database '" + info.name + "' is being restored by another task");
    lease = std::make_unique<Lease>(*this, shared);
  }
  return make_restore_target(*this, std::move(info), std::move(lease), 0, false);
}

void Engine::finish_restore(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto info = find(name);
  if (!info || info->state != DatabaseState::kRestoring) {
    throw std::runtime_error("Database '" + name + "' is not in the RESTORING state.");
  }
  if (info->restore_damaged) {
    throw std::runtime_error(
        "Database '" + info->name +
        "' cannot be recovered: a restore into it failed while writing pages. Restore the "
        "full backup again.");
  }
  auto it = shared_.find(info->id);
  if (it != shared_.end() && it->second->users > 0) {
    throw std::runtime_error("database '" + info->name + "' is being restored by another task");
  }
  if (!info->restore_lsn) throw std::runtime_error("database '" + info->name + "' has no restored image yet");
  std::vector<std::string> problems;
  {
    // The check reads the whole file: without the engine's lock, with the database leased so that
    // nothing else restores into it or drops it meanwhile.
    Lease busy(*this, shared_for(*info));
    lock.unlock();
    problems = quick_check(info->file);
  }
  lock.lock();
  auto again = find(name);
  if (!again || again->id != info->id || again->state != DatabaseState::kRestoring)
    throw std::runtime_error("Database '" + info->name + "' changed while it was being checked.");
  if (!problems.empty()) {
    throw std::runtime_error(
        "Database '" + info->name + "' was not brought ONLINE: " + quick_check_failure(problems) +
        ". It stays RESTORING; drop it with rds_drop_database and restore a good backup.");
  }
  msdb_.with([&](sqlite::Database& db) { mark_recovered(db, *info, *info->restore_lsn); });
  spdlog::info("database '{}' recovered and is ONLINE", info->name);
}

void Engine::drop_restoring(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto info = find(name);
  if (!info || info->state != DatabaseState::kRestoring) {
    throw std::runtime_error("Database '" + name + "' is not in the RESTORING state.");
  }
  wait_for_checkpointer(lock, info->id, info->name);
  msdb_.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      db.prepare("DELETE FROM databases WHERE database_id = ?").bind(1, info->id).run();
      db.prepare(
            "DELETE FROM backupmediafamily WHERE media_set_id IN "
            "(SELECT media_set_id FROM backupset WHERE database_name = ? COLLATE NOCASE)")
          .bind(1, info->name)
          .run();
      db.prepare("DELETE FROM backupset WHERE database_name = ? COLLATE NOCASE").bind(1, info->name).run();
    });
  });
  shared_.erase(info->id);
  remove_database_files(info->file);
  spdlog::info("dropped database '{}' (RESTORING) and its backup history", info->name);
}

std::optional<DifferentialBase> Engine::differential_base(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (!lease->shared().log) return std::nullopt;
  return lease->shared().log->differential_base();
}

void Engine::adopt_full_backup(const std::string& name, const Guid& database_guid,
                               const DifferentialBase& base) {
  std::unique_lock lock(mutex_);
  auto found = find(name);
  if (!found || found->state != DatabaseState::kOnline || found->is_system || found->guid != database_guid)
    return;
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (!lease->shared().log) return;
  lease->shared().log->adopt_full_backup(base);
  start_log_chain(info.id, base.lsn + 1);
}

void Engine::adopt_log_backup(const std::string& name, const Guid& database_guid, uint64_t next_lsn) {
  auto found = find(name);
  if (!found || found->state != DatabaseState::kOnline || found->is_system || found->guid != database_guid)
    return;
  if (found->recovery_model == "SIMPLE" || !found->log_chain_lsn) return;  // the chain was broken since
  advance_log_chain(found->id, next_lsn);
}

uint64_t Engine::last_lsn(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  if (!lease->shared().log) throw no_such_database(name);
  return lease->shared().log->last_lsn();
}

void Engine::discard_restoring(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto info = find(name);
  if (!info || info->state != DatabaseState::kRestoring) return;
  msdb_.with([&](sqlite::Database& db) {
    db.prepare("DELETE FROM databases WHERE database_id = ?").bind(1, info->id).run();
  });
  remove_database_files(info->file);
  spdlog::info("removed database '{}' left RESTORING by an interrupted restore", info->name);
}

}  // namespace bakrest::engine
