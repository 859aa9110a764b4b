// bakrest's SQLite VFS (DESIGN.md §3): the default VFS with the WAL files of registered databases watched.
// After SQLite syncs a WAL — which, with synchronous=FULL, it does right after writing a commit frame and
// while it still holds the write lock — the database's DatabaseLog appends what was committed. Before
// SQLite writes a new WAL header (starting the WAL over) or truncates the WAL to nothing (a TRUNCATE
// checkpoint) the log is made durable. While the log is behind the WAL (an append failed), every write to
// the WAL first lets it catch up, or fails.
#pragma once

#include <filesystem>
#include <memory>

namespace bakrest::engine {

class DatabaseLog;

// Registers the VFS with SQLite on first use and returns its name, for sqlite3_open_v2.
const char* capture_vfs_name();

// While it lives, WAL files opened through the VFS for log->db_file() feed log. The database file must
// exist (its canonical path is the key). Connections opened before the registration are not watched.
class CaptureRegistration {
 public:
  explicit CaptureRegistration(std::shared_ptr<DatabaseLog> log);
  ~CaptureRegistration();
  CaptureRegistration(const CaptureRegistration&) = delete;
  CaptureRegistration& operator=(const CaptureRegistration&) = delete;

 private:
  std::string key_;
};

}  // namespace bakrest::engine
