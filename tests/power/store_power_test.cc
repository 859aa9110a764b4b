// Power cuts while a backup is published into the local object store and while a restore writes a
// database, through the real task queue and jobs; then a restart the way the server starts (the store
// removes temporary files, the engine recovers logs, interrupted tasks are ended and cleaned up). After any
// cut: an object under the backup's key is absent or a whole, valid backup — the previous one or, only if
// the task is SUCCESS, the new one — and no temporary file is left; a restored database is never ONLINE
// unless completely restored, and a roll-forward that stopped leaves it RESTORING, unchanged or marked
// damaged; and the next backup and restore work.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backup/object_stream.h"
#include "format/backup_file.h"
#include "power/power_support.h"
#include "power/simulated_disk.h"
#include "support/test_instance.h"
#include "tasks/task_types.h"
#include "temp_dir.h"

namespace bakrest::power {
namespace {

namespace fs = std::filesystem;
using bakrest::testing::kBucket;
using bakrest::testing::last_info_line;
using bakrest::testing::QuietControl;
using bakrest::testing::TestInstance;

using bakrest::testing::temporary_files;
using bakrest::testing::whole_backup;

class StorePowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = test_seed();
    rng_.seed(seed_);
    build_template();
  }

  uint64_t uniform(uint64_t lo, uint64_t hi) { return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_); }

  void build_template() {
    fs::create_directory(template_);
    SimulatedDisk quiet(template_);  // no cut: spares real fsyncs
    testing::ChainTemplate made = testing::build_chain_template(template_);
    full_id_ = made.full_id;
    image_at_full_ = std::move(made.image_at_full);
    image_at_log_ = std::move(made.image_at_log);
    rolling_lsn_ = made.rolling_lsn;
  }

  // Runs one task on a copy of the template with the power cut at operation `cut` (0: no cut), and writes
  // what survived to `survived`. Returns the task id (0 if even submitting it was cut) and whether the task
  // was seen SUCCESS before the cut. Sets operations_ to the operations it took.
  struct Run {
    int64_t task_id = 0;
    bool acknowledged = false;
  };
  Run run_task(const std::function<int64_t(TestInstance&)>& submit, uint64_t cut, const fs::path& survived) {
    fs::path live = dir_.path() / "live";
    copy_tree(template_, live);
    Run run;
    {
      SimulatedDisk disk(live);
      {
        TestInstance instance(live);
        uint64_t started = disk.operations();
        if (cut) disk.cut_before(cut);
        try {
          run.task_id = submit(instance);
          auto task = instance.wait(run.task_id, [&] { return disk.is_cut(); });
          run.acknowledged = task.lifecycle == "SUCCESS";
          if (!run.acknowledged && !disk.is_cut())
            ADD_FAILURE() << "the task ended " << task.lifecycle
                          << " without a power cut: " << last_info_line(task);
        } catch (const std::exception& e) {
          if (!disk.is_cut()) ADD_FAILURE() << "without a power cut: " << e.what();
        }
        operations_ = disk.operations() - started;
        disk.cut_now();  // what still runs (the job after the cut, the queue's bookkeeping) changes nothing
      }
      for (const auto& what : disk.untracked()) ADD_FAILURE() << "untracked: " << what;
      auto outcome = disk.materialize(survived, rng_);
      torn_ += outcome.writes_torn;
      dropped_ += outcome.writes_dropped + outcome.entry_changes_dropped;
    }
    fs::remove_all(live);
    return run;
  }

  // A cut somewhere in a task that takes `operations` when nothing cuts it (and now and then just after).
  uint64_t random_cut(uint64_t operations) { return uniform(1, operations + 3); }

  testing::TempDir dir_{scratch_base()};
  fs::path template_ = dir_.path() / "template";
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  Guid full_id_{};
  std::vector<uint8_t> image_at_full_, image_at_log_;
  std::optional<uint64_t> rolling_lsn_;  // the redo point of "rolling" before the log
  uint64_t operations_ = 0;
  int torn_ = 0, dropped_ = 0;
};

struct BackupKind {
  const char* type;
  const char* key;
  bool overwrite;  // over the template's full.bak
};
constexpr BackupKind kBackups[] = {
    {tasks::kBackupDb, "full.bak", true},               // replaces an object: rename
    {tasks::kBackupDb, "new/in/folders.bak", false},    // a new object in new folders: mkdir, link
    {tasks::kBackupDbDifferential, "diff.bak", false},  // pages changed since full.bak
    {tasks::kBackupLog, "log2.trn", false},             // the log after log.trn
};

