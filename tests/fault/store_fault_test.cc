// Storage faults during backups and restores, one at a time: every call a backup or restore task makes
// through common/file_io.h (the local store's create, write, fsync, mkdir, rename, link, directory fsync,
// unlink; the restore's page writes and syncs; the changed-page file; the reads) is failed in turn, and then:
// the task ends ERROR with a task_info that names the file and the error (no internal text), no partial
// object is visible under the key, no temporary file is left once the store is opened again, a failed
// restore leaves no database (or, rolling forward, one marked damaged), and the next backup and restore
// work. A failure the task can do without (removing a temporary name, writing the changed-page file, which
// the next log flush writes again) may end SUCCESS; its backup must then be whole and under its key.
// BAKREST_FAULT_LIST=1 prints every injected failure and what the task said; BAKREST_FAULT_ALL=1 goes on
// after a failing case.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "backup/object_stream.h"
#include "format/backup_file.h"
#include "power/power_support.h"
#include "power/simulated_disk.h"
#include "support/faulty_file_system.h"
#include "support/test_instance.h"
#include "tasks/task_types.h"
#include "temp_dir.h"

namespace bakrest::fault {
namespace {

namespace fs = std::filesystem;
using bakrest::power::SimulatedDisk;
using bakrest::testing::kBucket;
using bakrest::testing::last_info_line;
using bakrest::testing::QuietControl;
using bakrest::testing::TestInstance;
using Call = FaultyFileSystem::Call;

using bakrest::testing::temporary_files;
using bakrest::testing::whole_backup;

// A call of a task, as the fault to inject: the n-th call of its kind.
struct Fault {
  Call call;
  int n;
  std::string what;  // the kind and the file, with generated names replaced, for messages
};

// What a call concerns, without the run's directory and generated names (temporary files, database files).
std::string file_class(const std::string& path, const fs::path& root) {
  std::string p = path;
  if (p.starts_with(root.string())) p = p.substr(root.string().size());
  p = std::regex_replace(p, std::regex("[0-9]+-[0-9]+-[0-9a-f]+\\.part"), "<temporary>");
  p = std::regex_replace(p, std::regex("[0-9a-f]{16,}"), "<id>");
  return p;
}

// One fault per kind of call and file the trace shows (the first and the last of each, for repeated ones).
std::vector<Fault> faults_of(const std::vector<FaultyFileSystem::Event>& trace, const fs::path& root) {
  std::map<Call, int> count;
  std::map<std::string, std::pair<int, int>> seen;  // class -> first and last n
  std::map<std::string, Call> calls;
  for (const auto& e : trace) {
    int n = ++count[e.call];
    std::string key = std::string(call_name(e.call)) + " " + file_class(e.path, root);
    auto [it, fresh] = seen.try_emplace(key, n, n);
    if (!fresh) it->second.second = n;
    calls[key] = e.call;
  }
  std::vector<Fault> faults;
  for (const auto& [key, range] : seen) {
    faults.push_back({calls[key], range.first, key});
    if (range.second != range.first) faults.push_back({calls[key], range.second, key + " (last)"});
  }
  return faults;
}

// The task_info a failed task ends with names the file and says what went wrong, in words.
void expect_clear_error(const std::string& line, const FaultyFileSystem::Event& failed, int error) {
  EXPECT_NE(line.find(std::strerror(error)), std::string::npos) << "the error is not said: " << line;
  fs::path path = failed.path;
  bool names_file = !failed.path.empty() && (line.find(failed.path) != std::string::npos ||
                                             line.find(path.filename().string()) != std::string::npos);
  EXPECT_TRUE(names_file) << "the file (" << failed.path << ") is not named: " << line;
  for (const char* garbage : {"std::", "filesystem error", "basic_string", "what()", "errno"})
    EXPECT_EQ(line.find(garbage), std::string::npos) << "internal text in: " << line;
}

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directory(template_);
    SimulatedDisk quiet(template_);  // no power cut: spares the real fsyncs
    testing::ChainTemplate made = testing::build_chain_template(template_);
    full_id_ = made.full_id;
    image_at_full_ = std::move(made.image_at_full);
    image_at_log_ = std::move(made.image_at_log);
  }

