#include "power/simulated_vfs.h"

#include <sqlite3.h>

#include <new>
#include <stdexcept>
#include <string>

#include "power/simulated_disk.h"

namespace bakrest::power {

namespace {

sqlite3_vfs* g_base = nullptr;

// Our state, then the default VFS's file object right after it.
struct SimFile {
  sqlite3_file base;
  std::string path;     // empty for SQLite's temporary files
  uint64_t serial = 0;  // the disk id belongs to
  uint64_t id = 0;
  // SQLite's unix VFS fsyncs the directory at the first sync of a journal or WAL opened with
  // SQLITE_OPEN_CREATE; that sync is not made for real here, so the disk is told.
  bool sync_directory = false;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(alignof(SimFile) <= 8 && sizeof(SimFile) % 8 == 0);

SimFile* as_sim(sqlite3_file* f) { return reinterpret_cast<SimFile*>(f); }

// The active disk if it tracks this file.
SimulatedDisk* tracking(SimFile* f) {
  SimulatedDisk* disk = SimulatedDisk::active();
  if (!disk || f->path.empty()) return nullptr;
  if (f->serial != disk->serial()) {  // opened before this disk existed
    f->id = disk->sqlite_resolve(f->path);
    f->serial = disk->serial();
  }
  return f->id ? disk : nullptr;
}

int sim_close(sqlite3_file* f) {
  SimFile* s = as_sim(f);
  int rc = s->real()->pMethods ? s->real()->pMethods->xClose(s->real()) : SQLITE_OK;
  s->~SimFile();
  return rc;
}

int sim_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return as_sim(f)->real()->pMethods->xRead(as_sim(f)->real(), out, amount, offset);
}

int sim_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  SimFile* s = as_sim(f);
  int rc = SQLITE_IOERR_WRITE;
  auto real = [&] {
    rc = s->real()->pMethods->xWrite(s->real(), data, amount, offset);
    return rc == SQLITE_OK;
  };
  if (SimulatedDisk* disk = tracking(s))
    return disk->sqlite_write(s->id, data, amount, offset, real) ? SQLITE_OK : rc;
  real();
  return rc;
}

int sim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  SimFile* s = as_sim(f);
  int rc = SQLITE_IOERR_TRUNCATE;
  auto real = [&] {
    rc = s->real()->pMethods->xTruncate(s->real(), size);
    return rc == SQLITE_OK;
  };
  if (SimulatedDisk* disk = tracking(s)) return disk->sqlite_truncate(s->id, size, real) ? SQLITE_OK : rc;
  real();
  return rc;
}

int sim_sync(sqlite3_file* f, int flags) {
  SimFile* s = as_sim(f);
  SimulatedDisk* disk = tracking(s);
  if (!disk) return s->real()->pMethods->xSync(s->real(), flags);
  if (!disk->sqlite_sync(s->id, s->path, s->sync_directory)) return SQLITE_IOERR_FSYNC;
  s->sync_directory = false;
  return SQLITE_OK;
}

int sim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return as_sim(f)->real()->pMethods->xFileSize(as_sim(f)->real(), size);
}
int sim_lock(sqlite3_file* f, int level) {
  return as_sim(f)->real()->pMethods->xLock(as_sim(f)->real(), level);
}
int sim_unlock(sqlite3_file* f, int level) {
  return as_sim(f)->real()->pMethods->xUnlock(as_sim(f)->real(), level);
}
int sim_check_reserved(sqlite3_file* f, int* out) {
  return as_sim(f)->real()->pMethods->xCheckReservedLock(as_sim(f)->real(), out);
}
int sim_file_control(sqlite3_file* f, int op, void* arg) {
  return as_sim(f)->real()->pMethods->xFileControl(as_sim(f)->real(), op, arg);
}
int sim_sector_size(sqlite3_file* f) { return as_sim(f)->real()->pMethods->xSectorSize(as_sim(f)->real()); }
int sim_device_characteristics(sqlite3_file* f) {
  return as_sim(f)->real()->pMethods->xDeviceCharacteristics(as_sim(f)->real());
}
int sim_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return as_sim(f)->real()->pMethods->xShmMap(as_sim(f)->real(), region, size, extend, out);
}
int sim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return as_sim(f)->real()->pMethods->xShmLock(as_sim(f)->real(), offset, n, flags);
}
void sim_shm_barrier(sqlite3_file* f) { as_sim(f)->real()->pMethods->xShmBarrier(as_sim(f)->real()); }
int sim_shm_unmap(sqlite3_file* f, int delete_flag) {
  return as_sim(f)->real()->pMethods->xShmUnmap(as_sim(f)->real(), delete_flag);
}
int sim_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return as_sim(f)->real()->pMethods->xFetch(as_sim(f)->real(), offset, amount, out);
}
int sim_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return as_sim(f)->real()->pMethods->xUnfetch(as_sim(f)->real(), offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    sim_close,
    sim_read,
    sim_write,
    sim_truncate,
    sim_sync,
    sim_file_size,
    sim_lock,
    sim_unlock,
    sim_check_reserved,
    sim_file_control,
    sim_sector_size,
    sim_device_characteristics,
    sim_shm_map,
    sim_shm_lock,
    sim_shm_barrier,
    sim_shm_unmap,
    sim_fetch,
    sim_unfetch,
};

