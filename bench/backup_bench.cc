// Full backup and restore throughput through the real engine, format and local object store.
//
//   build/bench/backup_bench [megabytes=256] [directory=/tmp]
//
// Builds a database of about the given size (rows of random and of repetitive data, half each), backs it up
// without and with compression, restores each backup, and prints MB/s and the peak resident memory. A
// restore includes the quick_check a database passes before it goes ONLINE (engine/integrity.h); that check
// and the fuller integrity_check are then timed alone on the restored file.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "backup/jobs.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/sqlite.h"
#include "engine/engine.h"
#include "engine/integrity.h"
#include "instance/msdb.h"
#include "storage/local_store.h"

namespace {

using namespace bakrest;

class NoControl : public JobControl {
 public:
  void progress(int, const std::string&) override {}
  bool cancel_requested() const override { return false; }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  int megabytes = argc > 1 ? std::atoi(argv[1]) : 256;
  std::filesystem::path root =
      std::filesystem::path(argc > 2 ? argv[2] : "/tmp") / ("backup-bench-" + random_hex(4));
  std::filesystem::create_directories(root);
  {
    instance::Msdb msdb(root / "msdb.db");
    engine::Engine engine(root / "databases", msdb);
    storage::LocalStore store(root / "store");
    store.create_bucket("bench", "us-east-1");
    instance::Config config;
    config.instance_id = "bench";
    backup::Environment env{engine, store, msdb, config, 0};
    NoControl control;

    engine.create_database("source");
    {
      auto c = engine.connect("source");
      c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)");
      int rows = megabytes * 1024 / 4;  // ~4 KiB a row
      std::string sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                        std::to_string(rows) +
                        ") INSERT INTO t SELECT i, CASE WHEN i % 2 = 0 THEN randomblob(4000) "
                        "ELSE CAST(printf('%.4000c', 'a' || (i % 26)) AS BLOB) END FROM n";
      c->db().exec(sql);
    }
    engine.checkpoint_all(0);
    uint64_t bytes = engine.snapshot("source")->page_count() * 4096;
    std::printf("database: %.1f MiB (%s)\n", static_cast<double>(bytes) / 1048576.0, root.c_str());

    for (bool compress : {false, true}) {
      std::string key = compress ? "zstd.bak" : "plain.bak";
      auto start = std::chrono::steady_clock::now();
      backup::run_full_backup(
          {1, random_guid(), "source", "arn:aws:s3:::bench/" + key, "bench", key, true, compress}, env,
          control);
      double backup_seconds = seconds_since(start);
      uint64_t stored = store.open("bench", key)->size();

      std::string name = compress ? "restored_zstd" : "restored_plain";
      start = std::chrono::steady_clock::now();
      backup::RestoreRequest request;
      request.task_id = 2;
      request.database = name;
      request.arn = "arn:aws:s3:::bench/" + key;
      request.bucket = "bench";
      request.key = key;
      backup::run_full_restore(request, env, control);
      double restore_seconds = seconds_since(start);
      std::printf("%-5s backup %7.1f MB/s  restore %7.1f MB/s  object %.1f MiB (%.2fx)\n",
                  compress ? "zstd" : "none", static_cast<double>(bytes) / 1e6 / backup_seconds,
                  static_cast<double>(bytes) / 1e6 / restore_seconds, static_cast<double>(stored) / 1048576.0,
                  static_cast<double>(bytes) / static_cast<double>(stored));
    }
    // The same restore WITH NORECOVERY: the database stays RESTORING, so it is not checked.
    {
      auto start = std::chrono::steady_clock::now();
      backup::RestoreRequest request;
      request.task_id = 3;
      request.database = "restored_unchecked";
      request.arn = "arn:aws:s3:::bench/plain.bak";
      request.bucket = "bench";
      request.key = "plain.bak";
      request.recover = false;
      backup::run_full_restore(request, env, control);
      double seconds = seconds_since(start);
      std::printf("none  restore WITH NORECOVERY (no check) %7.1f MB/s\n",
                  static_cast<double>(bytes) / 1e6 / seconds);
    }
    auto restored = engine.find("restored_plain")->file;
    auto start = std::chrono::steady_clock::now();
    auto problems = engine::quick_check(restored);
    double quick = seconds_since(start);
    start = std::chrono::steady_clock::now();
    {
      sqlite::Database db(sqlite::file_uri(restored, "immutable=1"), SQLITE_OPEN_READONLY);
      auto check = db.prepare("PRAGMA integrity_check");
      while (check.step()) {
      }
    }
    double full = seconds_since(start);
    std::printf("quick_check %.2f s (%.0f MB/s, %s), integrity_check %.2f s (%.0f MB/s)\n", quick,
                static_cast<double>(bytes) / 1e6 / quick, problems.empty() ? "ok" : "PROBLEMS", full,
                static_cast<double>(bytes) / 1e6 / full);
    std::printf("peak resident memory: %ld MiB\n", peak_rss_mib());
  }
  std::filesystem::remove_all(root);
  return 0;
}
