#include "tasks/task_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/error.h"
#include "engine/database_name.h"
#include "tasks/task_types.h"

namespace bakrest::tasks {

namespace {

constexpr const char* kColumns =
    "task_id, task_type, database_name, percent_complete, lifecycle, task_info, last_updated, created_at, "
    "started_at, finished_at, s3_object_arn, overwrite_s3_backup_file, kms_master_key_arn, login, parameters "
    "FROM tasks";

std::optional<int64_t> optional_time(const sqlite::Statement& s, int column) {
  if (s.is_null(column)) return std::nullopt;
  return parse_datetime(s.get_text(column));
}

TaskRecord read_task(const sqlite::Statement& s) {
  TaskRecord t;
  t.task_id = s.get_int(0);
  t.task_type = s.get_text(1);
  t.database_name = s.get_text(2);
  t.percent_complete = static_cast<int>(s.get_int(3));
  t.lifecycle = s.get_text(4);
  t.task_info = s.get_text(5);
  t.last_updated = parse_datetime(s.get_text(6)).value_or(0);
  t.created_at = parse_datetime(s.get_text(7)).value_or(0);
  t.started_at = optional_time(s, 8);
  t.finished_at = optional_time(s, 9);
  t.s3_object_arn = s.get_optional_text(10);
  if (!s.is_null(11)) t.overwrite_s3_backup_file = s.get_int(11);
  t.kms_master_key_arn = s.get_optional_text(12);
  t.login = s.get_text(13);
  t.parameters = nlohmann::json::parse(s.get_text(14), nullptr, false);
  if (t.parameters.is_discarded()) t.parameters = nlohmann::json::object();
  return t;
}

// task_info reads like RDS's: one timestamped line per event.
std::string info_line(const std::string& text) {
  return "[" + format_datetime(now_micros()).substr(0, 19) + "] " + text;
}

}  // namespace

int64_t TaskRecord::duration_minutes(int64_t now) const {
  if (!started_at) return 0;
  int64_t end = finished_at.value_or(now);
  return end > *started_at ? (end - *started_at) / 60'000'000 : 0;
}

// Progress from a running job: throttled writes to msdb, percent lines every 5%, the cancel flag.
class TaskQueue::Control : public JobControl {
 public:
  Control(TaskQueue& queue, int64_t task_id, std::shared_ptr<std::atomic<bool>> cancel)
      : queue_(queue), task_id_(task_id), cancel_(std::move(cancel)) {}

