// The transaction log as SQLite feeds it through the capture VFS. The oracle throughout: replaying the log's
// records onto the database file as it was before its first WAL commit must give, page for page, the
// database SQLite itself serializes. Covered: a long random workload checked after every commit, recovery at
// open, and a writer process killed at random moments.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/sqlite.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/engine.h"
#include "engine/wal_scan.h"
#include "power/power_support.h"
#include "support/faulty_file_system.h"
#include "temp_dir.h"

extern char** environ;

namespace bakrest::engine {
namespace {

namespace fs = std::filesystem;
using power::compare_images;
using power::create_database_image;
using power::open_database;
using power::pages_in;
using power::read_file;
using power::seed_note;
using power::serialize;
using power::test_seed;
using Replayed = power::Replica;

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// The database image the whole log replays over (power::create_database_image), with no WAL frames yet.
std::vector<uint8_t> create_wal_database(const fs::path& file, uint32_t page_size, const std::string& setup) {
  std::vector<uint8_t> image = create_database_image(file, page_size, setup);
  fs::path wal = file;
  wal += "-wal";
  EXPECT_FALSE(fs::exists(wal) && fs::file_size(wal) > 0);
  return image;
}

// A database's log opened as the engine opens it (recovery first, then the capture registration), keeping
// every record so that the whole log can be replayed.
struct Captured {
  std::shared_ptr<DatabaseLog> log;
  std::unique_ptr<CaptureRegistration> capture;
  explicit Captured(const fs::path& file, LogStoreOptions options = {})
      : log(std::make_shared<DatabaseLog>(file, log_dir_for(file), 1, options)),
        capture(std::make_unique<CaptureRegistration>(log)) {
    log->set_log_backup_floor(1);
  }
};

// Reads a file as the log's tests feed a WAL to it directly (the VFS reads through SQLite instead).
wal::ReadAt file_reader(const fs::path& path) {
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  return [file](uint64_t offset, std::span<uint8_t> out) -> size_t {
    file->clear();
    file->seekg(static_cast<std::streamoff>(offset));
    file->read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
    return static_cast<size_t>(file->gcount());
  };
}

// Engine::checkpoint_all's sequence: the log made durable, a PASSIVE checkpoint on a connection of its own,
// and the log told what reached the database file when every frame did. Returns that.
bool checkpoint(DatabaseLog& log, const fs::path& file) {
  log.flush();
  uint64_t logged = log.last_lsn();
  auto db = open_database(file);
  int frames = 0, backfilled = 0;
  int rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &backfilled);
  if (rc == SQLITE_BUSY) return false;  // a writer was busy with the WAL: the engine tries again later
  if (rc != SQLITE_OK) throw std::runtime_error(std::string("checkpoint: ") + sqlite3_errmsg(db.handle()));
  bool complete = frames >= 0 && backfilled == frames;
  if (complete) log.note_checkpointed(logged);
  return complete;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> bytes(n);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return bytes;
}

// ---- the random workload ------------------------------------------------------------------------------

// Random transactions on tables t<N> (id INTEGER PRIMARY KEY, k INTEGER, v TEXT, b BLOB) and ops(step). Every
// transaction that commits inserts into ops, so every commit writes pages and must become one record.
class Workload {
 public:
  explicit Workload(uint64_t seed) : rng_(seed) {}

