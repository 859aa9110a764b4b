// msdb: the instance catalog (databases, tasks, backup history, configuration, logins) in one SQLite
// database. Sessions see it read-only as the schema "msdb"; bakrest writes it through this class.
#pragma once

#include <filesystem>
#include <mutex>

#include "common/sqlite.h"

namespace bakrest::instance {

class Msdb {
 public:
  // Opens (creating if needed) and brings the schema up to date.
  explicit Msdb(std::filesystem::path file);

  const std::filesystem::path& file() const { return file_; }

  // Runs fn(sqlite::Database&) with the catalog to itself. Keep fn short: every layer shares it.
  template <typename Fn>
  auto with(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return fn(db_);
  }

 private:
  std::filesystem::path file_;
  std::mutex mutex_;
  sqlite::Database db_;
};

}  // namespace bakrest::instance
