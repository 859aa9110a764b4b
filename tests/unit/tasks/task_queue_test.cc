#include "tasks/task_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/text.h"
#include "tasks/task_types.h"
#include "temp_dir.h"

namespace bakrest::tasks {
namespace {

using namespace std::chrono_literals;

class TaskQueueTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};

  static TaskRecord wait_for(TaskQueue& queue, int64_t id, const std::string& lifecycle) {
    for (int i = 0; i < 500; ++i) {
      auto t = queue.get(id);
      if (t && t->lifecycle == lifecycle) return *t;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "task " << id << " never reached " << lifecycle << ", it is "
                  << queue.get(id)->lifecycle;
    return *queue.get(id);
  }
};

TEST_F(TaskQueueTest, SuccessfulTaskRecordsProgressAndInfo) {
  TaskQueue queue(msdb);
  queue.set_runner("BACKUP_DB", [](const TaskRecord&, JobControl& control) {
    for (int p = 0; p <= 100; p += 10) control.progress(p);
  });
  queue.start();
  int64_t id = queue.submit({"BACKUP_DB", "db1", "arn:aws:s3:::b/k", 0, std::nullopt, "admin", {}});
  auto t = wait_for(queue, id, "SUCCESS");
  EXPECT_EQ(t.percent_complete, 100);
  EXPECT_NE(t.task_info.find("Task execution has started."), std::string::npos);
  EXPECT_NE(t.task_info.find("50 percent processed."), std::string::npos);
  EXPECT_NE(t.task_info.find("Task has been completed successfully."), std::string::npos);
  EXPECT_TRUE(t.started_at && t.finished_at);
}

TEST_F(TaskQueueTest, FailureBecomesErrorWithMessage) {
  TaskQueue queue(msdb);
  queue.set_runner("BACKUP_DB", [](const TaskRecord&, JobControl&) {
    throw std::runtime_error("The specified bucket does not exist");
  });
  queue.start();
  int64_t id = queue.submit({"BACKUP_DB", "db1", std::nullopt, 0, std::nullopt, "admin", {}});
  auto t = wait_for(queue, id, "ERROR");
  EXPECT_NE(t.task_info.find("The specified bucket does not exist"), std::string::npos);
}

TEST_F(TaskQueueTest, AtMostTwoRunAndTheRestWaitCreated) {
  TaskQueue queue(msdb);
  std::atomic<int> running{0}, peak{0};
  std::atomic<bool> release{false};
  queue.set_runner("BACKUP_DB", [&](const TaskRecord&, JobControl&) {
    int now = ++running;
    peak = std::max(peak.load(), now);
    while (!release) std::this_thread::sleep_for(5ms);
    --running;
  });
  queue.start();
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(
        queue.submit({"BACKUP_DB", "db" + std::to_string(i), std::nullopt, 0, std::nullopt, "a", {}}));
  wait_for(queue, ids[0], "IN_PROGRESS");
  wait_for(queue, ids[1], "IN_PROGRESS");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(ids[2])->lifecycle, "CREATED");
  EXPECT_EQ(queue.get(ids[3])->lifecycle, "CREATED");
  release = true;
  for (auto id : ids) wait_for(queue, id, "SUCCESS");
  EXPECT_EQ(peak, 2);
}

TEST_F(TaskQueueTest, CancelRunningAndWaitingTasks) {
  TaskQueue queue(msdb, 1);
  queue.set_runner("BACKUP_DB", [](const TaskRecord&, JobControl& control) {
    for (;;) {
      control.check_cancelled();
      std::this_thread::sleep_for(5ms);
    }
  });
  queue.start();
  int64_t running = queue.submit({"BACKUP_DB", "db", std::nullopt, 0, std::nullopt, "a", {}});
  int64_t waiting = queue.submit({"BACKUP_DB", "db", std::nullopt, 0, std::nullopt, "a", {}});
  wait_for(queue, running, "IN_PROGRESS");
  queue.cancel(waiting);
  EXPECT_EQ(queue.get(waiting)->lifecycle, "CANCELLED");
  queue.cancel(running);
  auto t = wait_for(queue, running, "CANCELLED");
  EXPECT_NE(t.task_info.find("Task has been aborted"), std::string::npos);
  EXPECT_THROW(queue.cancel(running), SqlError);  // already finished
  EXPECT_THROW(queue.cancel(999), SqlError);
}