TEST_F(StorePowerTest, BackupIsWholeOrAbsentAfterAPowerCut) {
  SCOPED_TRACE(seed_note(seed_));
  std::map<int, uint64_t> operations;  // per kind, measured by a first run that no cut stops
  int rounds = scaled(60), successes = 0, removed = 0, previous_kept = 0;
  for (int round = 0; round < rounds; ++round) {
    int k = round < 4 ? round : static_cast<int>(uniform(0, 3));
    const BackupKind& kind = kBackups[k];
    SCOPED_TRACE("round " + std::to_string(round) + ": " + kind.type + " to " + kind.key);
    uint64_t cut = operations.count(k) ? random_cut(operations[k]) : 0;
    fs::path survived = dir_.path() / ("survived-" + std::to_string(round));
    Run run =
        run_task([&](TestInstance& i) { return i.submit_backup(kind.type, "src", kind.key, kind.overwrite); },
                 cut, survived);
    if (!cut) operations[k] = operations_;
    {
      SimulatedDisk quiet(survived);
      TestInstance instance(survived, false);  // the restart: cleanup and task recovery
      EXPECT_EQ(temporary_files(survived), std::vector<std::string>{})
          << "temporary files outlived the restart";
      std::optional<tasks::TaskRecord> task;
      if (run.task_id) task = instance.queue.get(run.task_id);
      if (run.acknowledged) {
        ASSERT_TRUE(task && task->lifecycle == "SUCCESS") << "a SUCCESS the client saw was lost";
      }
      std::string lifecycle = task ? task->lifecycle : "(never submitted)";
      EXPECT_TRUE(lifecycle == "SUCCESS" || lifecycle == "ERROR" || lifecycle == "CREATED" ||
                  lifecycle == "(never submitted)")
          << lifecycle;
      std::optional<Guid> new_id;
      if (task) new_id = guid_from_string(task->parameters.value("backup_id", ""));
      std::optional<Guid> found;
      try {
        found = whole_backup(instance.store, kind.key);
      } catch (const std::exception& e) {
        ADD_FAILURE() << kind.key << " is not a whole backup after the cut: " << e.what();
      }
      if (lifecycle == "SUCCESS") {
        ++successes;
        EXPECT_TRUE(found && new_id && *found == *new_id) << "a SUCCESS backup is not under its key";
        if (std::string(kind.type) == tasks::kBackupDb) {
          // The full backup the task reported is the one the next differential is based on, also when the
          // cut came after the backup was recorded and before its success reached the log (the restart
          // adopts it: backup::settle_recorded_backup).
          auto base = instance.engine.differential_base("src");
          EXPECT_TRUE(base && new_id && base->backup_id == *new_id)
              << "after the restart the differential base is not the full backup that succeeded";
        }
      } else if (found) {
        EXPECT_TRUE(kind.overwrite && *found == full_id_) << "an unfinished backup is visible under its key";
        ++previous_kept;
      } else {
        removed += kind.overwrite;
      }
      // The next backup works, and restores to what src holds.
      QuietControl control;
      backup::BackupRequest next{0,
                                 random_guid(),
                                 "src",
                                 TestInstance::arn("next.bak"),
                                 kBucket,
                                 "next.bak",
                                 true,
                                 false,
                                 backup::BackupKind::kFull,
                                 {},
                                 {},
                                 ""};
      backup::run_backup(next, instance.env, control);
      backup::RestoreRequest restore;
      restore.database = "next";
      restore.arn = next.arn;
      restore.bucket = kBucket;
      restore.key = "next.bak";
      backup::run_restore(restore, instance.env, control);
      EXPECT_EQ(online_image(instance, "next"), online_image(instance, "src"));
    }
    fs::remove_all(survived);
    if (HasFailure()) return;
  }
  auto by_count = [](const auto& a, const auto& b) { return a.second < b.second; };
  std::printf(
      "backups: %d power cuts (%llu..%llu operations per backup); %d ended SUCCESS; an overwritten object "
      "was kept %d times and gone %d times; %d unsynced writes or names dropped, %d writes torn\n",
      rounds - 4,
      static_cast<unsigned long long>(
          std::min_element(operations.begin(), operations.end(), by_count)->second),
      static_cast<unsigned long long>(
          std::max_element(operations.begin(), operations.end(), by_count)->second),
      successes, previous_kept, removed, dropped_, torn_);
}

struct RestoreKind {
  const char* type;
  const char* database;
  const char* key;
};
constexpr RestoreKind kRestores[] = {
    {tasks::kRestoreDb, "fresh", "full.bak"},
    {tasks::kRestoreDbNorecovery, "fresh", "full.bak"},
    {tasks::kRestoreDbLog, "rolling", "log.trn"},
    {tasks::kRestoreDbLogNorecovery, "rolling", "log.trn"},
};

std::vector<uint8_t> file_image(const engine::DatabaseInfo& info) { return read_file(info.file); }