  std::mt19937_64& rng() { return rng_; }
  size_t uniform(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  enum class Kind { kSmall, kBig, kDdl };

  // Runs one transaction; returns whether it committed.
  bool transaction(sqlite::Database& db, Kind kind, bool roll_back) {
    db.exec("BEGIN");
    switch (kind) {
      case Kind::kSmall:
        for (size_t n = uniform(1, 4); n > 0; --n) small_change(db);
        break;
      case Kind::kBig:
        big_change(db);
        break;
      case Kind::kDdl:
        ddl(db);
        break;
    }
    db.prepare("INSERT INTO ops (step) VALUES (?)").bind(1, static_cast<int64_t>(++step_)).run();
    db.exec(roll_back ? "ROLLBACK" : "COMMIT");
    return !roll_back;
  }

 private:
  std::vector<std::string> tables(sqlite::Database& db) {
    std::vector<std::string> names;
    auto s =
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't%' ORDER BY name");
    while (s.step()) names.push_back(s.get_text(0));
    return names;
  }

  std::string some_table(sqlite::Database& db) {
    auto names = tables(db);
    if (names.empty()) return create_table(db);
    return names[uniform(0, names.size() - 1)];
  }

  std::string create_table(sqlite::Database& db) {
    std::string name = "t" + std::to_string(next_table_++);
    db.exec("CREATE TABLE " + name + " (id INTEGER PRIMARY KEY, k INTEGER, v TEXT, b BLOB)");
    return name;
  }

  void insert(sqlite::Database& db, const std::string& table, size_t rows, size_t min_blob, size_t max_blob) {
    auto s = db.prepare("INSERT INTO " + table + " (k, v, b) VALUES (?, ?, ?)");
    for (size_t i = 0; i < rows; ++i) {
      s.bind(1, static_cast<int64_t>(uniform(0, 1000)));
      s.bind(2, std::string(uniform(0, 200), static_cast<char>('a' + uniform(0, 25))));
      if (chance(0.1)) {
        s.bind(3, nullptr);
      } else {
        auto blob = random_bytes(rng_, uniform(min_blob, max_blob));
        s.bind(3, std::span<const uint8_t>(blob));
      }
      s.run();
      s.reset();
    }
  }

  void small_change(sqlite::Database& db) {
    std::string table = some_table(db);
    switch (uniform(0, 3)) {
      case 0:
        insert(db, table, uniform(1, 5), 0, 3000);
        break;
      case 1:
        db.prepare("UPDATE " + table + " SET k = k + 1, v = v || 'u' WHERE id % ? = ?")
            .bind(1, static_cast<int64_t>(uniform(5, 20)))
            .bind(2, static_cast<int64_t>(uniform(0, 4)))
            .run();
        break;
      case 2: {
        auto blob = random_bytes(rng_, uniform(0, 5000));
        db.prepare("UPDATE " + table + " SET b = ? WHERE id = (SELECT id FROM " + table +
                   " ORDER BY id LIMIT 1 OFFSET ?)")
            .bind(1, std::span<const uint8_t>(blob))
            .bind(2, static_cast<int64_t>(uniform(0, 50)))
            .run();
        break;
      }
      default:
        db.prepare("DELETE FROM " + table + " WHERE id % ? = ?")
            .bind(1, static_cast<int64_t>(uniform(3, 15)))
            .bind(2, static_cast<int64_t>(uniform(0, 2)))
            .run();
        break;
    }
  }

  // Thousands of pages, far more than the writers' page cache holds.
  void big_change(sqlite::Database& db) {
    auto count = db.prepare("PRAGMA page_count");
    count.step();
    bool large = count.get_int(0) > kLargeDatabasePages;
    std::string table = some_table(db);
    switch (large ? 2 : uniform(0, 3)) {
      case 0:
        insert(db, table, uniform(150, 400), 1000, 12000);
        break;
      case 1:
        db.exec("UPDATE " + table + " SET v = v || 'w', k = k * 2");
        insert(db, table, uniform(50, 100), 2000, 8000);
        break;
      case 2:
        // Shrinks the data (the file keeps its size until VACUUM).
        for (const auto& t : tables(db))
          db.prepare("DELETE FROM " + t + " WHERE id % 4 != ?")
              .bind(1, static_cast<int64_t>(uniform(0, 3)))
              .run();
        break;
      default:
        insert(db, table, uniform(100, 200), 500, 4000);
        db.exec("CREATE INDEX IF NOT EXISTS " + table + "_v ON " + table + " (v, k)");
        break;
    }
  }

  void ddl(sqlite::Database& db) {
    auto names = tables(db);
    switch (uniform(0, 3)) {
      case 0: {
        std::string name = create_table(db);
        insert(db, name, uniform(0, 30), 0, 2000);
        if (chance(0.5)) db.exec("CREATE INDEX " + name + "_k ON " + name + " (k)");
        break;
      }
      case 1:
        if (names.size() > 1) db.exec("DROP TABLE " + names[uniform(0, names.size() - 1)]);
        break;
      case 2: {
        std::string table = some_table(db);
        db.exec("CREATE INDEX IF NOT EXISTS " + table + "_k ON " + table + " (k)");
        break;
      }
      default: {
        std::string table = some_table(db);
        db.exec("DROP INDEX IF EXISTS " + table + "_k");
        break;
      }
    }
  }

  static constexpr int64_t kLargeDatabasePages = 4000;
  std::mt19937_64 rng_;
  int64_t step_ = 0;
  int next_table_ = 1;
};

// A database under the random workload with its captured log, and the replayed image that must follow it.
class ReplayHarness {
 public:
  ReplayHarness(const fs::path& dir, uint64_t seed)
      : file_(dir / "d.db"),
        replayed_(
            create_wal_database(file_, 1024, "CREATE TABLE ops (id INTEGER PRIMARY KEY, step INTEGER);")),
        work_(seed) {
    open();
  }