  struct Run {
    tasks::TaskRecord task;
    std::optional<FaultyFileSystem::Event> failed;
    std::vector<FaultyFileSystem::Event> trace;
  };
  // Runs one task on a fresh copy of the template (at root) with the fault injected, if any.
  Run run(const fs::path& root, const std::function<int64_t(TestInstance&)>& submit,
          std::optional<Fault> fault) {
    fs::remove_all(root);
    power::copy_tree(template_, root);
    SimulatedDisk quiet(root);
    TestInstance instance(root);
    FaultyFileSystem faults;
    if (fault) faults.fail(fault->call, fault->n, kError);
    int64_t id = submit(instance);
    Run r{instance.wait(id), faults.failed(), faults.events()};
    return r;
  }

  // After a fault: the store opened again leaves no temporary file, and a backup and its restore work.
  void expect_next_backup_and_restore_work(const fs::path& root) {
    SimulatedDisk quiet(root);
    TestInstance instance(root);
    EXPECT_EQ(temporary_files(root), std::vector<std::string>{})
        << "temporary files outlived reopening the store";
    auto backup = instance.wait(instance.submit_backup(tasks::kBackupDb, "src", "after.bak", true));
    ASSERT_EQ(backup.lifecycle, "SUCCESS") << last_info_line(backup);
    if (instance.engine.find("after")) instance.engine.drop_database("after");
    auto restore = instance.wait(instance.submit_restore(tasks::kRestoreDb, "after", "after.bak"));
    ASSERT_EQ(restore.lifecycle, "SUCCESS") << last_info_line(restore);
    EXPECT_EQ(online_image(instance, "after"), online_image(instance, "src"));
  }

  static constexpr int kError = EIO;
  testing::TempDir dir_{power::scratch_base()};
  fs::path template_ = dir_.path() / "template";
  Guid full_id_{};
  std::vector<uint8_t> image_at_full_, image_at_log_;
};

struct BackupCase {
  const char* type;
  const char* key;
  bool overwrite;
};

TEST_F(StoreFaultTest, EveryFailedCallOfABackupFailsItCleanly) {
  const BackupCase cases[] = {
      {tasks::kBackupDb, "full.bak", true},              // over an existing object: rename
      {tasks::kBackupDb, "new/folder/full.bak", false},  // new folders and link
      {tasks::kBackupLog, "log2.trn", false},
  };
  int injected = 0, tolerated = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.type) + " to " + c.key);
    fs::path root = dir_.path() / "run";
    auto submit = [&](TestInstance& i) { return i.submit_backup(c.type, "src", c.key, c.overwrite); };
    Run trace = run(root, submit, std::nullopt);
    ASSERT_EQ(trace.task.lifecycle, "SUCCESS") << last_info_line(trace.task);
    for (const Fault& fault : faults_of(trace.trace, root)) {
      SCOPED_TRACE("failing " + fault.what);
      Run r = run(root, submit, fault);
      ASSERT_TRUE(r.failed) << "the call was not made again: the task's calls are not deterministic";
      ++injected;
      {
        SimulatedDisk quiet(root);
        TestInstance instance(root, false);
        std::optional<Guid> found;
        try {
          found = whole_backup(instance.store, c.key);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "a partial object is visible under " << c.key << ": " << e.what();
        }
        Guid ours = guid_from_string(r.task.parameters.value("backup_id", "")).value_or(Guid{});
        if (std::getenv("BAKREST_FAULT_LIST"))
          std::printf("  %s: %s %s\n", fault.what.c_str(), r.task.lifecycle.c_str(),
                      last_info_line(r.task).c_str());
        if (r.task.lifecycle == "SUCCESS") {
          ++tolerated;  // a failure the store can do without (removing a temporary name, say)
          EXPECT_TRUE(found && *found == ours);
        } else {
          EXPECT_EQ(r.task.lifecycle, "ERROR");
          expect_clear_error(last_info_line(r.task), *r.failed, kError);
          // Nothing of this backup under the key: the previous object, or none.
          if (found) {
            EXPECT_TRUE(c.overwrite && *found == full_id_) << "the failed backup's object is visible";
          }
          bool recorded = instance.msdb.with([&](sqlite::Database& db) {
            auto s = db.prepare("SELECT 1 FROM backupset WHERE task_id = ?");
            s.bind(1, r.task.task_id);
            return s.step();
          });
          EXPECT_FALSE(recorded) << "the failed backup is in msdb's backup history";
        }
      }
      expect_next_backup_and_restore_work(root);
      if (HasFailure() && !std::getenv("BAKREST_FAULT_ALL")) return;
    }
  }
  std::printf("backups: %d calls failed one at a time; %d of them the task could do without\n", injected,
              tolerated);
}