TEST_F(TaskQueueTest, RestartEndsInterruptedTasksAsErrorAndCleansUp) {
  int64_t id;
  {
    TaskQueue queue(msdb);
    std::atomic<bool> started{false};
    queue.set_runner("RESTORE_DB", [&](const TaskRecord&, JobControl& control) {
      started = true;
      for (;;) {
        control.check_cancelled();
        std::this_thread::sleep_for(5ms);
      }
    });
    queue.start();
    id = queue.submit({"RESTORE_DB", "db", std::nullopt, std::nullopt, std::nullopt, "a", {}});
    while (!started) std::this_thread::sleep_for(5ms);
  }  // shutdown leaves it IN_PROGRESS, like a crash would
  EXPECT_EQ(TaskQueue(msdb).get(id)->lifecycle, "IN_PROGRESS");

  TaskQueue queue(msdb);
  std::vector<int64_t> cleaned;
  queue.recover_interrupted([&](const TaskRecord& t) {
    cleaned.push_back(t.task_id);
    return TaskQueue::Interrupted::kRemoved;
  });
  EXPECT_EQ(cleaned, std::vector<int64_t>{id});
  auto t = *queue.get(id);
  EXPECT_EQ(t.lifecycle, "ERROR");
  EXPECT_NE(t.task_info.find("The instance restarted"), std::string::npos);
}

TEST_F(TaskQueueTest, ListFiltersByDatabaseAndId) {
  TaskQueue queue(msdb);
  queue.set_runner("BACKUP_DB", [](const TaskRecord&, JobControl&) {});
  int64_t a = queue.submit({"BACKUP_DB", "Alpha", std::nullopt, 0, std::nullopt, "a", {}});
  queue.submit({"BACKUP_DB", "beta", std::nullopt, 0, std::nullopt, "a", {}});
  EXPECT_EQ(queue.list("alpha", std::nullopt).size(), 1u);
  EXPECT_EQ(queue.list(std::nullopt, a).size(), 1u);
  EXPECT_EQ(queue.list("beta", a).size(), 0u);
  EXPECT_EQ(queue.list(std::nullopt, std::nullopt).size(), 2u);
}

}  // namespace
}  // namespace bakrest::tasks

namespace bakrest::tasks {
namespace {

TEST_F(TaskQueueTest, RestartFinishesCompletedAndCancelRequestedTasksTruthfully) {
  int64_t completed, cancelling;
  {
    TaskQueue queue(msdb);  // never started: the tasks are only recorded
    queue.set_runner("RESTORE_DB", [](const TaskRecord&, JobControl&) {});
    completed = queue.submit({"RESTORE_DB", "a", std::nullopt, std::nullopt, std::nullopt, "x", {}});
    cancelling = queue.submit({"RESTORE_DB", "b", std::nullopt, std::nullopt, std::nullopt, "x", {}});
    // Mark both as the previous run would have left them, without running them.
    msdb.with([&](sqlite::Database& db) {
      db.prepare("UPDATE tasks SET lifecycle = 'IN_PROGRESS' WHERE task_id = ?").bind(1, completed).run();
      db.prepare("UPDATE tasks SET lifecycle = 'CANCEL_REQUESTED' WHERE task_id = ?")
          .bind(1, cancelling)
          .run();
    });
  }
  TaskQueue queue(msdb);
  queue.recover_interrupted([&](const TaskRecord& t) {
    return t.task_id == completed ? TaskQueue::Interrupted::kCompleted : TaskQueue::Interrupted::kRemoved;
  });
  EXPECT_EQ(queue.get(completed)->lifecycle, "SUCCESS");
  EXPECT_EQ(queue.get(completed)->percent_complete, 100);
  EXPECT_EQ(queue.get(cancelling)->lifecycle, "CANCELLED");
}

// Records when each task starts and lets a test release them one by one.
class Gate {
 public:
  void run(const TaskRecord& task) {
    std::unique_lock lock(mutex_);
    started_.push_back(task.task_id);
    std::string database = ascii_lower(task.database_name);
    max_running_[database] = std::max(max_running_[database], ++running_[database]);
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_.count(task.task_id) > 0; });
    --running_[database];
  }
  void release(int64_t id) {
    std::lock_guard lock(mutex_);
    released_.insert(id);
    changed_.notify_all();
  }
  // Waits until the tasks have started (in any order), or a few seconds.
  bool wait_started(std::initializer_list<int64_t> ids) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] {
      return std::all_of(ids.begin(), ids.end(),
                         [&](int64_t id) { return std::count(started_.begin(), started_.end(), id) > 0; });
    });
  }
  std::vector<int64_t> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }
  int max_running(const std::string& database) {
    std::lock_guard lock(mutex_);
    return max_running_[database];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int64_t> started_;
  std::set<int64_t> released_;
  std::map<std::string, int> running_, max_running_;
};