  void run(int steps) {
    std::discrete_distribution<int> pick({50, 8, 8, 3, 8, 4, 2});
    for (int step = 0; step < steps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      uint64_t before = captured_->log->next_lsn();
      uint64_t expected = before;
      int what = pick(work_.rng());
      if (what <= 2) {
        auto kind = what == 0   ? Workload::Kind::kSmall
                    : what == 1 ? Workload::Kind::kBig
                                : Workload::Kind::kDdl;
        // Now and then the second connection writes: both feed the one log.
        auto& db = second_ && work_.chance(0.25) ? *second_ : *writer_;
        if (work_.transaction(db, kind, work_.chance(0.12))) ++expected;
      } else if (what == 3) {
        writer_->exec("VACUUM");
        ++expected;
      } else if (what == 4) {
        checkpoint(*captured_->log, file_);
        ++checkpoints_;
      } else if (what == 5) {
        // A reader holding an old snapshot keeps a checkpoint from finishing and the WAL from restarting.
        if (pin_) {
          pin_.reset();
        } else {
          pin_.emplace(open_database(file_));
          pin_->exec("BEGIN; SELECT count(*) FROM sqlite_master;");
        }
      } else {
        expected += reopen();
      }
      ASSERT_EQ(captured_->log->next_lsn(), expected) << "records appended by step kind " << what;
      commits_ += expected - before;
      check();
      if (::testing::Test::HasFatalFailure()) return;
    }
    // Every page a record wrote is marked changed, and nothing else (no full backup made a base).
    EXPECT_EQ(pages_in(captured_->log->begin_differential_backup().changed), replayed_.changed());
  }

  uint64_t commits() const { return commits_; }
  int checkpoints() const { return checkpoints_; }
  int reopens() const { return reopens_; }
  const Replayed& replayed() const { return replayed_; }

 private:
  void open() {
    captured_.emplace(file_);
    writer_.emplace(open_database(file_, 20));
    second_.emplace(open_database(file_, 20));
    // Smaller than the engine's limit, so that commits after a WAL restart also cut the file short.
    second_->exec("PRAGMA journal_size_limit=262144");
    reader_.emplace(open_database(file_));
  }

  void close() {
    pin_.reset();
    reader_.reset();
    second_.reset();
    writer_.reset();
    captured_.reset();
  }

  // Closes everything and opens the log again, which recovers from the WAL. Sometimes transactions commit
  // in between that the log never saw, as if the process had died right after SQLite's commit: recovery
  // must add exactly those. Returns how many.
  uint64_t reopen() {
    ++reopens_;
    close();
    uint64_t missed = 0;
    if (work_.chance(0.5)) {
      auto db = open_database(file_, 20);  // not registered: nothing is captured
      for (size_t n = work_.uniform(1, 3); n > 0; --n) {
        if (work_.transaction(db, Workload::Kind::kSmall, false)) ++missed;
      }
    }
    open();
    return missed;
  }

  // The replayed image equals SQLite's database after every step.
  void check() {
    replayed_.catch_up(*captured_->log);
    std::vector<uint8_t> live = serialize(*reader_);
    ASSERT_EQ(compare_images(replayed_.image(), live), "") << "after LSN " << replayed_.next_lsn() - 1;
  }