int sim_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* s = new (file) SimFile{{nullptr}, name ? std::string(name) : std::string(), 0, 0, false};
  int rc = SQLITE_CANTOPEN;
  auto real = [&] {
    rc = g_base->xOpen(g_base, name, s->real(), flags, out_flags);
    return rc == SQLITE_OK;
  };
  if (SimulatedDisk* disk = SimulatedDisk::active(); disk && name) {
    SimulatedDisk::Opened opened = disk->sqlite_open(name, (flags & SQLITE_OPEN_CREATE) != 0, real);
    if (!opened.ok && rc == SQLITE_OK) rc = SQLITE_CANTOPEN;
    s->serial = disk->serial();
    s->id = opened.id;
  } else {
    real();
  }
  if (rc != SQLITE_OK) {
    if (s->real()->pMethods) s->real()->pMethods->xClose(s->real());
    s->~SimFile();
    file->pMethods = nullptr;
    return rc;
  }
  s->sync_directory = (flags & SQLITE_OPEN_CREATE) &&
                      (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL));
  s->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int sim_delete(sqlite3_vfs*, const char* name, int sync_directory) {
  int rc = SQLITE_IOERR_DELETE;
  SimulatedDisk* disk = SimulatedDisk::active();
  // With a disk the directory's sync is the disk's to note; no real one is made.
  auto real = [&] {
    rc = g_base->xDelete(g_base, name, disk ? 0 : sync_directory);
    return rc == SQLITE_OK;
  };
  if (disk) return disk->sqlite_delete(name, sync_directory != 0, real) ? SQLITE_OK : rc;
  real();
  return rc;
}

int sim_access(sqlite3_vfs*, const char* n, int f, int* o) { return g_base->xAccess(g_base, n, f, o); }
int sim_full_pathname(sqlite3_vfs*, const char* n, int size, char* out) {
  return g_base->xFullPathname(g_base, n, size, out);
}
void* sim_dlopen(sqlite3_vfs*, const char* n) { return g_base->xDlOpen(g_base, n); }
void sim_dlerror(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*sim_dlsym(sqlite3_vfs*, void* h, const char* s))(void) { return g_base->xDlSym(g_base, h, s); }
void sim_dlclose(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int sim_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int sim_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int sim_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int sim_last_error(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int sim_current_time64(sqlite3_vfs*, sqlite3_int64* out) { return g_base->xCurrentTimeInt64(g_base, out); }

}  // namespace

void register_simulated_vfs() {
  static bool registered = [] {
    sqlite3_initialize();
    g_base = sqlite3_vfs_find(nullptr);
    if (!g_base) throw std::runtime_error("SQLite has no default VFS");
    static sqlite3_vfs vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(SimFile)) + g_base->szOsFile;
    vfs.mxPathname = g_base->mxPathname;
    vfs.zName = "simulated";
    vfs.xOpen = sim_open;
    vfs.xDelete = sim_delete;
    vfs.xAccess = sim_access;
    vfs.xFullPathname = sim_full_pathname;
    vfs.xDlOpen = sim_dlopen;
    vfs.xDlError = sim_dlerror;
    vfs.xDlSym = sim_dlsym;
    vfs.xDlClose = sim_dlclose;
    vfs.xRandomness = sim_randomness;
    vfs.xSleep = sim_sleep;
    vfs.xCurrentTime = sim_current_time;
    vfs.xGetLastError = sim_last_error;
    vfs.xCurrentTimeInt64 = sim_current_time64;
    if (sqlite3_vfs_register(&vfs, /*makeDflt=*/1) != SQLITE_OK)
      throw std::runtime_error("cannot register the simulated SQLite VFS");
    return true;
  }();
  (void)registered;
}

}  // namespace bakrest::power