  void progress(int percent, const std::string& info) override {
    percent = std::clamp(percent, 0, 100);
    int64_t now = now_micros();
    std::string line = info;
    if (line.empty() && percent / 5 > last_reported_ / 5)
      line = std::to_string(percent / 5 * 5) + " percent processed.";
    if (line.empty() && percent == last_written_percent_) return;
    // Percent alone is written at most a few times a second; task_info lines always are.
    if (line.empty() && now - last_write_ < 250'000) return;
    if (percent / 5 > last_reported_ / 5) last_reported_ = percent;
    queue_.append_info(task_id_, line, percent);
    last_write_ = now;
    last_written_percent_ = percent;
  }
  bool cancel_requested() const override { return cancel_->load(); }

 private:
  TaskQueue& queue_;
  int64_t task_id_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  int last_reported_ = 0;
  int last_written_percent_ = 0;
  int64_t last_write_ = 0;
};

TaskQueue::TaskQueue(instance::Msdb& msdb, int workers) : msdb_(msdb), worker_count_(workers) {}

TaskQueue::~TaskQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [id, flag] : cancel_flags_) flag->store(true);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void TaskQueue::set_runner(const std::string& task_type, Runner runner) {
  runners_[task_type] = std::move(runner);
}

void TaskQueue::recover_interrupted(const std::function<Settled(const TaskRecord&)>& cleanup) {
  auto interrupted = msdb_.with([](sqlite::Database& db) {
    std::vector<TaskRecord> out;
    auto s = db.prepare(std::string("SELECT ") + kColumns +
                        " WHERE lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') ORDER BY task_id");
    while (s.step()) out.push_back(read_task(s));
    return out;
  });
  for (const auto& task : interrupted) {
    Interrupted outcome = Interrupted::kRemoved;
    try {
      Settled settled = cleanup(task);
      outcome = settled.outcome;
      if (!settled.note.empty()) append_info(task.task_id, settled.note, std::nullopt);
    } catch (const std::exception& e) {
      spdlog::error("cleaning up interrupted task {}: {}", task.task_id, e.what());
    }
    if (outcome == Interrupted::kCompleted) {
      finish(task.task_id, "SUCCESS", "The task had completed when the instance restarted.", true);
    } else if (task.lifecycle == "CANCEL_REQUESTED") {
      finish(task.task_id, "CANCELLED", "Task has been aborted", false);
    } else if (outcome == Interrupted::kStopped) {
      finish(task.task_id, "ERROR",
             "The instance restarted while the task was running; the task was stopped before it completed. "
             "The database stays RESTORING (marked damaged if the restore had begun writing pages: then only "
             "a new full restore can follow).",
             false);
    } else {
      finish(task.task_id, "ERROR",
             "The instance restarted while the task was running; the task was stopped and its partial output "
             "removed. Reissue the task.",
             false);
    }
    spdlog::warn("task {} ({} of '{}') was interrupted by a restart", task.task_id, task.task_type,
                 task.database_name);
  }
}

void TaskQueue::add_parameters(int64_t task_id, const nlohmann::json& parameters) {
  auto task = get(task_id);
  if (!task) return;
  task->parameters.update(parameters);
  msdb_.with([&](sqlite::Database& db) {
    db.prepare("UPDATE tasks SET parameters = ? WHERE task_id = ?")
        .bind(1, task->parameters.dump())
        .bind(2, task_id)
        .run();
  });
}

void TaskQueue::start() {
  for (int i = 0; i < worker_count_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

int64_t TaskQueue::submit(const NewTask& task) {
  if (!runners_.count(task.task_type)) throw std::logic_error("no runner for task type " + task.task_type);
  std::string now = format_datetime(now_micros());
  int64_t id = msdb_.with([&](sqlite::Database& db) {
    db.prepare(
          "INSERT INTO tasks (task_type, database_name, percent_complete, lifecycle, task_info, "
          "last_updated, "
          "created_at, s3_object_arn, overwrite_s3_backup_file, kms_master_key_arn, login, parameters) "
          "VALUES (?, ?, 0, 'CREATED', '', ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, task.task_type)
        .bind(2, task.database_name)
        .bind(3, now)
        .bind(4, now)
        .bind(5, task.s3_object_arn)
        .bind(6, task.overwrite_s3_backup_file ? Value(*task.overwrite_s3_backup_file) : Value())
        .bind(7, task.kms_master_key_arn)
        .bind(8, task.login)
        .bind(9, task.parameters.dump())
        .run();
    return db.last_insert_rowid();
  });
  wake_.notify_one();
  return id;
}

void TaskQueue::cancel(int64_t task_id) {
  std::lock_guard lock(mutex_);
  auto task = get(task_id);
  if (!task) throw procedure_error("Task " + std::to_string(task_id) + " does not exist.");
  if (task->task_type == "FINISH_RESTORE") throw procedure_error("You can't cancel a FINISH_RESTORE task.");
  if (task->lifecycle == "CREATED") {
    // Still waiting: no worker has it, so it ends here.
    finish(task_id, "CANCELLED", "Task has been aborted", false);
    wake_.notify_all();  // tasks of its database may have been waiting behind it
    return;
  }
  if (task->lifecycle == "IN_PROGRESS") {
    append_info(task_id, "Task cancellation requested.", std::nullopt);
    msdb_.with([&](sqlite::Database& db) {
      db.prepare("UPDATE tasks SET lifecycle = 'CANCEL_REQUESTED' WHERE task_id = ?").bind(1, task_id).run();
    });
    if (auto it = cancel_flags_.find(task_id); it != cancel_flags_.end()) it->second->store(true);
    return;
  }
  throw procedure_error("Task " + std::to_string(task_id) + " can't be cancelled: it is already " +
                        task->lifecycle + ".");
}

std::optional<TaskRecord> TaskQueue::get(int64_t task_id) {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<TaskRecord> {
    auto s = db.prepare(std::string("SELECT ") + kColumns + " WHERE task_id = ?");
    s.bind(1, task_id);
    if (!s.step()) return std::nullopt;
    return read_task(s);
  });
}

std::vector<TaskRecord> TaskQueue::list(const std::optional<std::string>& database,
                                        std::optional<int64_t> task_id) {
  return msdb_.with([&](sqlite::Database& db) {
    std::vector<TaskRecord> out;
    auto s =
        db.prepare(std::string("SELECT ") + kColumns +
                   " WHERE (?1 IS NULL OR database_name = ?1 COLLATE NOCASE) AND (?2 IS NULL OR task_id = ?2)"
                   " ORDER BY task_id");
    s.bind(1, database);
    s.bind(2, task_id ? Value(*task_id) : Value());
    while (s.step()) out.push_back(read_task(s));
    return out;
  });
}

std::vector<TaskRecord> TaskQueue::pending(const std::string& database) {
  std::string key = engine::database_name_key(database);
  return msdb_.with([&](sqlite::Database& db) {
    std::vector<TaskRecord> out;
    auto s =
        db.prepare(std::string("SELECT ") + kColumns +
                   " WHERE lifecycle IN ('CREATED', 'IN_PROGRESS', 'CANCEL_REQUESTED') ORDER BY task_id");
    while (s.step()) {
      TaskRecord task = read_task(s);
      if (engine::database_name_key(task.database_name) == key) out.push_back(std::move(task));
    }
    return out;
  });
}

std::optional<TaskRecord> TaskQueue::claim_next() {
  return msdb_.with([&](sqlite::Database& db) -> std::optional<TaskRecord> {
    // The unfinished tasks, oldest first: the first CREATED one that no running or earlier task of its
    // database holds back is next.
    auto s =
        db.prepare(std::string("SELECT ") + kColumns +
                   " WHERE lifecycle IN ('CREATED', 'IN_PROGRESS', 'CANCEL_REQUESTED') ORDER BY task_id");
    // Tasks of one database run one at a time, in submission order: a differential or log backup depends
    // on the full backup before it, and a restore chain on each earlier step.
    // Databases of running tasks and of CREATED tasks older than the candidate.
    std::vector<std::string> busy;
    std::optional<TaskRecord> next;
    std::vector<TaskRecord> unfinished;
    while (s.step()) unfinished.push_back(read_task(s));
    for (const auto& t : unfinished) {
      if (t.lifecycle != "CREATED") busy.push_back(engine::database_name_key(t.database_name));
    }
    for (auto& t : unfinished) {
      if (t.lifecycle != "CREATED") continue;
      std::string key = engine::database_name_key(t.database_name);
      if (std::find(busy.begin(), busy.end(), key) == busy.end()) {
        next = std::move(t);
        break;
      }
      busy.push_back(key);
    }
    if (!next) return std::nullopt;
    TaskRecord task = std::move(*next);
    std::string now = format_datetime(now_micros());
    std::string info = info_line("Task execution has started.");
    db.prepare(
          "UPDATE tasks SET lifecycle = 'IN_PROGRESS', started_at = ?, last_updated = ?, task_info = ? "
          "WHERE task_id = ?")
        .bind(1, now)
        .bind(2, now)
        .bind(3, info)
        .bind(4, task.task_id)
        .run();
    task.lifecycle = "IN_PROGRESS";
    task.started_at = parse_datetime(now);
    task.task_info = info;
    return task;
  });
}

void TaskQueue::append_info(int64_t task_id, const std::string& line, std::optional<int> percent) {
  msdb_.with([&](sqlite::Database& db) {
    db.prepare(
          "UPDATE tasks SET percent_complete = coalesce(?, percent_complete), last_updated = ?, "
          "task_info = CASE WHEN ? = '' THEN task_info WHEN task_info = '' THEN ? ELSE task_info || char(10) "
          "|| ? END "
          "WHERE task_id = ?")
        .bind(1, percent ? Value(int64_t{*percent}) : Value())
        .bind(2, format_datetime(now_micros()))
        .bind(3, line)
        .bind(4, line.empty() ? line : info_line(line))
        .bind(5, line.empty() ? line : info_line(line))
        .bind(6, task_id)
        .run();
  });
}

void TaskQueue::finish(int64_t task_id, const std::string& lifecycle, const std::string& line,
                       bool complete) {
  append_info(task_id, line, complete ? std::optional<int>(100) : std::nullopt);
  msdb_.with([&](sqlite::Database& db) {
    db.prepare("UPDATE tasks SET lifecycle = ?, finished_at = ?, last_updated = ? WHERE task_id = ?")
        .bind(1, lifecycle)
        .bind(2, format_datetime(now_micros()))
        .bind(3, format_datetime(now_micros()))
        .bind(4, task_id)
        .run();
  });
}

void TaskQueue::worker_loop() {
  for (;;) {
    try {
      if (!run_one()) return;
    } catch (const std::exception& e) {
      // msdb itself failed (disk full, I/O error): keep the worker alive and try again shortly.
      spdlog::error("task worker: {}", e.what());
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) return;
    }
  }
}

bool TaskQueue::run_one() {
  std::optional<TaskRecord> task;
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::seconds(1), [&] {
      if (stopping_) return true;
      task = claim_next();
      return task.has_value();
    });
    if (stopping_) return false;
    if (!task) return true;
    cancel = std::make_shared<std::atomic<bool>>(false);
    cancel_flags_[task->task_id] = cancel;
  }
  spdlog::info("task {} {} of '{}' started", task->task_id, task->task_type, task->database_name);
  Control control(*this, task->task_id, cancel);
  std::string lifecycle = "SUCCESS", line = "Task has been completed successfully.";
  try {
    runners_.at(task->task_type)(*task, control);
  } catch (const JobCancelled& e) {
    lifecycle = "CANCELLED";
    line = e.what();
  } catch (const std::exception& e) {
    lifecycle = "ERROR";
    line = e.what();
  }
  std::lock_guard lock(mutex_);
  cancel_flags_.erase(task->task_id);
  // Stopped by shutdown rather than by rds_cancel_task: it stays IN_PROGRESS, and the next start ends it
  // and cleans up after it. Every other outcome is recorded now.
  if (stopping_ && lifecycle == "CANCELLED" && get(task->task_id)->lifecycle != "CANCEL_REQUESTED")
    return false;
  finish(task->task_id, lifecycle, line, lifecycle == "SUCCESS");
  spdlog::info("task {} ended {}: {}", task->task_id, lifecycle, line);
  wake_.notify_all();  // tasks of the same database may have been waiting for this one
  return !stopping_;
}

}  // namespace bakrest::tasks