  fs::path file_;
  Replayed replayed_;
  Workload work_;
  std::optional<Captured> captured_;
  std::optional<sqlite::Database> writer_, second_, reader_, pin_;
  uint64_t commits_ = 0;
  int checkpoints_ = 0;
  int reopens_ = 0;
};

TEST(LogCapture, RandomWorkloadReplaysExactlyAfterEveryCommit) {
  uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  testing::TempDir dir;
  ReplayHarness harness(dir.path(), seed);
  harness.run(600);
  // The workload reached what it is meant to: many commits, transactions far larger than the page cache,
  // VACUUM shrinking the file, WAL restarts after checkpoints, recovery at reopening.
  EXPECT_GT(harness.commits(), 300u);
  EXPECT_GT(harness.replayed().largest(), 1000u);
  EXPECT_GT(harness.replayed().shrinks(), 0);
  EXPECT_GT(harness.replayed().generations(), 5u);
  EXPECT_GT(harness.checkpoints(), 10);
  EXPECT_GT(harness.reopens(), 2);
  std::printf("%llu commits, %d checkpoints, %zu WAL generations, %d reopenings, largest record %u pages\n",
              static_cast<unsigned long long>(harness.commits()), harness.checkpoints(),
              harness.replayed().generations(), harness.reopens(), harness.replayed().largest());
}

// After a checkpoint, a transaction that spilled into the WAL starts it over (new salts) and then rolls back.
// The next writer on another connection writes the header again: same salts, but the checkpoint sequence
// its connection counted (each connection counts the restarts it made), so the frames' checksum chain has
// another seed. Its commit, and every one after, is captured.
TEST(LogCapture, CommitsAfterARolledBackWalRestartAreCaptured) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 1024, "CREATE TABLE t (b BLOB);"));
  Captured c(file);
  auto a = open_database(file, 10);
  auto b = open_database(file, 10);
  std::vector<uint8_t> blob(50'000, 1);
  auto insert_after_checkpoint = [&](sqlite::Database& db) {
    db.prepare("INSERT INTO t VALUES (?)").bind(1, std::span<const uint8_t>(blob)).run();
    ASSERT_TRUE(checkpoint(*c.log, file));
  };
  // a starts the WAL over twice, b once: their checkpoint sequences differ.
  insert_after_checkpoint(a);
  insert_after_checkpoint(a);
  insert_after_checkpoint(a);
  insert_after_checkpoint(b);
  ASSERT_EQ(c.log->last_lsn(), 4u);
  a.exec("BEGIN");
  a.prepare("INSERT INTO t VALUES (?)").bind(1, std::span<const uint8_t>(blob)).run();  // spills
  a.exec("ROLLBACK");
  b.exec("INSERT INTO t VALUES (x'02')");
  EXPECT_EQ(c.log->last_lsn(), 5u);
  a.exec("INSERT INTO t VALUES (x'03')");
  b.exec("INSERT INTO t VALUES (x'04')");
  EXPECT_EQ(c.log->last_lsn(), 7u);
  replayed.catch_up(*c.log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(a)), "");
}

// The safety net before SQLite starts the WAL over: committed transactions the capture did not append at
// their commit (here: a log the VFS does not feed) are appended then, once each.
TEST(LogCapture, WalRestartAppendsCommitsTheCaptureMissed) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (x);"));
  DatabaseLog log(file, log_dir_for(file), 1);  // not registered: nothing captures at commit
  auto db = open_database(file);
  db.exec("INSERT INTO t VALUES (1)");
  db.exec("INSERT INTO t VALUES (2)");
  fs::path wal_path = file;
  wal_path += "-wal";
  wal::ReadAt read = file_reader(wal_path);
  ASSERT_EQ(log.last_lsn(), 0u);
  log.before_wal_restart(read);
  EXPECT_EQ(log.last_lsn(), 2u);
  log.before_wal_restart(read);  // nothing new
  EXPECT_EQ(log.last_lsn(), 2u);
  replayed.catch_up(log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
}

