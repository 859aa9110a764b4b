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
  std::string recovery_model;
  int64_t create_date = 0;  // unix micros
  bool is_system = false;
};

// A database image at one point in time, read page by page while writers go on.
class PageSnapshot {
 public:
  virtual ~PageSnapshot() = default;
  virtual uint32_t page_size() const = 0;
  virtual uint64_t page_count() const = 0;
  // The log position of the image. 0 until the transaction log exists (DESIGN.md §3).
  virtual uint64_t lsn() const = 0;
  // pgno counts from 1. out.size() must equal page_size().
  virtual void read_page(uint64_t pgno, std::span<uint8_t> out) = 0;
};

// A database being restored: its name is taken and it shows as RESTORING until finish() makes it ONLINE.
// Destroying an unfinished target removes the file and the catalog entry.
class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  virtual void write_page(uint64_t pgno, std::span<const uint8_t> page) = 0;
  // Makes the written image durable and the database ONLINE.
  virtual void finish() = 0;
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
  // being restored. "msdb" opens the catalog read-only.
  std::unique_ptr<Connection> connect(const std::string& name);

  // Marks an ONLINE database in use, for a session that attached it by a three-part name. Throws SqlError
  // 911 or 927 like connect().
  std::unique_ptr<DatabaseLease> lease(const std::string& name);

  // A consistent image of an ONLINE user database for a full backup. Checkpoints of that database wait
  // until the snapshot is destroyed.
  std::unique_ptr<PageSnapshot> snapshot(const std::string& name);

  // Creates an empty database in state RESTORING (SqlError 1801 if the name is taken). It takes the
  // backup's database GUID and starts a new recovery fork.
  std::unique_ptr<RestoreTarget> begin_restore(const std::string& name, const Guid& guid, uint32_t page_size);

  // Removes a database left RESTORING by an interrupted restore (at restart).
  void discard_restoring(const std::string& name);

  // Checkpoints every database whose WAL has reached min_wal_bytes, skipping those a backup is reading.
  void checkpoint_all(uintmax_t min_wal_bytes = 4u << 20);

  std::filesystem::path msdb_file() const { return msdb_.file(); }

 private:
  struct Shared;  // per-database state shared by its connections, snapshots and the checkpointer
  class Lease;
  std::shared_ptr<Shared> shared_for(int64_t id);
  // Finds an ONLINE database (SqlError 911/927 otherwise) and leases it; call with mutex_ held.
  std::pair<DatabaseInfo, std::unique_ptr<Lease>> lease_online_locked(const std::string& name);
  void create_system_databases();
  void checkpointer_loop();
  friend class ConnectionImpl;
  friend class RestoreTargetImpl;

  std::filesystem::path dir_;
  instance::Msdb& msdb_;
  std::mutex mutex_;
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

}  // namespace bakrest::engine
