// What bakrest's SQLite VFSes (capture_vfs.h, scan_vfs.h) share: each wraps SQLite's default VFS, handles
// some of the files it opens itself and forwards everything else, unchanged, to the default VFS.
//
// A shim's file object starts with a ShimFile. The shim VFS's szOsFile is the size of its own object plus
// the default VFS's, so that xOpen can place the default VFS's file object right after its own (and point
// ShimFile::real at it) — or, for a file it leaves alone, open the default VFS's file in its place.
#pragma once

#include <sqlite3.h>

namespace bakrest::engine {

struct ShimFile {
  sqlite3_file base;   // pMethods: the shim's methods
  sqlite3_file* real;  // the default VFS's file object, which does the I/O
};
static_assert(sizeof(ShimFile) % 8 == 0);

// io methods (version 3) that pass every call to ShimFile::real. A shim copies them and replaces the calls
// it handles; it always replaces xClose, which here only closes the real file.
sqlite3_io_methods forwarding_io_methods();

// A VFS named name over the default VFS, whose xOpen is open and whose other calls go to the default VFS.
// shim_file_bytes: the size of the shim's file object (a multiple of 8), which the default VFS's follows.
// The caller keeps the result (static storage) and registers it once.
sqlite3_vfs forwarding_vfs(const char* name, int shim_file_bytes,
                           int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*, int, int*));

// Registers vfs (not as the default) or throws std::runtime_error naming it. Call once.
void register_vfs(sqlite3_vfs& vfs);

// Closes the real file if it is open (a failed xOpen leaves it closed); returns its xClose's result or
// SQLITE_OK. The shim then destroys its own state.
int close_real(ShimFile& shim);

// The VFS a shim wraps: its pAppData.
inline sqlite3_vfs* wrapped_vfs(sqlite3_vfs* shim) { return static_cast<sqlite3_vfs*>(shim->pAppData); }

}  // namespace bakrest::engine