// A rolled-back spill leaves its connection having written far past what it later commits. When another
// connection then starts the WAL over and cuts the file to journal_size_limit, the first connection's next
// commit must still be captured at its own sync: reading the WAL past its end is short, not empty.
TEST(LogCapture, CommitAfterARolledBackSpillAndATruncatedWalIsCapturedAtOnce) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  fs::path wal_path = file;
  wal_path += "-wal";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (b BLOB);"));
  Captured c(file);
  auto a = open_database(file, 10);
  auto b = open_database(file, 10);
  b.exec("PRAGMA journal_size_limit=0");
  std::vector<uint8_t> big(3 * kWalScanChunkBytes, 1);
  a.exec("BEGIN");
  a.prepare("INSERT INTO t VALUES (?)").bind(1, std::span<const uint8_t>(big)).run();  // spills
  a.exec("ROLLBACK");
  ASSERT_GT(fs::file_size(wal_path), 2 * kWalScanChunkBytes);
  b.exec("INSERT INTO t VALUES (x'01')");
  ASSERT_TRUE(checkpoint(*c.log, file));
  b.exec("INSERT INTO t VALUES (x'02')");  // starts the WAL over; SQLite truncates it after the commit
  ASSERT_LT(fs::file_size(wal_path), kWalScanChunkBytes);
  ASSERT_EQ(c.log->last_lsn(), 2u);
  a.exec("INSERT INTO t VALUES (x'03')");
  EXPECT_EQ(c.log->last_lsn(), 3u);
  replayed.catch_up(*c.log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(a)), "");
}

// Sessions commit from their own threads while the checkpointer runs: every commit is one record, and the
// log replays to the final database.
TEST(LogCapture, ConcurrentWritersAndCheckpointer) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (w INTEGER, i INTEGER, b BLOB);"));
  Captured c(file);
  constexpr int kWriters = 4;
  constexpr int kCommits = 150;
  std::atomic<int> writing{kWriters};
  std::vector<std::exception_ptr> errors(kWriters + 1);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      try {
        auto db = open_database(file, 10);
        std::vector<uint8_t> blob(static_cast<size_t>(w) * 20'000 + 100, static_cast<uint8_t>(w));
        for (int i = 0; i < kCommits; ++i) {
          db.exec("BEGIN IMMEDIATE");
          db.prepare("INSERT INTO t VALUES (?, ?, ?)")
              .bind(1, w)
              .bind(2, i)
              .bind(3, std::span<const uint8_t>(blob))
              .run();
          db.exec(i % 10 == 9 ? "ROLLBACK" : "COMMIT");
        }
      } catch (...) {
        errors[w] = std::current_exception();
      }
      --writing;
    });
  }
  threads.emplace_back([&] {
    try {
      while (writing > 0) checkpoint(*c.log, file);
    } catch (...) {
      errors[kWriters] = std::current_exception();
    }
  });
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  EXPECT_EQ(c.log->last_lsn(), static_cast<uint64_t>(kWriters * kCommits * 9 / 10));
  replayed.catch_up(*c.log);
  auto db = open_database(file);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
  EXPECT_GT(replayed.generations(), 1u);
}

// ---- recovery at open ---------------------------------------------------------------------------------

TEST(LogRecovery, ReopeningAddsOnlyTransactionsTheLogLacks) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (x);"));
  auto commit = [&](sqlite::Database& db, int x) { db.prepare("INSERT INTO t VALUES (?)").bind(1, x).run(); };
  {
    Captured c(file);
    auto db = open_database(file);
    for (int i = 0; i < 5; ++i) commit(db, i);
    EXPECT_EQ(c.log->last_lsn(), 5u);
  }
  for (int round = 0; round < 2; ++round) {
    Captured c(file);  // nothing new in the WAL: nothing added
    EXPECT_EQ(c.log->last_lsn(), 5u);
  }
  {
    auto db = open_database(file);  // no log registered: as if the process died before capturing
    commit(db, 5);
    commit(db, 6);
  }
  {
    Captured c(file);
    EXPECT_EQ(c.log->last_lsn(), 7u);
    replayed.catch_up(*c.log);
    auto db = open_database(file);
    EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
    // The WAL starts over after a full checkpoint; what is missed then is in the new generation only.
    EXPECT_TRUE(checkpoint(*c.log, file));
  }
  {
    auto db = open_database(file);
    commit(db, 7);
  }
  Captured c(file);
  EXPECT_EQ(c.log->last_lsn(), 8u);
  replayed.catch_up(*c.log);
  auto db = open_database(file);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
}