class TaskOrderTest : public TaskQueueTest {
 protected:
  TaskOrderTest() {
    for (const char* type : {kBackupDb, kBackupDbDifferential, kBackupLog, kRestoreDbNorecovery,
                             kRestoreDbLogNorecovery, kRestoreDbLog, kFinishRestore}) {
      queue.set_runner(type, [this](const TaskRecord& task, JobControl&) { gate.run(task); });
    }
  }
  ~TaskOrderTest() override {
    for (int64_t id = 1; id < 100; ++id) gate.release(id);
  }
  int64_t submit(const char* type, const std::string& database) {
    return queue.submit({type, database, std::nullopt, std::nullopt, std::nullopt, "admin", {}});
  }

  Gate gate;
  TaskQueue queue{msdb};
};

TEST_F(TaskOrderTest, RestoresOfOneDatabaseRunInOrderAndAloneWhileOtherDatabasesGoOn) {
  int64_t full = submit(kRestoreDbNorecovery, "chain");
  int64_t log = submit(kRestoreDbLogNorecovery, "Chain");  // the same database, spelled differently
  int64_t other = submit(kBackupDb, "other");
  int64_t finish = submit(kFinishRestore, "chain");
  queue.start();
  ASSERT_TRUE(gate.wait_started({full, other}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(log)->lifecycle, "CREATED");  // a worker is free, but the full restore runs
  gate.release(other);
  wait_for(queue, other, "SUCCESS");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(log)->lifecycle, "CREATED");
  gate.release(full);
  ASSERT_TRUE(gate.wait_started({log}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(finish)->lifecycle, "CREATED");
  gate.release(log);
  ASSERT_TRUE(gate.wait_started({finish}));
  gate.release(finish);
  wait_for(queue, finish, "SUCCESS");
  EXPECT_EQ(gate.started(), (std::vector<int64_t>{full, other, log, finish}));
  EXPECT_EQ(gate.max_running("chain"), 1);  // each ran alone
}

TEST_F(TaskOrderTest, BackupsAndRestoresOfOneDatabaseWaitForEachOtherInSubmissionOrder) {
  int64_t backup = submit(kBackupDb, "db");
  int64_t restore = submit(kRestoreDbLog, "db");
  int64_t later_backup = submit(kBackupLog, "db");
  int64_t elsewhere = submit(kBackupDb, "elsewhere");
  queue.start();
  // The restore waits for the running backup; the backup after it waits for the restore; another
  // database's backup takes the free worker.
  ASSERT_TRUE(gate.wait_started({backup, elsewhere}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(restore)->lifecycle, "CREATED");
  EXPECT_EQ(queue.get(later_backup)->lifecycle, "CREATED");
  gate.release(backup);
  ASSERT_TRUE(gate.wait_started({restore}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(later_backup)->lifecycle, "CREATED");
  gate.release(restore);
  ASSERT_TRUE(gate.wait_started({later_backup}));
  EXPECT_EQ(gate.max_running("db"), 1);
}

TEST_F(TaskOrderTest, CancellingAWaitingRestoreLetsTheTasksBehindItRun) {
  int64_t backup = submit(kBackupDb, "db");
  int64_t restore = submit(kRestoreDbLog, "db");
  int64_t log_backup = submit(kBackupLog, "db");
  queue.start();
  ASSERT_TRUE(gate.wait_started({backup}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(log_backup)->lifecycle, "CREATED");  // behind the restore
  queue.cancel(restore);
  // Now only the running backup is ahead of the log backup: it starts when that one ends.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(log_backup)->lifecycle, "CREATED");
  gate.release(backup);
  ASSERT_TRUE(gate.wait_started({log_backup}));
  EXPECT_EQ(gate.max_running("db"), 1);
}

TEST_F(TaskOrderTest, BackupsOfOneDatabaseRunOneAtATimeInSubmissionOrder) {
  int64_t full = submit(kBackupDb, "db");
  int64_t differential = submit(kBackupDbDifferential, "DB");
  int64_t log = submit(kBackupLog, "db");
  int64_t elsewhere = submit(kBackupDb, "elsewhere");
  queue.start();
  ASSERT_TRUE(gate.wait_started({full, elsewhere}));
  gate.release(elsewhere);
  wait_for(queue, elsewhere, "SUCCESS");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(differential)->lifecycle, "CREATED");  // a worker is free, but the full runs
  gate.release(full);
  ASSERT_TRUE(gate.wait_started({differential}));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(queue.get(log)->lifecycle, "CREATED");
  gate.release(differential);
  ASSERT_TRUE(gate.wait_started({log}));
  gate.release(log);
  wait_for(queue, log, "SUCCESS");
  // Two workers took full and elsewhere at once: either runner may note its start first.
  std::vector<int64_t> of_db = gate.started();
  std::erase(of_db, elsewhere);
  EXPECT_EQ(of_db, (std::vector<int64_t>{full, differential, log}));
  EXPECT_EQ(gate.max_running("db"), 1);
}

TEST_F(TaskOrderTest, PendingMatchesDatabaseNamesLikeTheCatalog) {
  int64_t a = submit(kRestoreDbNorecovery, "Café");
  submit(kBackupDb, "other");
  int64_t done = submit(kRestoreDbLog, "CAFE");
  queue.cancel(done);
  auto pending = queue.pending("cafe");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].task_id, a);
  EXPECT_EQ(queue.pending("CAFÉ").size(), 1u);
}

TEST_F(TaskOrderTest, FinishRestoreCannotBeCancelled) {
  int64_t id = submit(kFinishRestore, "db");
  try {
    queue.cancel(id);
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().text, "You can't cancel a FINISH_RESTORE task.");
  }
  EXPECT_EQ(queue.get(id)->lifecycle, "CREATED");
}

TEST_F(TaskQueueTest, RestartOfAStoppedRestoreSaysTheDatabaseStaysRestoring) {
  int64_t id;
  {
    TaskQueue previous(msdb);
    previous.set_runner(kRestoreDbLog, [](const TaskRecord&, JobControl&) {});
    id = previous.submit({kRestoreDbLog, "db", std::nullopt, std::nullopt, std::nullopt, "a", {}});
    msdb.with([&](sqlite::Database& db) {
      db.prepare("UPDATE tasks SET lifecycle = 'IN_PROGRESS' WHERE task_id = ?").bind(1, id).run();
    });
  }
  TaskQueue queue(msdb);
  queue.recover_interrupted([](const TaskRecord&) { return TaskQueue::Interrupted::kStopped; });
  auto t = *queue.get(id);
  EXPECT_EQ(t.lifecycle, "ERROR");
  EXPECT_NE(t.task_info.find("the task was stopped before it completed. The database stays RESTORING"),
            std::string::npos);
}

}  // namespace
}  // namespace bakrest::tasks
