// The checkpointer (docs/LOG.md, "Checkpoints and retention"): the only thing that moves WAL frames into
// database files, never while a backup reads the database nor before the log holds them, and the hold it
// takes on a database that DROP DATABASE waits for.
#include <spdlog/spdlog.h>

#include <chrono>
#include <system_error>

#include "common/error.h"
#include "engine/engine.h"
#include "engine/engine_internal.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

void Engine::wait_for_checkpointer(std::unique_lock<std::mutex>& lock, int64_t id, const std::string& name) {
  auto it = shared_.find(id);
  if (it == shared_.end()) return;
  std::shared_ptr<Shared> shared = it->second;
  auto in_use = [&] {
    return SqlError(3702, 16, "Cannot drop database \"" + name + "\" because it is currently in use.");
  };
  if (shared->users > 0) throw in_use();
  shared->dropping = true;
  released_.wait(lock, [&] { return shared->checkpointing == 0; });
  shared->dropping = false;
  if (shared->users > 0) throw in_use();  // someone connected while it waited
}

size_t Engine::checkpoint_all(uintmax_t min_wal_bytes) {
  size_t checkpointed = 0;
  for (const auto& listed : list()) {
    if (listed.file.empty() || listed.state != DatabaseState::kOnline) continue;
    // The catalog was read without the lock: the database may have been dropped since. It is looked up
    // again and held (DROP DATABASE waits for the checkpointer, which only ever holds it briefly).
    std::shared_ptr<Shared> shared;
    DatabaseInfo info;
    {
      std::lock_guard lock(mutex_);
      auto current = find(listed.name);
      if (!current || current->id != listed.id || current->state != DatabaseState::kOnline) continue;
      info = std::move(*current);
      shared = shared_for(info);
      if (shared->dropping || !shared->log) continue;
      ++shared->checkpointing;
    }
    struct Release {
      Engine& engine;
      Shared& shared;
      ~Release() {
        std::lock_guard lock(engine.mutex_);
        --shared.checkpointing;
        engine.released_.notify_all();
      }
    } release{*this, *shared};
    if (checkpoint_one(info, *shared, min_wal_bytes)) ++checkpointed;
  }
  return checkpointed;
}

bool Engine::checkpoint_one(const DatabaseInfo& info, Shared& shared, uintmax_t min_wal_bytes) {
  std::unique_lock guard(shared.checkpoint_guard, std::try_to_lock);
  if (!guard) return false;  // a backup is reading this database
  DatabaseLog& log = *shared.log;
  // A log behind its WAL catches up first; until it has, the WAL's frames stay where they are.
  if (!log.retry_capture()) return false;
  fs::path wal = info.file;
  wal += "-wal";
  std::error_code ec;
  uintmax_t wal_bytes = fs::file_size(wal, ec);
  if (ec || wal_bytes < min_wal_bytes) return false;
  // Nothing committed since the last complete checkpoint: opening the database would only make SQLite
  // read the whole WAL again to rebuild its index (the idle CPU of a large WAL).
  uint64_t logged = log.last_lsn();
  if (logged == shared.checkpointed_lsn && wal_bytes == shared.wal_bytes_after_checkpoint) return false;
  try {
    // The log is durable before any frame reaches the database file (DESIGN.md §3).
    log.flush();
    auto db = open_database_file(info.file, false);
    int frames = 0, backfilled = 0;
    int rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &backfilled);
    if (rc != SQLITE_OK || frames < 0 || backfilled != frames) return true;
    log.note_checkpointed(logged);
    // Every frame is in the database file: truncate the WAL if no reader still uses it. With no busy
    // handler this never waits for a writer or a reader; it just does not truncate then. (The capture
    // VFS makes the log durable before the WAL is cut: engine/capture_vfs.cc.)
    sqlite3_busy_timeout(db.handle(), 0);
    sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    shared.checkpointed_lsn = log.last_lsn() == logged ? logged : 0;
    shared.wal_bytes_after_checkpoint = fs::file_size(wal, ec);
  } catch (const std::exception& e) {
    spdlog::warn("checkpoint of '{}' failed: {}", info.name, e.what());
  }
  return true;
}

void Engine::checkpointer_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; })) {
    lock.unlock();
    try {
      checkpoint_all();
    } catch (const std::exception& e) {
      spdlog::warn("checkpointer: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace bakrest::engine