// The changed-page file lags the log (it is written when the log is flushed). After a crash, recovery must
// mark the pages of the records past it before it appends what the WAL holds beyond the log.
TEST(LogRecovery, MarksPagesOfRecordsTheChangedPageFileMissed) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE a (x);"));
  fs::path changed_file = log_dir_for(file) / "changed-pages";
  std::vector<uint8_t> stale;
  {
    Captured c(file);
    auto db = open_database(file);
    db.exec("INSERT INTO a VALUES (1)");
    c.log->flush();
    stale = read_file(changed_file);
    db.exec("CREATE TABLE big (b BLOB)");
    std::vector<uint8_t> blob(3000, 7);
    for (int i = 0; i < 60; ++i)
      db.prepare("INSERT INTO big VALUES (?)").bind(1, std::span<const uint8_t>(blob)).run();
  }
  write_file(changed_file, stale);  // as if the process died before the log was flushed
  {
    auto db = open_database(file);  // and after SQLite committed one more transaction
    db.exec("INSERT INTO a VALUES (2)");
  }
  Captured c(file);
  replayed.catch_up(*c.log);
  EXPECT_GT(replayed.changed().size(), 40u);
  EXPECT_EQ(pages_in(c.log->begin_differential_backup().changed), replayed.changed());
}

// A capture that fails part-way (here: a WAL read fails in the second of two transactions, one larger than
// what the scan reads at once) keeps what it appended, and the next capture goes on from there instead of
// appending the first transaction again.
TEST(LogCapture, FailedCaptureIsRetriedWithoutDuplicates) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (x);"));
  DatabaseLog log(file, log_dir_for(file), 1);  // not registered: the test feeds it
  auto db = open_database(file);
  db.exec("INSERT INTO t VALUES (1)");
  db.prepare("INSERT INTO t VALUES (?)").bind(1, std::string(2 * kWalScanChunkBytes, 'x')).run();
  fs::path wal_path = file;
  wal_path += "-wal";
  wal::ReadAt read = file_reader(wal_path);
  std::vector<WalTransaction> txns;
  scan_wal_commits(read, std::nullopt, UINT64_MAX, [&](const WalTransaction& t) { txns.push_back(t); });
  ASSERT_EQ(txns.size(), 2u);
  const uint64_t second_start = wal::frame_offset(txns[1].first_frame, txns[1].end.page_size);
  ASSERT_GT(fs::file_size(wal_path) - second_start, kWalScanChunkBytes);
  wal::ReadAt failing = [&](uint64_t offset, std::span<uint8_t> out) -> size_t {
    // The first read covers the first transaction and the start of the second; the next one fails.
    if (offset > second_start) throw std::runtime_error("EIO");
    return read(offset, out);
  };
  uint64_t end = fs::file_size(wal_path);
  log.after_wal_sync(failing, end);  // never throws: the WAL holds the commits
  EXPECT_EQ(log.last_lsn(), 1u);
  EXPECT_EQ(log.capture_failure(), std::optional<std::string>("EIO"));
  log.after_wal_sync(read, end);
  EXPECT_EQ(log.last_lsn(), 2u);
  EXPECT_EQ(log.capture_failure(), std::nullopt);
  replayed.catch_up(log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
}

