#include "engine/scan_vfs.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>

#include "engine/vfs_shim.h"

namespace bakrest::engine {

namespace {

constexpr const char* kVfsName = "bakrest-scan";

struct Window {
  std::unique_ptr<unsigned char[]> bytes;
  sqlite3_int64 offset = -1;  // a multiple of kScanWindowBytes; -1: holds nothing
  uint64_t used = 0;          // ScanFile::clock when last read from
};

// A main database file opened read-only: our state, then the default VFS's file object right after it.
struct ScanFile {
  ShimFile shim;
  sqlite3_int64 size = 0;  // the file's size at open, which (immutable) it keeps
  uint64_t clock = 0;
  std::array<Window, kScanWindows> windows;
};
static_assert(alignof(ScanFile) <= 8 && sizeof(ScanFile) % 8 == 0);

ScanFile* as_scan(sqlite3_file* f) { return reinterpret_cast<ScanFile*>(f); }

int scan_close(sqlite3_file* f) {
  ScanFile* s = as_scan(f);
  int rc = close_real(s->shim);
  s->~ScanFile();
  return rc;
}

// The window holding [start, start + kScanWindowBytes), filled if none does; null if the fill failed.
Window* window_at(ScanFile* s, sqlite3_int64 start) {
  Window* oldest = &s->windows[0];
  for (Window& w : s->windows) {
    if (w.offset == start) return &w;
    if (w.used < oldest->used) oldest = &w;
  }
  // The last window of the file is shorter; start < size (the caller's read lies inside the file).
  auto length = static_cast<int>(std::min<sqlite3_int64>(kScanWindowBytes, s->size - start));
  oldest->offset = -1;
  if (s->shim.real->pMethods->xRead(s->shim.real, oldest->bytes.get(), length, start) != SQLITE_OK)
    return nullptr;
  oldest->offset = start;
  return oldest;
}

int scan_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  ScanFile* s = as_scan(f);
  sqlite3_int64 start = offset - offset % static_cast<sqlite3_int64>(kScanWindowBytes);
  // A read past the end (SQLite then wants its short-read answer), one across two windows (pages never are:
  // a page size divides the window) or anything odd goes to the file as it is; so does a read whose window
  // cannot be filled, so that SQLite gets the error of the read it asked for.
  Window* w = nullptr;
  if (amount > 0 && offset >= 0 && offset <= s->size - amount &&
      offset - start <= static_cast<sqlite3_int64>(kScanWindowBytes) - amount)
    w = window_at(s, start);
  if (!w) return s->shim.real->pMethods->xRead(s->shim.real, out, amount, offset);
  w->used = ++s->clock;
  std::memcpy(out, w->bytes.get() + (offset - start), static_cast<size_t>(amount));
  return SQLITE_OK;
}

// Windows cannot see writes: a file open through them is read-only.
int scan_refuse_write(sqlite3_file*, const void*, int, sqlite3_int64) { return SQLITE_READONLY; }
int scan_refuse_truncate(sqlite3_file*, sqlite3_int64) { return SQLITE_READONLY; }

const sqlite3_io_methods kScanMethods = [] {
  sqlite3_io_methods methods = forwarding_io_methods();
  methods.xClose = scan_close;
  methods.xRead = scan_read;
  methods.xWrite = scan_refuse_write;
  methods.xTruncate = scan_refuse_truncate;
  return methods;
}();

int scan_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = wrapped_vfs(vfs);
  if (!name || !(flags & SQLITE_OPEN_MAIN_DB) || !(flags & SQLITE_OPEN_READONLY))
    return base->xOpen(base, name, file, flags, out_flags);
  std::array<Window, kScanWindows> windows;
  try {
    for (Window& w : windows) w.bytes = std::make_unique_for_overwrite<unsigned char[]>(kScanWindowBytes);
  } catch (const std::bad_alloc&) {
    file->pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  auto* s = new (file) ScanFile{};
  s->windows = std::move(windows);
  s->shim.real = reinterpret_cast<sqlite3_file*>(s + 1);
  int rc = base->xOpen(base, name, s->shim.real, flags, out_flags);
  if (rc == SQLITE_OK) rc = s->shim.real->pMethods->xFileSize(s->shim.real, &s->size);
  if (rc != SQLITE_OK) {
    close_real(s->shim);
    s->~ScanFile();
    file->pMethods = nullptr;
    return rc;
  }
  s->shim.base.pMethods = &kScanMethods;
  return SQLITE_OK;
}

}  // namespace

const char* scan_vfs_name() {
  static const char* name = [] {
    sqlite3_initialize();
    static sqlite3_vfs vfs = forwarding_vfs(kVfsName, sizeof(ScanFile), scan_open);
    register_vfs(vfs);
    return kVfsName;
  }();
  return name;
}

}  // namespace bakrest::engine
