#include "engine/engine.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/error.h"
#include "common/text.h"
#include "engine/database_name.h"
#include "engine/wal_index.h"
#include "engine/wal_index_header.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

struct Engine::Shared {
  // Backups hold it shared; the checkpointer needs it exclusively, so no checkpoint runs under a backup.
  std::shared_mutex checkpoint_guard;
  int users = 0;  // live leases: connections, attachments, snapshots, restores; guarded by Engine::mutex_
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

namespace {

constexpr const char* kInfoColumns =
    "database_id, name, guid, file, state, recovery_model, create_date, is_system, fork_guid FROM databases";

struct SystemDatabase {
  int64_t id;
  const char* name;
  const char* file;
};
constexpr SystemDatabase kSystemDatabases[] = {
    {1, "master", "master.db"}, {2, "tempdb", "tempdb.db"}, {3, "model", "model.db"}, {4, "msdb", nullptr}};

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void fsync_path(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) throw_errno("fsync " + path.string());
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
  return info;
}

void remove_database_files(const fs::path& file) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::path p = file;
    p += suffix;
    fs::remove(p, ignored);
  }
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

sqlite::Database open_database_file(const fs::path& file, bool create) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  sqlite::Database db(file, flags);
  configure_connection(db, nullptr);
  return db;
}

}  // namespace

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
  ConnectionImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease)
      : engine_(engine), info_(std::move(info)), lease_(std::move(lease)), db_(open()) {}

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
    sqlite::Database db(file, flags);
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
  SessionAuthorizer authorizer_;
  sqlite::Database db_;
};

// --- snapshots ---------------------------------------------------------------------------------------------