// Once SQLite has synced the WAL after a commit frame, the commit is durable: after a crash the WAL would
// make it committed. So a failing log append must not turn it into an error for the client (it once returned
// SQLITE_IOERR_FSYNC). The log is then behind: nothing may write to the WAL until it has caught up, so no
// later commit is acknowledged that the log could not hold; once appends work again, it catches up.
TEST(LogCapture, ACommitIsNotReportedFailedWhenOnlyItsLogAppendFails) {
  testing::TempDir dir;
  fs::path file = dir.path() / "d.db";
  Replayed replayed(create_wal_database(file, 4096, "CREATE TABLE t (x);"));
  // The log's segments live in d.log/; writes there fail while the test says so, like a full disk.
  fault::FaultyFileSystem disk;
  auto fail = [&](bool on) {
    if (on) {
      disk.fail_matching(fault::FaultyFileSystem::Call::kWrite, "/d.log/", ENOSPC);
    } else {
      disk.stop_failing();
    }
  };
  Captured captured(file);
  auto db = open_database(file);
  db.exec("INSERT INTO t VALUES (1)");
  fail(true);
  db.exec("INSERT INTO t VALUES (2)");  // durable in the WAL: succeeds
  ASSERT_TRUE(captured.log->capture_failure().has_value());
  EXPECT_NE(captured.log->capture_failure()->find("No space left on device"), std::string::npos)
      << *captured.log->capture_failure();
  EXPECT_EQ(captured.log->last_lsn(), 1u);
  // While the log is behind, a write fails before it reaches the WAL; the transaction is not committed.
  try {
    db.exec("INSERT INTO t VALUES (3)");
    ADD_FAILURE() << "a write while the log can't be written must fail";
  } catch (const sqlite::Error& e) {
    EXPECT_EQ(e.code() & 0xFF, SQLITE_IOERR) << e.what();
  }
  EXPECT_EQ(db.prepare("SELECT count(*) FROM t").step(), true);
  {
    auto count = db.prepare("SELECT group_concat(x) FROM t");
    count.step();
    EXPECT_EQ(count.get_text(0), "1,2");
  }
  // The log works again: the next write catches up first (LSN 2), then commits (LSN 3).
  fail(false);
  db.exec("INSERT INTO t VALUES (4)");
  EXPECT_EQ(captured.log->capture_failure(), std::nullopt);
  EXPECT_EQ(captured.log->last_lsn(), 3u);
  replayed.catch_up(*captured.log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");

  // With no writes at all, retry_capture() (the checkpointer's) catches the log up from the WAL file.
  fail(true);
  db.exec("INSERT INTO t VALUES (5)");
  ASSERT_TRUE(captured.log->capture_failure().has_value());
  EXPECT_FALSE(captured.log->retry_capture());
  fail(false);
  EXPECT_TRUE(captured.log->retry_capture());
  EXPECT_EQ(captured.log->last_lsn(), 4u);
  replayed.catch_up(*captured.log);
  EXPECT_EQ(compare_images(replayed.image(), serialize(db)), "");
}

// ---- a writer killed at random moments ----------------------------------------------------------------

// The writer (tests/log_crash_writer.cc) commits in a loop and prints each committed counter value. It is
// killed at a random moment, then the log is recovered here, checked against SQLite, and the writer started
// again on the same files.
class CrashHarness {
 public:
  static constexpr LogStoreOptions kOptions{.segment_bytes = 1 << 20};  // the writer uses the same

  CrashHarness(const fs::path& dir, uint64_t seed)
      : file_(dir / "crash.db"),
        rng_(seed),
        base_(create_wal_database(file_, 4096,
                                  "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);"
                                  "CREATE TABLE data (id INTEGER PRIMARY KEY, b BLOB);")),
        replayed_(base_) {}

  // One round: run the writer for a random while, kill it, recover and check. Returns the commits it
  // reported.
  uint64_t round() {
    // Most rounds end after a random while; some a few milliseconds after a big transaction began to
    // commit, when the kill likely lands in the middle of appending its large record.
    bool after_big = std::uniform_int_distribution<int>(0, 2)(rng_) == 0;
    auto delay = std::chrono::milliseconds(
        std::uniform_int_distribution<int>(after_big ? 0 : 5, after_big ? 15 : 150)(rng_));
    auto lines = run_and_kill(delay, after_big);
    uint64_t reported = counter_;
    for (const auto& line : lines) {
      if (line == "big") continue;
      uint64_t n = std::stoull(line);
      if (n != reported + 1)
        throw std::runtime_error("writer reported " + line + " after " + std::to_string(reported));
      reported = n;
    }
    uint64_t logged = note_torn_tail();
    Captured c(file_, kOptions);  // recovery
    recovered_rounds_ += c.log->next_lsn() > logged;
    auto db = open_database(file_);
    auto s = db.prepare("SELECT n FROM counter");
    s.step();
    uint64_t counter = static_cast<uint64_t>(s.get_int(0));
    // Every reported commit survived; at most one more committed before the kill without being reported.
    EXPECT_GE(counter, reported);
    EXPECT_LE(counter, reported + 1);
    // Each committed transaction is exactly one record: the counter counts them.
    EXPECT_EQ(c.log->first_lsn(), 1u);
    EXPECT_EQ(c.log->last_lsn(), counter);
    replayed_.catch_up(*c.log);
    EXPECT_EQ(compare_images(replayed_.image(), serialize(db)), "") << "after LSN " << counter;
    EXPECT_EQ(pages_in(c.log->begin_differential_backup().changed), replayed_.changed());
    uint64_t commits = counter - counter_;
    counter_ = counter;
    return commits;
  }

  // Rounds whose kill left a torn record behind, and rounds where recovery found commits in the WAL that
  // the log lacked.
  int torn_rounds() const { return torn_rounds_; }
  int recovered_rounds() const { return recovered_rounds_; }

  // Replays the whole log once more from the base image.
  void check_whole_log() {
    Captured c(file_, kOptions);
    Replayed fresh(base_);
    fresh.catch_up(*c.log);
    auto db = open_database(file_);
    EXPECT_EQ(compare_images(fresh.image(), serialize(db)), "");
  }

 private:
  // Starts the writer and kills it delay after it started, or with after_big delay after it announced a big
  // commit. Returns the lines it printed.
  std::vector<std::string> run_and_kill(std::chrono::milliseconds delay, bool after_big) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    std::string seed = std::to_string(rng_());
    std::string path = BAKREST_LOG_CRASH_WRITER;
    std::string file = file_.string();
    std::string segment = std::to_string(kOptions.segment_bytes);
    char* argv[] = {path.data(), file.data(), segment.data(), seed.data(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
    }
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + (after_big ? std::chrono::seconds(3) : delay);
    bool eof = false;
    auto read_some = [&] {
      char buffer[4096];
      ssize_t n = ::read(out[0], buffer, sizeof buffer);
      if (n > 0) text.append(buffer, static_cast<size_t>(n));
      if (n == 0) eof = true;
    };
    for (auto now = std::chrono::steady_clock::now(); now < deadline && !eof;
         now = std::chrono::steady_clock::now()) {
      pollfd p{out[0], POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      if (::poll(&p, 1, static_cast<int>(left) + 1) > 0) read_some();
      if (after_big && text.find("big\n") != std::string::npos) {
        after_big = false;
        deadline = std::chrono::steady_clock::now() + delay;
      }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    while (!eof) read_some();
    ::close(out[0]);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
      throw std::runtime_error("the writer ended by itself (status " + std::to_string(status) + ")");
    std::vector<std::string> lines;
    for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(text.substr(start, nl - start));
    if (!text.empty() && text.back() != '\n') throw std::runtime_error("the writer printed a partial line");
    return lines;
  }

  // Opens the bare log store (which cuts a torn tail off), counts the round if it did, and returns the
  // log's next LSN before recovery from the WAL.
  uint64_t note_torn_tail() {
    auto segment_bytes = [&] {
      uint64_t total = 0;
      for (const auto& e : fs::directory_iterator(log_dir_for(file_)))
        if (e.path().extension() == ".log") total += e.file_size();
      return total;
    };
    if (!fs::exists(log_dir_for(file_))) return 1;
    uint64_t before = segment_bytes();
    LogStore store(log_dir_for(file_), 1, kOptions);
    torn_rounds_ += segment_bytes() < before;
    return store.next_lsn();
  }

  fs::path file_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> base_;
  Replayed replayed_;
  uint64_t counter_ = 0;
  int torn_rounds_ = 0;
  int recovered_rounds_ = 0;
};

TEST(LogCrash, KilledWriterLosesNothingAndDuplicatesNothing) {
  uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  testing::TempDir dir;
  CrashHarness harness(dir.path(), seed);
  uint64_t commits = 0;
  int rounds_with_commits = 0;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    uint64_t n = harness.round();
    commits += n;
    rounds_with_commits += n > 0;
    if (::testing::Test::HasFailure()) return;
  }
  harness.check_whole_log();
  EXPECT_GT(commits, 200u);
  EXPECT_GT(rounds_with_commits, 10);
  std::printf("%llu commits in %d rounds with commits; %d torn log tails, %d recoveries from the WAL\n",
              static_cast<unsigned long long>(commits), rounds_with_commits, harness.torn_rounds(),
              harness.recovered_rounds());
}

}  // namespace
}  // namespace bakrest::engine
