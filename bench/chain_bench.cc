// Differential and log backups against a full backup, and log restore speed, through the real engine,
// format and local object store.
//
//   build/bench/chain_bench [megabytes=1024] [directory=/tmp]
//
// Builds a database of about the given size (one ~3.8 KB row per 4 KiB page), takes a full backup, changes
// 1% of the rows, and compares a differential backup with a second full backup: time, pages read (the
// differential reads only pages it writes), pages written, and how many pages really differ. Then it
// writes more log, backs it up, and restores full + log with and without STOPAT.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "backup/jobs.h"
#include "common/clock.h"
#include "common/ids.h"
#include "engine/engine.h"
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

struct Bench {
  engine::Engine& engine;
  storage::LocalStore& store;
  backup::Environment& env;
  NoControl control;

  double backup(backup::BackupKind kind, const std::string& key) {
    backup::BackupRequest r;
    r.task_id = 1;
    r.backup_id = random_guid();
    r.database = "source";
    r.arn = "arn:aws:s3:::bench/" + key;
    r.bucket = "bench";
    r.key = key;
    r.kind = kind;
    auto start = std::chrono::steady_clock::now();
    backup::run_backup(r, env, control);
    return seconds_since(start);
  }
  double restore(backup::RestoreKind kind, const std::string& key, const std::string& db, bool recover,
                 std::optional<int64_t> stopat = {}) {
    backup::RestoreRequest r;
    r.task_id = 2;
    r.database = db;
    r.arn = "arn:aws:s3:::bench/" + key;
    r.bucket = "bench";
    r.key = key;
    r.kind = kind;
    r.recover = recover;
    r.stopat_us = stopat;
    auto start = std::chrono::steady_clock::now();
    backup::run_restore(r, env, control);
    return seconds_since(start);
  }
  uint64_t size(const std::string& key) { return store.open("bench", key)->size(); }
};

// Every page of the database's current image.
std::vector<std::vector<uint8_t>> image(engine::Engine& engine) {
  auto snapshot = engine.snapshot("source");
  std::vector<std::vector<uint8_t>> pages(snapshot->page_count(),
                                          std::vector<uint8_t>(snapshot->page_size()));
  for (uint64_t p = 1; p <= snapshot->page_count(); ++p) snapshot->read_page(p, pages[p - 1]);
  return pages;
}

}  // namespace

