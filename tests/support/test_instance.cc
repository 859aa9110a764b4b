#include "support/test_instance.h"

#include <thread>

#include "tasks/task_types.h"

namespace bakrest::testing {

namespace fs = std::filesystem;

TestInstance::TestInstance(const fs::path& root, bool start_workers)
    : msdb(root / "msdb.db"),
      store(root / "store"),
      engine(root / "databases", msdb),
      queue(msdb),
      context{engine, queue, store, msdb, config},
      env{engine, store, msdb, config, 0} {
  if (!store.bucket_region(kBucket)) store.create_bucket(kBucket, config.region);
  procs::install_task_runners(context, 0);
  if (start_workers) queue.start();
}

TestInstance::~TestInstance() = default;

int64_t TestInstance::submit_backup(const std::string& type, const std::string& database,
                                    const std::string& key, bool overwrite) {
  return queue.submit(tasks::NewTask{type,
                                     database,
                                     arn(key),
                                     overwrite ? 1 : 0,
                                     std::nullopt,
                                     "admin",
                                     {{"bucket", kBucket}, {"key", key}, {"compress", false}}});
}

int64_t TestInstance::submit_restore(const std::string& type, const std::string& database,
                                     const std::string& key) {
  return queue.submit(tasks::NewTask{
      type, database, arn(key), std::nullopt, std::nullopt, "admin", {{"bucket", kBucket}, {"key", key}}});
}

tasks::TaskRecord TestInstance::wait(int64_t task_id, const std::function<bool()>& stop,
                                     std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto task = queue.get(task_id);
    if (!task) throw std::runtime_error("task " + std::to_string(task_id) + " does not exist");
    bool ended = task->lifecycle == "SUCCESS" || task->lifecycle == "ERROR" || task->lifecycle == "CANCELLED";
    if (ended || (stop && stop())) return *task;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("task " + std::to_string(task_id) + " is still " + task->lifecycle);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int64_t TestInstance::scalar(const std::string& database, const std::string& sql) {
  auto connection = engine.connect(database);
  auto s = connection->db().prepare(sql);
  if (!s.step()) throw std::runtime_error("no row: " + sql);
  return s.get_int(0);
}

std::string last_info_line(const tasks::TaskRecord& task) {
  std::string info = task.task_info;
  size_t nl = info.rfind('\n');
  std::string line = nl == std::string::npos ? info : info.substr(nl + 1);
  // "[2024-01-01 00:00:00] text"
  if (line.starts_with("[")) {
    size_t close = line.find("] ");
    if (close != std::string::npos) line = line.substr(close + 2);
  }
  return line;
}

}  // namespace bakrest::testing
