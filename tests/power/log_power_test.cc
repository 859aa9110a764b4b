// docs/LOG.md's invariants under power loss, not only under SIGKILL: after a power cut at any operation,
// and recovery the way the engine opens a database (the log first, then SQLite), every acknowledged commit
// (COMMIT returned before the cut) is in the log exactly once, LSNs run on by one, and replaying the log
// gives the database page for page. The simulated disk (simulated_disk.h) drops or tears everything not
// yet synced, so a missing fsync shows here as a lost or doubled commit.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/engine.h"
#include "power/power_support.h"
#include "power/simulated_disk.h"
#include "temp_dir.h"

namespace bakrest::power {
namespace {

namespace fs = std::filesystem;

struct LogConfig {
  uint64_t segment_bytes = 64 * 1024;  // small: segments start (and are fsynced, named) often
  bool discard = false;                // as log backups would: the log may drop what the replica has applied
  double checkpoint_chance = 0.12;
  uint64_t max_cut = 1500;  // cuts fall at operation 1..max_cut of a round
};

// A database and its log across power cuts. Each round runs a writer on the files the previous cut left,
// the way the engine opens a database (recovery first), until the power fails at a random operation; what
// survived is checked on a copy, and the next round runs on it unrecovered, so cuts land in recovery too.
class LogPowerHarness {
 public:
  LogPowerHarness(const fs::path& dir, uint64_t seed, LogConfig config)
      : dir_(dir), config_(config), rng_(seed), live_(dir / "disk-0") {
    fs::create_directory(live_);
    SimulatedDisk quiet(live_);  // no cut: only spares the real fsyncs, which would dominate the run time
    base_ = create_database_image(live_ / "p.db", 1024,
                                  "CREATE TABLE counter (n INTEGER); INSERT INTO counter VALUES (0);"
                                  "CREATE TABLE data (id INTEGER PRIMARY KEY, b BLOB);");
    replica_.emplace(base_);
    // As Engine::create_database leaves a database: its first commit in the WAL, no log yet (the first open
    // of the log recovers that commit as LSN 1).
    sqlite::Database db(live_ / "p.db", SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
    engine::configure_connection(db, nullptr);
    db.exec("PRAGMA application_id=1112232530");
  }

  // One round; the cut falls at a random operation, early ones (opening, recovery) more often.
  void round() {
    uint64_t cut = uniform(1, chance(0.2) ? 60 : config_.max_cut);
    fs::path next = dir_ / ("disk-" + std::to_string(++rounds_));
    {
      SimulatedDisk disk(live_);
      disk.cut_before(cut);
      try {
        run_until_cut(live_ / "p.db");
        ADD_FAILURE() << "the writer stopped without a power cut";
      } catch (const std::exception& e) {
        if (!disk.is_cut()) throw;  // an error without a power cut fails the test
      }
      operations_ += disk.operations();
      for (const auto& what : disk.untracked()) ADD_FAILURE() << "untracked: " << what;
      SimulatedDisk::Outcome outcome = disk.materialize(next, rng_);
      torn_ += outcome.writes_torn;
      dropped_ += outcome.writes_dropped;
      dropped_entries_ += outcome.entry_changes_dropped;
    }
    fs::remove_all(live_);
    live_ = next;
    check();
  }

  // Replays the whole log from the database's first image once more.
  void check_whole_log() {
    fs::path copy = dir_ / "final";
    copy_tree(live_, copy);
    SimulatedDisk quiet(copy);
    auto log = std::make_shared<engine::DatabaseLog>(copy / "p.db", engine::log_dir_for(copy / "p.db"), 1,
                                                     options());
    Replica fresh(base_);
    fresh.catch_up(*log);
    auto db = open_database(copy / "p.db");
    EXPECT_EQ(compare_images(fresh.image(), serialize(db)), "");
  }

  uint64_t commits() const { return acked_; }
  int rounds() const { return rounds_; }
  uint64_t operations() const { return operations_; }
  int torn() const { return torn_; }
  int dropped() const { return dropped_; }
  int dropped_entries() const { return dropped_entries_; }
  int in_flight_survived() const { return in_flight_survived_; }

 private:
  engine::LogStoreOptions options() const { return {.segment_bytes = config_.segment_bytes}; }
  uint64_t uniform(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Commits until the power fails (which throws).
  void run_until_cut(const fs::path& file) {
    auto log = std::make_shared<engine::DatabaseLog>(file, engine::log_dir_for(file), 1, options());
    log->set_log_backup_floor(floor_);
    engine::CaptureRegistration capture(log);
    auto db = open_database(file, 30);
    auto session = open_database(file, 30);
    for (int i = 0; i < 100000; ++i) {
      transaction(db);
      if (chance(config_.checkpoint_chance)) checkpoint(*log, file, session);
    }
  }

  // Adds one to the counter with random data, some of it big; now and then deletes or rolls back.
  void transaction(sqlite::Database& db) {
    db.exec("BEGIN");
    auto update = db.prepare("UPDATE counter SET n = n + 1 RETURNING n");
    update.step();
    uint64_t n = static_cast<uint64_t>(update.get_int(0));
    update.reset();
    size_t dice = uniform(0, 999);
    // Big ones (past the page cache) spill pages into the WAL before they commit.
    size_t size = dice < 10   ? uniform(100'000, 250'000)
                  : dice < 40 ? uniform(10'000, 60'000)
                              : uniform(10, 2000);
    std::vector<uint8_t> blob(size);
    for (auto& b : blob) b = static_cast<uint8_t>(rng_());
    db.prepare("INSERT INTO data (b) VALUES (?)").bind(1, std::span<const uint8_t>(blob)).run();
    if (chance(0.1)) db.exec("DELETE FROM data WHERE id < (SELECT max(id) FROM data) - 40");
    if (chance(0.05)) {
      db.exec("ROLLBACK");
      return;
    }
    db.exec("COMMIT");
    acked_ = n;  // acknowledged: COMMIT returned
  }

  // Engine::checkpoint_all's sequence — the log flushed, then a PASSIVE checkpoint on a connection of its
  // own — with, half the time, a session committing in between (sessions do not wait for the checkpointer):
  // that commit reaches the database file while the log holds it only unsynced.
  void checkpoint(engine::DatabaseLog& log, const fs::path& file, sqlite::Database& session) {
    log.flush();
    uint64_t logged = log.last_lsn();
    if (chance(0.5)) transaction(session);
    auto db = open_database(file);
    int frames = 0, backfilled = 0;
    int rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &backfilled);
    if (rc != SQLITE_OK) throw std::runtime_error(std::string("checkpoint: ") + sqlite3_errmsg(db.handle()));
    if (frames >= 0 && backfilled == frames) log.note_checkpointed(logged);
  }

  // Recovers a copy of what survived, as at server start, and checks docs/LOG.md's invariants.
  void check() {
    fs::path copy = dir_ / "check";
    copy_tree(live_, copy);
    fs::path file = copy / "p.db";
    {
      SimulatedDisk quiet(copy);
      auto log = std::make_shared<engine::DatabaseLog>(file, engine::log_dir_for(file), 1, options());
      log->set_log_backup_floor(floor_);
      engine::CaptureRegistration capture(log);
      auto db = open_database(file);
      auto s = db.prepare("SELECT n FROM counter");
      s.step();
      uint64_t counter = static_cast<uint64_t>(s.get_int(0));
      // Every acknowledged commit survived; at most the one in flight at the cut did too.
      ASSERT_GE(counter, acked_) << "acknowledged commits were lost (round " << rounds_ << ")";
      ASSERT_LE(counter, acked_ + 1) << "round " << rounds_;
      in_flight_survived_ += counter > acked_;
      acked_ = counter;
      // Each committed transaction is exactly one record: the counter's, plus the database's first commit.
      EXPECT_EQ(log->last_lsn(), counter + 1)
          << "the log does not hold every committed transaction exactly once (round " << rounds_ << ")";
      replica_->catch_up(*log);
      EXPECT_EQ(compare_images(replica_->image(), serialize(db)), "")
          << "replaying the log does not give the database (round " << rounds_ << ", LSN "
          << replica_->next_lsn() - 1 << ")";
      EXPECT_EQ(pages_in(log->begin_differential_backup().changed), replica_->changed())
          << "the changed-page bitmap is behind the log (round " << rounds_ << ")";
      if (config_.discard) floor_ = replica_->next_lsn();
    }
    fs::remove_all(copy);
  }

  fs::path dir_;
  LogConfig config_;
  std::mt19937_64 rng_;
  fs::path live_;
  std::vector<uint8_t> base_;
  std::optional<Replica> replica_;
  uint64_t acked_ = 0;
  uint64_t floor_ = 1;
  int rounds_ = 0;
  uint64_t operations_ = 0;
  int torn_ = 0, dropped_ = 0, dropped_entries_ = 0, in_flight_survived_ = 0;
};

void run_rounds(LogConfig config, int rounds, const char* what, bool whole_log) {
  uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  testing::TempDir dir(scratch_base());
  LogPowerHarness harness(dir.path(), seed, config);
  for (int i = 0; i < rounds; ++i) {
    harness.round();
    if (::testing::Test::HasFailure()) return;
  }
  if (whole_log) harness.check_whole_log();
  std::printf(
      "%s: %d power cuts, %llu commits, %llu disk operations; %d unsynced writes dropped, %d torn, %d "
      "directory changes dropped; the commit in flight survived %d times\n",
      what, harness.rounds(), static_cast<unsigned long long>(harness.commits()),
      static_cast<unsigned long long>(harness.operations()), harness.dropped(), harness.torn(),
      harness.dropped_entries(), harness.in_flight_survived());
  EXPECT_GT(harness.commits(), static_cast<uint64_t>(rounds));
}

TEST(LogPowerLoss, EveryAcknowledgedCommitSurvivesInTheLogExactlyOnce) {
  run_rounds({.segment_bytes = 256 * 1024}, scaled(60), "log kept whole", true);
}

TEST(LogPowerLoss, LogBackupsDroppingSegmentsLoseNothing) {
  run_rounds({.discard = true}, scaled(60), "log with discarded segments", false);
}

// A new database's first moments: its log directory and first segment are created while the WAL already
// exists, then commits and checkpoints restart the WAL. Each trial cuts the power once.
TEST(LogPowerLoss, NewLogSurvivesPowerCuts) {
  uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  std::mt19937_64 seeds(seed);
  for (int trial = 0; trial < scaled(60); ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    testing::TempDir dir(scratch_base());
    LogPowerHarness harness(dir.path(), seeds(), {.checkpoint_chance = 0.3, .max_cut = 300});
    harness.round();
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace bakrest::power