struct RestoreCase {
  const char* type;
  const char* database;
  const char* key;
};

TEST_F(StoreFaultTest, EveryFailedCallOfARestoreFailsItCleanly) {
  const RestoreCase cases[] = {
      {tasks::kRestoreDb, "fresh", "full.bak"},
      {tasks::kRestoreDbLog, "rolling", "log.trn"},
  };
  int injected = 0, tolerated = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.type) + " of " + c.key);
    fs::path root = dir_.path() / "run";
    auto submit = [&](TestInstance& i) { return i.submit_restore(c.type, c.database, c.key); };
    Run trace = run(root, submit, std::nullopt);
    ASSERT_EQ(trace.task.lifecycle, "SUCCESS") << last_info_line(trace.task);
    bool full = tasks::is_full_restore(c.type);
    for (const Fault& fault : faults_of(trace.trace, root)) {
      SCOPED_TRACE("failing " + fault.what);
      Run r = run(root, submit, fault);
      ASSERT_TRUE(r.failed) << "the call was not made again: the task's calls are not deterministic";
      ++injected;
      {
        SimulatedDisk quiet(root);
        TestInstance instance(root, false);
        auto info = instance.engine.find(c.database);
        if (std::getenv("BAKREST_FAULT_LIST"))
          std::printf("  %s: %s %s\n", fault.what.c_str(), r.task.lifecycle.c_str(),
                      last_info_line(r.task).c_str());
        if (r.task.lifecycle == "SUCCESS") {
          ++tolerated;
          ASSERT_TRUE(info && info->state == engine::DatabaseState::kOnline);
          EXPECT_EQ(power::compare_images(online_image(instance, c.database),
                                          full ? image_at_full_ : image_at_log_),
                    "");
        } else {
          EXPECT_EQ(r.task.lifecycle, "ERROR");
          expect_clear_error(last_info_line(r.task), *r.failed, kError);
          if (full) {
            EXPECT_FALSE(info) << "a failed full restore left the database behind";
          } else {
            // A failed roll-forward leaves the database RESTORING: untouched, or marked damaged.
            ASSERT_TRUE(info);
            EXPECT_EQ(info->state, engine::DatabaseState::kRestoring);
            if (!info->restore_damaged) {
              EXPECT_EQ(power::compare_images(power::read_file(info->file), image_at_full_), "");
            }
          }
        }
        // The next restore works: what a failed one left is dropped first.
        if (info && info->state == engine::DatabaseState::kRestoring)
          instance.engine.drop_restoring(c.database);
        if (info && info->state == engine::DatabaseState::kOnline) instance.engine.drop_database(c.database);
        QuietControl control;
        backup::RestoreRequest again;
        again.database = c.database;
        again.arn = TestInstance::arn("full.bak");
        again.bucket = kBucket;
        again.key = "full.bak";
        again.login = "admin";
        backup::run_restore(again, instance.env, control);
        EXPECT_EQ(power::compare_images(online_image(instance, c.database), image_at_full_), "");
      }
      if (HasFailure() && !std::getenv("BAKREST_FAULT_ALL")) return;
    }
  }
  std::printf("restores: %d calls failed one at a time; %d of them the task could do without\n", injected,
              tolerated);
}

}  // namespace
}  // namespace bakrest::fault
