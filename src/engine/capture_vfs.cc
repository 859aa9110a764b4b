#include "engine/capture_vfs.h"

#include <sqlite3.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "engine/database_log.h"
#include "engine/vfs_shim.h"

namespace bakrest::engine {

namespace {

constexpr const char* kVfsName = "bakrest";

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, std::weak_ptr<DatabaseLog>>& registry() {
  static std::map<std::string, std::weak_ptr<DatabaseLog>> r;
  return r;
}

sqlite3_vfs* base_vfs() { return sqlite3_vfs_find(nullptr); }

// A WAL file of a watched database: our state, then the default VFS's file object right after it.
struct CaptureFile {
  ShimFile shim;
  std::shared_ptr<DatabaseLog> log;
  uint64_t written_end = 0;  // end of what this connection wrote since its last sync
  sqlite3_file* real() { return shim.real; }
};
static_assert(alignof(CaptureFile) <= 8 && sizeof(CaptureFile) % 8 == 0);

CaptureFile* as_capture(sqlite3_file* f) { return reinterpret_cast<CaptureFile*>(f); }

int capture_close(sqlite3_file* f) {
  CaptureFile* c = as_capture(f);
  int rc = close_real(c->shim);
  c->~CaptureFile();
  return rc;
}

// Reads the WAL through SQLite's own file, as the connection sees it.
wal::ReadAt wal_reader(sqlite3_file* real) {
  return [real](uint64_t offset, std::span<uint8_t> out) -> size_t {
    int r = real->pMethods->xRead(real, out.data(), static_cast<int>(out.size()),
                                  static_cast<sqlite3_int64>(offset));
    if (r == SQLITE_OK) return out.size();
    if (r == SQLITE_IOERR_SHORT_READ) {
      // SQLite read what the file holds and zero-filled the rest. The read can pass the end of the file:
      // written_end may still cover frames of a rolled-back transaction that another connection has since
      // cut off (journal_size_limit). The bytes before the end are real.
      sqlite3_int64 size = 0;
      if (real->pMethods->xFileSize(real, &size) != SQLITE_OK)
        throw std::runtime_error("reading the WAL's size failed");
      if (static_cast<uint64_t>(size) <= offset) return 0;
      return std::min<uint64_t>(out.size(), static_cast<uint64_t>(size) - offset);
    }
    throw std::runtime_error("reading the WAL failed (SQLite error " + std::to_string(r) + ")");
  };
}

int capture_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  CaptureFile* c = as_capture(f);
  try {
    if (offset == 0) {
      // A new WAL header: SQLite is starting the WAL over. The old frames may be the only durable copy of
      // transactions the log holds only in the OS cache.
      c->log->before_wal_restart(wal_reader(c->real()));
    } else {
      // While the log is behind the WAL (an append failed), it catches up first or the write fails: no
      // transaction is acknowledged that the log could not hold.
      c->log->before_wal_write(wal_reader(c->real()));
    }
  } catch (const std::exception& e) {
    spdlog::error("transaction log of {}: {}", c->log->db_file().string(), e.what());
    return SQLITE_IOERR_WRITE;
  }
  int rc = c->real()->pMethods->xWrite(c->real(), data, amount, offset);
  if (rc == SQLITE_OK) c->written_end = std::max(c->written_end, static_cast<uint64_t>(offset + amount));
  return rc;
}

int capture_truncate(sqlite3_file* f, sqlite3_int64 size) {
  CaptureFile* c = as_capture(f);
  if (size == 0) {
    // A TRUNCATE checkpoint (the checkpointer's, holding SQLite's write lock) cuts every frame: as at a
    // WAL restart, the log must be durable first. (journal_size_limit truncations keep the frames of the
    // newest commit, which its sync has captured.)
    try {
      c->log->before_wal_restart(wal_reader(c->real()));
    } catch (const std::exception& e) {
      spdlog::error("transaction log of {}: {}", c->log->db_file().string(), e.what());
      return SQLITE_IOERR_TRUNCATE;
    }
  }
  c->written_end = std::min(c->written_end, static_cast<uint64_t>(size));
  return c->real()->pMethods->xTruncate(c->real(), size);
}

int capture_sync(sqlite3_file* f, int flags) {
  CaptureFile* c = as_capture(f);
  int rc = c->real()->pMethods->xSync(c->real(), flags);
  if (rc != SQLITE_OK || c->written_end == 0) return rc;
  // The WAL is synced: what it committed is durable, whatever happens to the log's append, so the
  // commit succeeds. A failed append leaves the log behind (DatabaseLog::capture_failure()), and the next
  // write to this WAL catches up or fails.
  c->log->after_wal_sync(wal_reader(c->real()), c->written_end);
  c->written_end = 0;
  return SQLITE_OK;
}

// Memory-mapped reads of the WAL are never used by SQLite; refusing them keeps every read visible here.
int capture_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int capture_unfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kCaptureMethods = [] {
  sqlite3_io_methods methods = forwarding_io_methods();
  methods.xClose = capture_close;
  methods.xWrite = capture_write;
  methods.xTruncate = capture_truncate;
  methods.xSync = capture_sync;
  methods.xFetch = capture_fetch;
  methods.xUnfetch = capture_unfetch;
  return methods;
}();

std::shared_ptr<DatabaseLog> log_for_wal(const char* name) {
  std::string wal(name);
  if (wal.size() <= 4 || wal.compare(wal.size() - 4, 4, "-wal") != 0) return nullptr;
  std::lock_guard lock(registry_mutex());
  auto it = registry().find(wal.substr(0, wal.size() - 4));
  return it == registry().end() ? nullptr : it->second.lock();
}

int capture_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = wrapped_vfs(vfs);
  std::shared_ptr<DatabaseLog> log;
  if (name && (flags & SQLITE_OPEN_WAL)) log = log_for_wal(name);
  if (!log) return base->xOpen(base, name, file, flags, out_flags);
  auto* c = new (file) CaptureFile{{{nullptr}, nullptr}, std::move(log), 0};
  c->shim.real = reinterpret_cast<sqlite3_file*>(c + 1);
  int rc = base->xOpen(base, name, c->real(), flags, out_flags);
  if (rc != SQLITE_OK) {
    c->~CaptureFile();
    file->pMethods = nullptr;
    return rc;
  }
  c->shim.base.pMethods = &kCaptureMethods;
  return SQLITE_OK;
}

