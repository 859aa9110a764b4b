#include "engine/integrity.h"

#include "common/sqlite.h"

namespace bakrest::engine {

std::vector<std::string> quick_check(const std::filesystem::path& file, int max_problems) {
  std::vector<std::string> problems;
  try {
    // immutable: no locks, no -wal or -shm beside a file that has none; the default VFS, as the file
    // belongs to no transaction log yet.
    sqlite::Database db(sqlite::file_uri(file, "immutable=1"), SQLITE_OPEN_READONLY);
    // The check visits the b-trees' pages in tree order; read one by one, pages the page cache does not hold
    // cost a small random read each (0.9-1.1 s for 64 MiB of rows), where a memory map lets the kernel read
    // ahead (0.15-0.18 s). Nothing else writes the file while it is checked. SQLite caps the size at its
    // compile-time limit.
    db.exec("PRAGMA mmap_size = 1099511627776");
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