int main(int argc, char** argv) {
  int megabytes = argc > 1 ? std::atoi(argv[1]) : 1024;
  std::filesystem::path root =
      std::filesystem::path(argc > 2 ? argv[2] : "/tmp") / ("chain-bench-" + random_hex(4));
  std::filesystem::create_directories(root);
  {
    instance::Msdb msdb(root / "msdb.db");
    engine::Engine engine(root / "databases", msdb);
    storage::LocalStore store(root / "store");
    store.create_bucket("bench", "us-east-1");
    instance::Config config;
    config.instance_id = "bench";
    backup::Environment env{engine, store, msdb, config, 0};
    Bench bench{engine, store, env, {}};

    engine.create_database("source");
    int64_t rows = static_cast<int64_t>(megabytes) * 1024 * 1024 / 4096;
    {
      auto c = engine.connect("source");
      c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)");
      for (int64_t done = 0; done < rows; done += 10000) {
        c->db().exec("WITH RECURSIVE n(i) AS (SELECT " + std::to_string(done + 1) +
                     " UNION ALL SELECT i + 1 FROM n WHERE i < " +
                     std::to_string(std::min(rows, done + 10000)) +
                     ") INSERT INTO t SELECT i, randomblob(3800) FROM n");
        engine.checkpoint_all(0);
      }
    }
    std::printf("database: %lld rows, %d MiB\n", static_cast<long long>(rows), megabytes);

    double full1 = bench.backup(backup::BackupKind::kFull, "full1.bak");
    auto before = image(engine);
    {
      auto c = engine.connect("source");
      c->db().exec("UPDATE t SET data = randomblob(3800) WHERE id % 100 = 7");
    }
    auto after = image(engine);
    uint64_t differing = 0;
    for (size_t i = 0; i < after.size(); ++i) differing += i >= before.size() || before[i] != after[i];
    before.clear();
    after.clear();
    double diff = bench.backup(backup::BackupKind::kDifferential, "diff.bak");
    double full2 = bench.backup(backup::BackupKind::kFull, "full2.bak");
    uint64_t page_bytes = 4096 + 4;
    uint64_t diff_pages = (bench.size("diff.bak") > 4096 ? bench.size("diff.bak") : 0) / page_bytes;
    std::printf("full backup:         %7.3f s, %llu bytes (second full %.3f s)\n", full1,
                static_cast<unsigned long long>(bench.size("full1.bak")), full2);
    std::printf(
        "differential (1%%):   %7.3f s, %llu bytes, ~%llu pages read and written, %llu pages differ "
        "-> %.2f%% of the full backup's time\n",
        diff, static_cast<unsigned long long>(bench.size("diff.bak")),
        static_cast<unsigned long long>(diff_pages), static_cast<unsigned long long>(differing),
        100.0 * diff / full2);

    // Log: 20 transactions each rewriting 0.5% of the rows, with a remembered time in the middle.
    int64_t middle = 0;
    {
      auto c = engine.connect("source");
      for (int i = 0; i < 20; ++i) {
        if (i == 10) middle = now_micros();
        c->db().exec("UPDATE t SET data = randomblob(3800) WHERE id % 200 = " + std::to_string(i));
        engine.checkpoint_all(0);
      }
    }
    double log_backup = bench.backup(backup::BackupKind::kLog, "log.trn");
    uint64_t log_bytes = bench.size("log.trn");
    double r_full = bench.restore(backup::RestoreKind::kFull, "full2.bak", "copy", false);
    double r_log = bench.restore(backup::RestoreKind::kLog, "log.trn", "copy", true);
    bench.restore(backup::RestoreKind::kFull, "full2.bak", "pitr", false);
    double r_stopat = bench.restore(backup::RestoreKind::kLog, "log.trn", "pitr", true, middle);
    std::printf("log backup:          %7.3f s, %.1f MiB of log\n", log_backup, log_bytes / 1048576.0);
    std::printf("full restore:        %7.3f s (NORECOVERY)\n", r_full);
    std::printf("log restore:         %7.3f s, %.1f MB/s of log (verify pass + apply pass)\n", r_log,
                log_bytes / 1e6 / r_log);
    std::printf("STOPAT log restore:  %7.3f s (stops after 10 of 20 transactions)\n", r_stopat);
    std::printf("log backup:          %7.1f MB/s of log (20 large transactions)\n",
                log_bytes / 1e6 / log_backup);

    // Log of many small transactions, as an OLTP database writes it: each commit one row.
    constexpr int kSmall = 5000;
    {
      auto c = engine.connect("source");
      for (int i = 0; i < kSmall; ++i)
        c->db().exec("UPDATE t SET data = randomblob(3800) WHERE id = " + std::to_string(1 + i * 7 % rows));
    }
    double small_backup = bench.backup(backup::BackupKind::kLog, "small.trn");
    uint64_t small_bytes = bench.size("small.trn");
    bench.restore(backup::RestoreKind::kFull, "full2.bak", "copy2", false);
    bench.restore(backup::RestoreKind::kLog, "log.trn", "copy2", false);
    double r_small = bench.restore(backup::RestoreKind::kLog, "small.trn", "copy2", true);
    std::printf("log backup:          %7.3f s, %.1f MiB of log, %.1f MB/s (%d one-row transactions)\n",
                small_backup, small_bytes / 1048576.0, small_bytes / 1e6 / small_backup, kSmall);
    std::printf("log restore:         %7.3f s, %.1f MB/s of log (%d one-row transactions)\n", r_small,
                small_bytes / 1e6 / r_small, kSmall);
  }
  std::filesystem::remove_all(root);
}