namespace {

class WalSnapshot : public PageSnapshot {
 public:
  WalSnapshot(const fs::path& file, std::unique_ptr<DatabaseLease> lease,
              std::shared_lock<std::shared_mutex> guard)
      : lease_(std::move(lease)), guard_(std::move(guard)), db_(open_database_file(file, false)) {
    db_fd_ = UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (db_fd_.get() < 0) throw_errno("open " + file.string());
    // A read transaction held for the snapshot's life initialises the WAL-index and keeps writers from
    // restarting the WAL under it; writers themselves go on.
    db_.exec("BEGIN; SELECT count(*) FROM sqlite_master;");
    fs::path wal = file, shm = file;
    wal += "-wal";
    shm += "-shm";
    wal_fd_ = UniqueFd(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd shm_fd(::open(shm.c_str(), O_RDONLY | O_CLOEXEC));
    std::optional<WalIndexHeader> committed;
    std::optional<WalIndex> index;
    // The header changes under a writer's commit; a few tries always find a stable one.
    for (int attempt = 0; attempt < 1000 && !index; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      committed = read_wal_index_header(shm_fd.get());
      if (committed) index = WalIndex::scan(wal_fd_.get(), *committed);
    }
    if (!index)
      throw std::runtime_error("could not find a consistent committed point in the WAL of " + file.string());
    wal_ = std::move(*index);
    page_size_ = read_file_page_size();
    if (page_size_ == 0) page_size_ = committed->page_size;
    if (committed->max_frame > 0) {
      page_count_ = committed->database_pages;
    } else {
      struct stat st {};
      if (::fstat(db_fd_.get(), &st) != 0) throw_errno("stat " + file.string());
      page_count_ = page_size_ ? static_cast<uint64_t>(st.st_size) / page_size_ : 0;
    }
  }

  uint32_t page_size() const override { return page_size_; }
  uint64_t page_count() const override { return page_count_; }
  uint64_t lsn() const override { return 0; }

  void read_page(uint64_t pgno, std::span<uint8_t> out) override {
    if (pgno == 0 || pgno > page_count_ || out.size() != page_size_) {
      throw std::invalid_argument("page " + std::to_string(pgno) + " is outside the snapshot");
    }
    if (wal_.read_page(wal_fd_.get(), static_cast<uint32_t>(pgno), out)) return;
    size_t done = 0;
    uint64_t offset = (pgno - 1) * page_size_;
    while (done < out.size()) {
      ssize_t n =
          ::pread(db_fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("reading the database file");
      if (n == 0) {
        throw std::runtime_error(
            "page " + std::to_string(pgno) +
            " is neither in the WAL nor in the database file; the snapshot is not consistent");
      }
      done += static_cast<size_t>(n);
    }
  }

 private:
  // The page size from the database header (0 for an empty file). 1 stands for 65536.
  uint32_t read_file_page_size() {
    uint8_t header[18];
    if (::pread(db_fd_.get(), header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return 0;
    uint32_t size = static_cast<uint32_t>(header[16]) << 8 | header[17];
    return size == 1 ? 65536 : size;
  }

  std::unique_ptr<DatabaseLease> lease_;
  std::shared_lock<std::shared_mutex> guard_;
  sqlite::Database db_;
  UniqueFd db_fd_;
  UniqueFd wal_fd_;
  WalIndex wal_;
  uint32_t page_size_ = 0;
  uint64_t page_count_ = 0;
};

}  // namespace

// --- restore targets --------------------------------------------------------------------------------------

class RestoreTargetImpl : public RestoreTarget {
 public:
  RestoreTargetImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease,
                    uint32_t page_size)
      : engine_(engine), info_(std::move(info)), lease_(std::move(lease)), page_size_(page_size) {
    fd_ = UniqueFd(::open(info_.file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd_.get() < 0) throw_errno("create " + info_.file.string());
  }
  ~RestoreTargetImpl() override {
    if (finished_) return;
    try {
      remove_database_files(info_.file);
      engine_.msdb_.with([&](sqlite::Database& db) {
        db.prepare("DELETE FROM databases WHERE database_id = ? AND state = 'RESTORING'")
            .bind(1, info_.id)
            .run();
      });
    } catch (const std::exception& e) {
      spdlog::error("cleaning up the failed restore of '{}': {}", info_.name, e.what());
    }
  }

  void write_page(uint64_t pgno, std::span<const uint8_t> page) override {
    if (pgno == 0 || page.size() != page_size_) throw std::invalid_argument("bad page for restore");
    size_t done = 0;
    uint64_t offset = (pgno - 1) * page_size_;
    while (done < page.size()) {
      ssize_t n =
          ::pwrite(fd_.get(), page.data() + done, page.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("writing " + info_.file.string());
      done += static_cast<size_t>(n);
    }
  }

  void finish() override {
    if (::fsync(fd_.get()) != 0) throw_errno("fsync " + info_.file.string());
    fsync_path(info_.file.parent_path());
    bool updated = engine_.msdb_.with([&](sqlite::Database& db) {
      db.prepare("UPDATE databases SET state = 'ONLINE' WHERE database_id = ? AND state = 'RESTORING'")
          .bind(1, info_.id)
          .run();
      return db.changes() == 1;
    });
    if (!updated) throw std::runtime_error("the database '" + info_.name + "' being restored disappeared");
    finished_ = true;
  }

 private:
  Engine& engine_;
  DatabaseInfo info_;
  std::unique_ptr<DatabaseLease> lease_;  // a restore in progress is a use: DROP DATABASE refuses it
  uint32_t page_size_;
  UniqueFd fd_;
  bool finished_ = false;
};

// --- engine ----------------------------------------------------------------------------------------------

Engine::Engine(fs::path databases_dir, instance::Msdb& msdb) : dir_(std::move(databases_dir)), msdb_(msdb) {
  fs::create_directories(dir_);
  create_system_databases();
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

std::shared_ptr<Engine::Shared> Engine::shared_for(int64_t id) {
  auto& slot = shared_[id];
  if (!slot) slot = std::make_shared<Shared>();
  return slot;
}

namespace {

// Inserts the catalog row; throws SqlError 1801 if the name (folded) is taken. Returns the new id.
int64_t insert_database_row(sqlite::Database& db, const std::string& name, const Guid& guid,
                            const std::string& file, const char* state) {
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
      .bind(4, guid_to_string(random_guid()))
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
      sqlite::with_transaction(db,
                               [&] { insert_database_row(db, name, random_guid(), file_name, "ONLINE"); });
    });
  } catch (...) {
    remove_database_files(file);
    throw;
  }
  spdlog::info("created database '{}' ({})", name, file_name);
  return *find(name);
}

void Engine::drop_database(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto info = find(name);
  if (!info) {
    throw SqlError(
        3701, 11,
        "Cannot drop the database '" + name + "', because it does not exist or you do not have permission.");
  }
  if (info->is_system)
    throw SqlError(3708, 16,
                   "Cannot drop the database '" + info->name + "' because it is a system database.");
  auto it = shared_.find(info->id);
  if (it != shared_.end() && it->second->users > 0) {
    throw SqlError(3702, 16, "Cannot drop database \"" + info->name + "\" because it is currently in use.");
  }
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
  auto lease = std::make_unique<Lease>(*this, shared_for(found->id));
  return {std::move(*found), std::move(lease)};
}

std::unique_ptr<Connection> Engine::connect(const std::string& name) {
  std::unique_lock lock(mutex_);
  auto [info, lease] = lease_online_locked(name);
  lock.unlock();
  return std::make_unique<ConnectionImpl>(*this, std::move(info), std::move(lease));
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
  return std::make_unique<WalSnapshot>(info.file, std::move(lease),
                                       std::shared_lock(shared.checkpoint_guard));
}

std::unique_ptr<RestoreTarget> Engine::begin_restore(const std::string& name, const Guid& guid,
                                                     uint32_t page_size) {
  check_name(name);
  std::string file_name = random_hex(16) + ".db";
  DatabaseInfo info;
  std::unique_ptr<Lease> lease;
  {
    std::lock_guard lock(mutex_);
    msdb_.with([&](sqlite::Database& db) {
      sqlite::with_transaction(db, [&] { insert_database_row(db, name, guid, file_name, "RESTORING"); });
    });
    info = *find(name);
    lease = std::make_unique<Lease>(*this, shared_for(info.id));
  }
  try {
    return std::make_unique<RestoreTargetImpl>(*this, std::move(info), std::move(lease), page_size);
  } catch (...) {
    msdb_.with([&](sqlite::Database& db) {
      db.prepare("DELETE FROM databases WHERE name_key = ?").bind(1, database_name_key(name)).run();
    });
    throw;
  }
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

void Engine::checkpoint_all(uintmax_t min_wal_bytes) {
  for (const auto& info : list()) {
    if (info.file.empty() || info.state != DatabaseState::kOnline) continue;
    fs::path wal = info.file;
    wal += "-wal";
    std::error_code ec;
    if (fs::file_size(wal, ec) < min_wal_bytes || ec) continue;
    std::shared_ptr<Shared> shared;
    {
      std::lock_guard lock(mutex_);
      shared = shared_for(info.id);
    }
    std::unique_lock guard(shared->checkpoint_guard, std::try_to_lock);
    if (!guard) continue;  // a backup is reading this database
    try {
      auto db = open_database_file(info.file, false);
      sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } catch (const std::exception& e) {
      spdlog::warn("checkpoint of '{}' failed: {}", info.name, e.what());
    }
  }
}

void Engine::checkpointer_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; })) {
    lock.unlock();
    try {
      checkpoint_all();
    } catch (const std::exception& e) {
      spdlog::warn("checkpointer: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace bakrest::engine
