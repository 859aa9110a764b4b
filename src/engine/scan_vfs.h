// A SQLite VFS for reading the whole of a database file that does not change while it is open: the check a
// restored database passes before it goes ONLINE (integrity.h). The main database file is read in windows
// of kScanWindowBytes, of which a file keeps kScanWindows (the least recently used is refilled); SQLite's
// page reads are copied out of them. Every other file, and a database opened for writing, goes straight to
// the default VFS.
//
// Why: SQLite reads a database a page at a time, and PRAGMA quick_check walks the file about three times
// (the b-trees, then each table's rows for its NOT NULL columns): for a GiB of 4 KiB pages, 786,432 preads,
// which were half the check's time on a virtual machine (docs/PERFORMANCE.md, "The check before ONLINE").
// In windows of 1 MiB a walk of a freshly restored file is a few thousand reads.
//
// Open a file through it with SQLITE_OPEN_READONLY and "immutable=1": the windows are never refreshed, so
// a file that changed while open would be read wrong. Memory: kScanWindows * kScanWindowBytes per open
// file, taken at open (SQLITE_NOMEM if it cannot be). A file object is used by one connection, which SQLite
// serializes; the VFS itself may be used from any thread.
#pragma once

#include <cstddef>

namespace bakrest::engine {

inline constexpr size_t kScanWindowBytes = 1 << 20;
inline constexpr size_t kScanWindows = 4;

// Registers the VFS with SQLite on first use and returns its name, for sqlite3_open_v2.
const char* scan_vfs_name();

}  // namespace bakrest::engine
