// The writer of the transaction-log crash test (tests/unit/engine/log_capture_test.cc): opens a database
// and its log the way the engine does (recovery first), then commits forever — each transaction adds one to
// counter.n and inserts random data, some of it big — and prints every committed counter value on its own
// line, unbuffered, after COMMIT returned ("big" before committing a big one). Now and then it checkpoints
// or rolls a transaction back. The test kills it with SIGKILL at a random moment.
//
// Usage: log_crash_writer <database file> <log segment bytes> <seed>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/engine.h"

namespace {

using namespace bakrest;
namespace fs = std::filesystem;

sqlite::Database open_database(const fs::path& file) {
  sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, engine::capture_vfs_name());
  engine::configure_connection(db, nullptr);
  return db;
}

// Engine::checkpoint_all's sequence.
void checkpoint(engine::DatabaseLog& log, const fs::path& file) {
  log.flush();
  uint64_t logged = log.last_lsn();
  auto db = open_database(file);
  int frames = 0, backfilled = 0;
  if (sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &backfilled) ==
          SQLITE_OK &&
      frames >= 0 && backfilled == frames)
    log.note_checkpointed(logged);
}

void report(const std::string& what) {
  std::string line = what + "\n";
  // One write per line: the test may kill the process between any two system calls.
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::exit(3);
}

void run(const fs::path& file, uint64_t segment_bytes, uint64_t seed) {
  auto log = std::make_shared<engine::DatabaseLog>(file, engine::log_dir_for(file), 1,
                                                   engine::LogStoreOptions{.segment_bytes = segment_bytes});
  log->set_log_backup_floor(1);  // the test replays the whole log
  engine::CaptureRegistration capture(log);
  auto db = open_database(file);
  db.exec("PRAGMA cache_size=30");  // big transactions spill frames into the WAL before they commit

  std::mt19937_64 rng(seed);
  auto uniform = [&](size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng); };
  auto update = db.prepare("UPDATE counter SET n = n + 1 RETURNING n");
  auto insert = db.prepare("INSERT INTO data (b) VALUES (?)");
  for (;;) {
    db.exec("BEGIN");
    update.step();
    int64_t n = update.get_int(0);
    update.reset();
    size_t dice = uniform(0, 999);
    // Big ones make records written in several pieces, which a kill can tear.
    bool big = dice < 15;
    size_t size = uniform(10, 3000);
    if (big) size = uniform(1'000'000, 2'000'000);
    if (!big && dice < 55) size = uniform(20'000, 200'000);
    std::vector<uint8_t> blob(size);
    for (auto& b : blob) b = static_cast<uint8_t>(rng());
    insert.bind(1, std::span<const uint8_t>(blob));
    insert.run();
    insert.reset();
    if (uniform(0, 9) == 0) db.exec("DELETE FROM data WHERE id < (SELECT max(id) FROM data) - 150");
    if (uniform(0, 19) == 0) {
      db.exec("ROLLBACK");
      continue;
    }
    if (big) report("big");  // the test may kill soon after this
    db.exec("COMMIT");
    report(std::to_string(n));
    if (uniform(0, 24) == 0) checkpoint(*log, file);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <database file> <log segment bytes> <seed>\n", argv[0]);
    return 2;
  }
  // Standard output carries only the counter values.
  spdlog::set_default_logger(spdlog::stderr_color_st("log_crash_writer"));
  try {
    run(argv[1], std::stoull(argv[2]), std::stoull(argv[3]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "log_crash_writer: %s\n", e.what());
    return 1;
  }
}
