// The durable task queue behind the RDS procedures (DESIGN.md §5): tasks live in msdb.tasks, two workers
// run them oldest first, the rest wait as CREATED. Tasks of one database run one at a time in submission
// order; tasks of different databases never wait for each other. Lifecycle:
//   CREATED -> IN_PROGRESS -> SUCCESS | ERROR | CANCEL_REQUESTED -> CANCELLED, and CREATED -> CANCELLED.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/job_control.h"
#include "instance/msdb.h"

namespace bakrest::tasks {

struct TaskRecord {
  int64_t task_id = 0;
  std::string task_type;  // BACKUP_DB, RESTORE_DB, ...
  std::string database_name;
  int percent_complete = 0;
  std::string lifecycle;
  std::string task_info;
  int64_t last_updated = 0;  // unix micros
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  std::optional<std::string> s3_object_arn;
  std::optional<int64_t> overwrite_s3_backup_file;
  std::optional<std::string> kms_master_key_arn;
  std::string login;
  nlohmann::json parameters;  // what the runner needs beyond the columns

  // Whole minutes the task has been running (or ran), as rds_task_status shows it.
  int64_t duration_minutes(int64_t now) const;
};

struct NewTask {
  std::string task_type;
  std::string database_name;
  std::optional<std::string> s3_object_arn;
  std::optional<int64_t> overwrite_s3_backup_file;
  std::optional<std::string> kms_master_key_arn;
  std::string login;
  nlohmann::json parameters = nlohmann::json::object();
};

// Runs one task. Reports progress through control; throws to fail the task (what() becomes task_info),
// JobCancelled when it stopped because cancellation was requested.
using Runner = std::function<void(const TaskRecord& task, JobControl& control)>;

class TaskQueue {
 public:
  explicit TaskQueue(instance::Msdb& msdb, int workers = 2);
  ~TaskQueue();  // stops the workers; running tasks are left IN_PROGRESS for recover_interrupted()
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  void set_runner(const std::string& task_type, Runner runner);

  // What a task interrupted by a restart turned out to have done: its partial output was removed
  // (kRemoved), it had completed (kCompleted), or it stopped part-way and what it worked on stays as the
  // restart left it (kStopped: a differential or log restore, FINISH_RESTORE).
  enum class Interrupted { kRemoved, kCompleted, kStopped };
  struct Settled {
    Settled(Interrupted outcome, std::string note = {}) : outcome(outcome), note(std::move(note)) {}
    Interrupted outcome;
    std::string note;  // a task_info line before the closing one, if not empty
  };

  // At startup, before start(): for every task left IN_PROGRESS or CANCEL_REQUESTED by the previous run,
  // cleanup(task) cleans up and says what the task had done. The task then ends SUCCESS (kCompleted),
  // CANCELLED if cancellation had been requested, or else ERROR saying the instance restarted.
  void recover_interrupted(const std::function<Settled(const TaskRecord&)>& cleanup);
  void start();

  int64_t submit(const NewTask& task);
  // Records more of what a running task needs to be cleaned up after (merged into its parameters).
  void add_parameters(int64_t task_id, const nlohmann::json& parameters);
  // Throws SqlError when the task does not exist or has already finished.
  void cancel(int64_t task_id);

  std::optional<TaskRecord> get(int64_t task_id);
  // Tasks newest last, filtered by database (case-insensitive) and/or id when given.
  std::vector<TaskRecord> list(const std::optional<std::string>& database, std::optional<int64_t> task_id);
  // The database's tasks that are CREATED, IN_PROGRESS or CANCEL_REQUESTED, oldest first. Database names
  // compare like database names do (case and Latin accents ignored).
  std::vector<TaskRecord> pending(const std::string& database);

 private:
  class Control;
  void worker_loop();
  // Waits for a task and runs it; false when the queue is stopping.
  bool run_one();
  std::optional<TaskRecord> claim_next();
  void finish(int64_t task_id, const std::string& lifecycle, const std::string& info_line, bool complete);
  void append_info(int64_t task_id, const std::string& line, std::optional<int> percent);

  instance::Msdb& msdb_;
  int worker_count_;
  std::map<std::string, Runner> runners_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<int64_t, std::shared_ptr<std::atomic<bool>>> cancel_flags_;  // running tasks
  std::vector<std::thread> workers_;
};

}  // namespace bakrest::tasks
