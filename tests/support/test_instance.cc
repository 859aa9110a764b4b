#include "support/test_instance.h"

#include "backup/object_stream.h"
#include "format/backup_file.h"
#include "power/power_support.h"

#include <thread>

#include "tasks/task_types.h"

namespace bakrest::testing {

namespace fs = std::filesystem;

TestInstance::TestInstance(const fs::path& root, bool start_workers)
    : msdb(root / "msdb.db"),
      store(root / "store"),
      engine(root / "databases", msdb),
      queue(msdb),
      access(msdb, config),
      context{engine, queue, store, msdb, config, access.option_groups, nullptr, nullptr},
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

// The backup under key (nullopt if none). Throws if what is there is not a whole, valid backup.
std::optional<Guid> whole_backup(storage::ObjectStore& store, const std::string& key) {
  if (!store.exists(kBucket, key)) return std::nullopt;
  auto object = store.open(kBucket, key);
  backup::ObjectSource source(*object);
  format::BackupReader reader(source);
  std::vector<uint8_t> buffer(64 * 1024);
  while (reader.read(buffer) > 0) {
  }
  return reader.header().backup_id;
}

std::vector<std::string> temporary_files(const std::filesystem::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root / "store" / kBucket / "tmp", ec))
    names.push_back(e.path());
  return names;
}

std::vector<uint8_t> online_image(TestInstance& instance, const std::string& name) {
  auto connection = instance.engine.connect(name);
  return power::serialize(connection->db());
}

ChainTemplate build_chain_template(const std::filesystem::path& root) {
  ChainTemplate out;
  TestInstance instance(root, false);
  instance.engine.create_database("src");
  {
    auto c = instance.engine.connect("src");
    c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    c->db().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
        "INSERT INTO t SELECT i, randomblob(800) FROM n");
  }
  QuietControl control;
  backup::BackupRequest full{0,
                             random_guid(),
                             "src",
                             TestInstance::arn("full.bak"),
                             kBucket,
                             "full.bak",
                             true,
                             false,
                             backup::BackupKind::kFull,
                             {},
                             {},
                             ""};
  backup::run_backup(full, instance.env, control);
  out.full_id = full.backup_id;
  out.image_at_full = online_image(instance, "src");
  {
    auto c = instance.engine.connect("src");
    c->db().exec("UPDATE t SET b = randomblob(900) WHERE id % 3 = 0");
    c->db().exec("INSERT INTO t SELECT id + 1000, randomblob(700) FROM t WHERE id <= 60");
  }
  backup::BackupRequest log{0,
                            random_guid(),
                            "src",
                            TestInstance::arn("log.trn"),
                            kBucket,
                            "log.trn",
                            true,
                            false,
                            backup::BackupKind::kLog,
                            {},
                            {},
                            ""};
  backup::run_backup(log, instance.env, control);
  out.image_at_log = online_image(instance, "src");
  backup::RestoreRequest rolling;
  rolling.database = "rolling";
  rolling.arn = TestInstance::arn("full.bak");
  rolling.bucket = kBucket;
  rolling.key = "full.bak";
  rolling.recover = false;
  rolling.login = "admin";
  backup::run_restore(rolling, instance.env, control);
  out.rolling_lsn = instance.engine.find("rolling")->restore_lsn;
  return out;
}

}  // namespace bakrest::testing
