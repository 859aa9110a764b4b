// Full backup and restore throughput through the real engine, format and local object store.
//
//   build/bench/backup_bench [megabytes=256] [directory=/tmp] [mixed|text]
//
// Builds a database of about the given size (mixed: rows of random and of repetitive data, half each; text:
// rows of hexadecimal text, which zstd halves), backs it up without and with compression and restores each
// backup, and prints MB/s and the peak resident memory. Compressed backups and restores run with one zstd
// thread and with the default pool (backup::Environment::zstd_threads), interleaved, three times each. A
// restore includes the quick_check a database passes before it goes ONLINE (engine/integrity.h); that check
// and the fuller integrity_check are then timed alone on the restored file, each through SQLite's default VFS
// and through the scan VFS the restore uses (engine/scan_vfs.h).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "backup/jobs.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/sqlite.h"
#include "engine/engine.h"
#include "engine/integrity.h"
#include "engine/scan_vfs.h"
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

// Sorts each thread count's three timings and prints the median's throughput.
void print_medians(const char* what, std::map<unsigned, std::vector<double>>& runs, uint64_t bytes) {
  for (auto& [n, seconds] : runs) {
    std::sort(seconds.begin(), seconds.end());
    std::printf("%s, %u thread%s: %7.1f MB/s (median of 3: %.2f %.2f %.2f s)\n", what, n, n == 1 ? "" : "s",
                static_cast<double>(bytes) / 1e6 / seconds[1], seconds[0], seconds[1], seconds[2]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int megabytes = argc > 1 ? std::atoi(argv[1]) : 256;
  std::string shape = argc > 3 ? argv[3] : "mixed";
  if (shape != "mixed" && shape != "text") {
    std::fprintf(stderr, "usage: backup_bench [megabytes] [directory] [mixed|text]\n");
    return 2;
  }
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
      // mixed: half random blobs, half runs of one letter (zstd skips the one and flies through the other);
      // text: hexadecimal text of random bytes, which zstd halves with real work, as it does real rows.
      std::string values = shape == "text" ? "CAST(hex(randomblob(2000)) AS BLOB)"
                                           : "CASE WHEN i % 2 = 0 THEN randomblob(4000) "
                                             "ELSE CAST(printf('%.4000c', 'a' || (i % 26)) AS BLOB) END";
      std::string sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                        std::to_string(rows) + ") INSERT INTO t SELECT i, " + values + " FROM n";
      c->db().exec(sql);
    }
    engine.checkpoint_all(0);
    uint64_t bytes = engine.snapshot("source")->page_count() * 4096;
    std::printf("database: %.1f MiB of %s rows (%s)\n", static_cast<double>(bytes) / 1048576.0, shape.c_str(),
                root.c_str());

    const unsigned threads = backup::Environment::default_zstd_threads();
    for (bool compress : {false, true}) {
      std::string key = compress ? "zstd.bak" : "plain.bak";
      // Backups with one writer thread and with the default pool, interleaved over three rounds.
      std::map<unsigned, std::vector<double>> runs;
      for (int round = 0; round < 3; ++round) {
        // Uncompressed backups never use the pool (backup/backup_jobs.cc): once is enough.
        for (unsigned n : compress ? std::vector<unsigned>{1u, threads} : std::vector<unsigned>{1u}) {
          env.zstd_threads = n;
          auto start = std::chrono::steady_clock::now();
          backup::BackupRequest request;
          request.task_id = 1;
          request.backup_id = random_guid();
          request.database = "source";
          request.arn = "arn:aws:s3:::bench/" + key;
          request.bucket = "bench";
          request.key = key;
          request.overwrite = true;
          request.compress = compress;
          backup::run_full_backup(request, env, control);
          runs[n].push_back(seconds_since(start));
        }
      }
      print_medians(compress ? "zstd  backup" : "none  backup", runs, bytes);
      double backup_seconds = runs.rbegin()->second[1];
      uint64_t stored = store.open("bench", key)->size();

      // Restores the same way: one thread and the pool, interleaved (the pool only reads compressed backups).
      std::string name = compress ? "restored_zstd" : "restored_plain";
      std::map<unsigned, std::vector<double>> restores;
      const std::vector<unsigned> counts =
          compress ? std::vector<unsigned>{1u, threads} : std::vector<unsigned>{1u};
      for (int round = 0; round < 3; ++round) {
        for (unsigned n : counts) {
          env.zstd_threads = n;
          auto start = std::chrono::steady_clock::now();
          backup::RestoreRequest request;
          request.task_id = 2;
          // The last restore keeps the plain name: the checks below open it.
          bool last = round == 2 && n == counts.back();
          request.database = last ? name : name + std::to_string(round) + "_" + std::to_string(n);
          request.arn = "arn:aws:s3:::bench/" + key;
          request.bucket = "bench";
          request.key = key;
          backup::run_full_restore(request, env, control);
          restores[n].push_back(seconds_since(start));
        }
      }
      print_medians(compress ? "zstd  restore" : "none  restore", restores, bytes);
      double restore_seconds = restores.rbegin()->second[1];
      std::printf("%-5s backup %7.1f MB/s (%u threads)  restore %7.1f MB/s  object %.1f MiB (%.2fx)\n",
                  compress ? "zstd" : "none", static_cast<double>(bytes) / 1e6 / backup_seconds,
                  runs.rbegin()->first, static_cast<double>(bytes) / 1e6 / restore_seconds,
                  static_cast<double>(stored) / 1048576.0,
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
    std::printf("quick_check as a restore runs it (scan VFS): %.2f s (%.0f MB/s, %s)\n", quick,
                static_cast<double>(bytes) / 1e6 / quick, problems.empty() ? "ok" : "PROBLEMS");
    // The same pragmas through SQLite's default VFS (a pread per page) and the scan VFS (1 MiB windows).
    for (const char* pragma : {"quick_check", "integrity_check"}) {
      for (const char* vfs : {static_cast<const char*>(nullptr), engine::scan_vfs_name()}) {
        start = std::chrono::steady_clock::now();
        {
          sqlite::Database db(sqlite::file_uri(restored, "immutable=1"), SQLITE_OPEN_READONLY, vfs);
          auto check = db.prepare(std::string("PRAGMA ") + pragma);
          while (check.step()) {
          }
        }
        double seconds = seconds_since(start);
        std::printf("%s, %s VFS: %.2f s (%.0f MB/s)\n", pragma, vfs ? "scan" : "default", seconds,
                    static_cast<double>(bytes) / 1e6 / seconds);
      }
    }
    std::printf("peak resident memory: %ld MiB\n", peak_rss_mib());
  }
  std::filesystem::remove_all(root);
  return 0;
}