sqlite3_vfs* make_vfs() {
  static sqlite3_vfs vfs = forwarding_vfs(kVfsName, sizeof(CaptureFile), capture_open);
  return &vfs;
}

std::string canonical_key(const std::filesystem::path& file) {
  // SQLite names a WAL after the database's full pathname, which the default VFS resolves like this.
  char out[4096];
  sqlite3_vfs* base = base_vfs();
  if (base->xFullPathname(base, file.c_str(), sizeof out, out) != SQLITE_OK)
    throw std::runtime_error("cannot resolve the path of " + file.string());
  return out;
}

}  // namespace

const char* capture_vfs_name() {
  static const char* name = [] {
    sqlite3_initialize();
    register_vfs(*make_vfs());
    return kVfsName;
  }();
  return name;
}

CaptureRegistration::CaptureRegistration(std::shared_ptr<DatabaseLog> log) {
  capture_vfs_name();
  key_ = canonical_key(log->db_file());
  std::lock_guard lock(registry_mutex());
  auto& slot = registry()[key_];
  if (slot.lock()) throw std::logic_error("a transaction log is already registered for " + key_);
  slot = log;
}

CaptureRegistration::~CaptureRegistration() {
  std::lock_guard lock(registry_mutex());
  registry().erase(key_);
}

}  // namespace bakrest::engine