// Empty if the database (ONLINE: as SQLite serves it; RESTORING: its file) holds exactly expected, else what
// differs or why it cannot be read.
std::string image_problem(TestInstance& instance, const engine::DatabaseInfo& info,
                          const std::vector<uint8_t>& expected) {
  try {
    return compare_images(
        info.state == engine::DatabaseState::kOnline ? online_image(instance, info.name) : file_image(info),
        expected);
  } catch (const std::exception& e) {
    return std::string("it cannot be read: ") + e.what();
  }
}

TEST_F(StorePowerTest, RestoredDatabaseIsNeverHalfOnlineAfterAPowerCut) {
  SCOPED_TRACE(seed_note(seed_));
  std::map<int, uint64_t> operations;
  int rounds = scaled(60), online = 0, absent = 0, damaged = 0, unchanged = 0, rolled_forward = 0;
  for (int round = 0; round < rounds; ++round) {
    int k = round < 4 ? round : static_cast<int>(uniform(0, 3));
    const RestoreKind& kind = kRestores[k];
    SCOPED_TRACE("round " + std::to_string(round) + ": " + kind.type + " of " + kind.key);
    bool full = tasks::is_full_restore(kind.type);
    bool recover = tasks::restores_with_recovery(kind.type);
    uint64_t cut = operations.count(k) ? random_cut(operations[k]) : 0;
    fs::path survived = dir_.path() / ("survived-" + std::to_string(round));
    Run run = run_task([&](TestInstance& i) { return i.submit_restore(kind.type, kind.database, kind.key); },
                       cut, survived);
    if (!cut) operations[k] = operations_;
    {
      SimulatedDisk quiet(survived);
      TestInstance instance(survived, false);
      std::optional<tasks::TaskRecord> task;
      if (run.task_id) task = instance.queue.get(run.task_id);
      if (run.acknowledged) {
        ASSERT_TRUE(task && task->lifecycle == "SUCCESS") << "a SUCCESS the client saw was lost";
      }
      bool success = task && task->lifecycle == "SUCCESS";
      auto info = instance.engine.find(kind.database);
      const std::vector<uint8_t>& restored = full ? image_at_full_ : image_at_log_;
      if (full) {
        // An interrupted full restore leaves nothing; a completed one the whole image.
        if (success) {
          ASSERT_TRUE(info);
          EXPECT_EQ(info->state,
                    recover ? engine::DatabaseState::kOnline : engine::DatabaseState::kRestoring);
          EXPECT_EQ(image_problem(instance, *info, restored), "");
        } else {
          EXPECT_FALSE(info) << "an unfinished full restore left the database behind ("
                             << (info ? engine::state_name(info->state) : "") << ")";
          ++absent;
        }
      } else {
        ASSERT_TRUE(info) << "a roll-forward removed the database";
        if (info->state == engine::DatabaseState::kOnline) {
          ++online;
          EXPECT_TRUE(recover);
          EXPECT_EQ(image_problem(instance, *info, restored), "");
          EXPECT_TRUE(success) << "the database is ONLINE but its task ended "
                               << (task ? task->lifecycle : "-") << ": "
                               << (task ? last_info_line(*task) : "");
        } else if (info->restore_damaged) {
          ++damaged;
          EXPECT_FALSE(success);
        } else {
          // Not marked damaged: the roll-forward did not touch the file, or completed WITH NORECOVERY.
          auto image = file_image(*info);
          bool before = compare_images(image, image_at_full_).empty() && info->restore_lsn == rolling_lsn_;
          bool after = compare_images(image, image_at_log_).empty() && info->restore_lsn != rolling_lsn_;
          if (after) {
            ++rolled_forward;
            EXPECT_FALSE(recover);
            EXPECT_TRUE(success) << "the log was applied but its task ended "
                                 << (task ? task->lifecycle : "-") << ": "
                                 << (task ? last_info_line(*task) : "");
          } else {
            EXPECT_TRUE(before) << "a RESTORING database not marked damaged was changed";
            ++unchanged;
          }
        }
      }
      // The next restore works.
      QuietControl control;
      if (info && info->state == engine::DatabaseState::kOnline) instance.engine.drop_database(kind.database);
      if (info && info->state == engine::DatabaseState::kRestoring)
        instance.engine.drop_restoring(kind.database);
      backup::RestoreRequest again;
      again.database = kind.database;
      again.arn = TestInstance::arn("full.bak");
      again.bucket = kBucket;
      again.key = "full.bak";
      backup::run_restore(again, instance.env, control);
      EXPECT_EQ(image_problem(instance, *instance.engine.find(kind.database), image_at_full_), "");
    }
    fs::remove_all(survived);
    if (HasFailure()) return;
  }
  std::printf(
      "restores: %d power cuts; full restores left nothing %d times; roll-forwards: ONLINE %d, damaged %d, "
      "untouched %d, rolled forward (NORECOVERY) %d; %d unsynced writes or names dropped, %d writes torn\n",
      rounds - 4, absent, online, damaged, unchanged, rolled_forward, dropped_, torn_);
}

}  // namespace
}  // namespace bakrest::power
