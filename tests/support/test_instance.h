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
#include <vector>

#include "backup/jobs.h"
#include "common/job_control.h"
#include "engine/engine.h"
#include "instance/config.h"
#include "instance/msdb.h"
#include "procs/procedures.h"
#include "storage/local_store.h"
#include "support/default_access.h"
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
  DefaultAccess access;
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

// The backup under key in the instance's bucket (nullopt if none). Throws if what is there is not a whole,
// valid backup.
std::optional<Guid> whole_backup(storage::ObjectStore& store, const std::string& key);
// The temporary files the local store holds under root (uploads in progress, or left by a crash).
std::vector<std::string> temporary_files(const std::filesystem::path& root);

// An ONLINE database's image as SQLite sees it.
std::vector<uint8_t> online_image(TestInstance& instance, const std::string& name);

// What build_chain_template() made, for the tests that start from it.
struct ChainTemplate {
  Guid full_id{};                       // full.bak's backup id
  std::vector<uint8_t> image_at_full;   // src as full.bak holds it
  std::vector<uint8_t> image_at_log;    // src as full.bak and log.trn hold it
  std::optional<uint64_t> rolling_lsn;  // the redo point of "rolling" before the log
};
// In the instance at root: database src with a full backup (full.bak) and, after more changes, a log
// backup (log.trn); "rolling" restored from full.bak WITH NORECOVERY, ready for the log.
ChainTemplate build_chain_template(const std::filesystem::path& root);

}  // namespace bakrest::testing
