#include "engine/vfs_shim.h"

#include <stdexcept>
#include <string>

namespace bakrest::engine {

namespace {

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int forward_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int forward_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xRead(real(f), out, amount, offset);
}
int forward_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  return real(f)->pMethods->xWrite(real(f), data, amount, offset);
}
int forward_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real(f)->pMethods->xTruncate(real(f), size);
}
int forward_sync(sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); }
int forward_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int forward_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int forward_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int forward_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int forward_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int forward_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int forward_device_characteristics(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int forward_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int forward_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void forward_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int forward_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}
int forward_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int forward_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real(f)->pMethods->xUnfetch(real(f), offset, page);
}

int forward_delete(sqlite3_vfs* v, const char* n, int s) {
  return wrapped_vfs(v)->xDelete(wrapped_vfs(v), n, s);
}
int forward_access(sqlite3_vfs* v, const char* n, int f, int* o) {
  return wrapped_vfs(v)->xAccess(wrapped_vfs(v), n, f, o);
}
int forward_full_pathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return wrapped_vfs(v)->xFullPathname(wrapped_vfs(v), n, size, out);
}
void* forward_dlopen(sqlite3_vfs* v, const char* n) { return wrapped_vfs(v)->xDlOpen(wrapped_vfs(v), n); }
void forward_dlerror(sqlite3_vfs* v, int n, char* out) { wrapped_vfs(v)->xDlError(wrapped_vfs(v), n, out); }
void (*forward_dlsym(sqlite3_vfs* v, void* h, const char* s))(void) {
  return wrapped_vfs(v)->xDlSym(wrapped_vfs(v), h, s);
}
void forward_dlclose(sqlite3_vfs* v, void* h) { wrapped_vfs(v)->xDlClose(wrapped_vfs(v), h); }
int forward_randomness(sqlite3_vfs* v, int n, char* out) {
  return wrapped_vfs(v)->xRandomness(wrapped_vfs(v), n, out);
}
int forward_sleep(sqlite3_vfs* v, int us) { return wrapped_vfs(v)->xSleep(wrapped_vfs(v), us); }
int forward_current_time(sqlite3_vfs* v, double* out) {
  return wrapped_vfs(v)->xCurrentTime(wrapped_vfs(v), out);
}
int forward_last_error(sqlite3_vfs* v, int n, char* out) {
  return wrapped_vfs(v)->xGetLastError(wrapped_vfs(v), n, out);
}
int forward_current_time64(sqlite3_vfs* v, sqlite3_int64* out) {
  return wrapped_vfs(v)->xCurrentTimeInt64(wrapped_vfs(v), out);
}

}  // namespace

sqlite3_io_methods forwarding_io_methods() {
  return {
      3,
      forward_close,
      forward_read,
      forward_write,
      forward_truncate,
      forward_sync,
      forward_file_size,
      forward_lock,
      forward_unlock,
      forward_check_reserved,
      forward_file_control,
      forward_sector_size,
      forward_device_characteristics,
      forward_shm_map,
      forward_shm_lock,
      forward_shm_barrier,
      forward_shm_unmap,
      forward_fetch,
      forward_unfetch,
  };
}

sqlite3_vfs forwarding_vfs(const char* name, int shim_file_bytes,
                           int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*)) {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = shim_file_bytes + base->szOsFile;
  vfs.mxPathname = base->mxPathname;
  vfs.zName = name;
  vfs.pAppData = base;
  vfs.xOpen = open;
  vfs.xDelete = forward_delete;
  vfs.xAccess = forward_access;
  vfs.xFullPathname = forward_full_pathname;
  vfs.xDlOpen = forward_dlopen;
  vfs.xDlError = forward_dlerror;
  vfs.xDlSym = forward_dlsym;
  vfs.xDlClose = forward_dlclose;
  vfs.xRandomness = forward_randomness;
  vfs.xSleep = forward_sleep;
  vfs.xCurrentTime = forward_current_time;
  vfs.xGetLastError = forward_last_error;
  vfs.xCurrentTimeInt64 = forward_current_time64;
  return vfs;
}

void register_vfs(sqlite3_vfs& vfs) {
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK)
    throw std::runtime_error(std::string("cannot register the SQLite VFS ") + vfs.zName);
}

int close_real(ShimFile& shim) {
  return shim.real && shim.real->pMethods ? shim.real->pMethods->xClose(shim.real) : SQLITE_OK;
}

}  // namespace bakrest::engine
