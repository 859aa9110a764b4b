// An instance's parts, started in the order `bakrest serve` starts them (src/cli/serve.cc): msdb, the local
// object store (which removes temporary files a crash left), the engine (which recovers the transaction log
// of every ONLINE database), and the task queue with the real task runners, whose installation ends the
// tasks a restart interrupted (procs::install_task_runners). For the power-loss and storage-fault tests,
// which restart instances on what a power cut or a failed call left behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "backup/jobs.h"
#include "common/job_control.h"
#include "engine/engine.h"
#include "instance/config.h"
#include "instance/msdb.h"
#include "procs/procedures.h"
#include "storage/local_store.h"
#include "tasks/task_queue.h"

namespace bakrest::testing {

inline constexpr const char* kBucket = "aws_example_bucket";

class TestInstance {
 public:
  // root holds msdb.db, databases/ and store/. start_workers: the queue runs tasks (else it only recovers).
  explicit TestInstance(const std::filesystem::path& root, bool start_workers = true);
  ~TestInstance();
  TestInstance(const TestInstance&) = delete;
  TestInstance& operator=(const TestInstance&) = delete;

  instance::Config config;
  instance::Msdb msdb;
  storage::LocalStore store;
  engine::Engine engine;
  tasks::TaskQueue queue;
  procs::Context context;
  backup::Environment env;

  static std::string arn(const std::string& key) {
    return std::string("arn:aws:s3:::") + kBucket + "/" + key;
  }
  // Submits a task the way the procedures do (rds_backup_database, rds_restore_database, rds_restore_log).
  int64_t submit_backup(const std::string& type, const std::string& database, const std::string& key,
                        bool overwrite);
  int64_t submit_restore(const std::string& type, const std::string& database, const std::string& key);
  // Waits until the task ends (SUCCESS, ERROR, CANCELLED) or until stop() says so; returns it as it is then.
  tasks::TaskRecord wait(int64_t task_id, const std::function<bool()>& stop = nullptr,
                         std::chrono::seconds timeout = std::chrono::seconds(60));
  // A query's single integer result in a database.
  int64_t scalar(const std::string& database, const std::string& sql);
};

// A job control that never cancels, for running jobs directly.
class QuietControl : public JobControl {
 public:
  void progress(int, const std::string&) override {}
  bool cancel_requested() const override { return false; }
};

// The last line of a task's task_info without its timestamp: what the task ended with.
std::string last_info_line(const tasks::TaskRecord& task);

}  // namespace bakrest::testing
