#include "engine/integrity.h"

#include "common/sqlite.h"
#include "engine/scan_vfs.h"

namespace bakrest::engine {

std::vector<std::string> quick_check(const std::filesystem::path& file, int max_problems) {
  std::vector<std::string> problems;
  try {
    // immutable: no locks, no -wal or -shm beside a file that has none. The scan VFS reads it in large
    // windows (scan_vfs.h); the file belongs to no transaction log yet.
    sqlite::Database db(sqlite::file_uri(file, "immutable=1"), SQLITE_OPEN_READONLY, scan_vfs_name());
    auto check = db.prepare("PRAGMA quick_check(" + std::to_string(max_problems) + ")");
    while (check.step()) {
      std::string line = check.get_text(0);
      if (line != "ok") problems.push_back(std::move(line));
    }
  } catch (const sqlite::Error& e) {
    problems.push_back(e.what());
  }
  return problems;
}

std::string quick_check_failure(const std::vector<std::string>& problems) {
  std::string text = "the restored database does not pass SQLite's quick_check (";
  for (size_t i = 0; i < problems.size() && i < 3; ++i) text += (i ? "; " : "") + problems[i];
  if (problems.size() > 3) text += "; ...";
  return text + ")";
}

}  // namespace bakrest::engine
