// The check a restored database passes before it becomes ONLINE: SQLite's PRAGMA quick_check, which reads
// every page and verifies the b-trees, the free list and the page count (but not that indexes match
// their tables, which integrity_check also does, at a cost that grows with the indexes; docs/PERFORMANCE.md).
// A backup whose checksums are right can still hold pages that were wrong when it was made, or were forged:
// such a database is never opened for sessions.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace bakrest::engine {

// Runs quick_check on the database file, which nothing may write meanwhile (it is opened immutable,
// without its WAL). Returns the problems found, at most max_problems of them; empty means it is intact.
// A file SQLite cannot read at all is one problem, not an exception.
std::vector<std::string> quick_check(const std::filesystem::path& file, int max_problems = 10);

// "the restored database does not pass SQLite's quick_check (<first problems>)", for task_info.
std::string quick_check_failure(const std::vector<std::string>& problems);

}  // namespace bakrest::engine
