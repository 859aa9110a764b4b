// What capturing every commit into the transaction log costs small transactions: single-row INSERTs, each
// its own commit, into a WAL database with synchronous=FULL (one fsync of the WAL per commit), once through
// bakrest's capture VFS with the database's log registered and once on SQLite's default VFS with no log.
// Both use the engine's connection settings. Each run starts after a sync() (the previous run's deleted
// files cost nothing inside it) and the capture side's time includes flushing its log to disk at the end.
// After a short warm-up, runs alternate (plain first, then capture first) so that drifts of the machine hit
// both alike. Prints commits/s and CPU time per commit for each run, and the overhead of capture from the
// medians and from each side's best run.
// Usage: log_capture_bench [commits per run, default 5000] [directory, default .] [runs per side, default 5]
//                          [plain|capture: run only that side, e.g. under perf]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "engine/capture_vfs.h"
#include "engine/database_log.h"
#include "engine/engine.h"

namespace {

using namespace bakrest;
namespace fs = std::filesystem;

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Result {
  double commits_per_second;
  double cpu_us_per_commit;  // this process's user + system time
};

// `commits` single-row INSERT transactions into a new database in dir.
Result run(const fs::path& dir, int commits, bool capture) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path file = dir / "bench.db";
  {
    sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);");
  }
  std::shared_ptr<engine::DatabaseLog> log;
  std::optional<engine::CaptureRegistration> registration;
  if (capture) {
    log = std::make_shared<engine::DatabaseLog>(file, engine::log_dir_for(file), 1);
    registration.emplace(log);
  }
  sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      capture ? engine::capture_vfs_name() : nullptr);
  engine::configure_connection(db, nullptr);
  auto insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  std::string value(100, 'x');
  // The previous run's files were just deleted; their blocks are freed (and discarded) now, not during
  // the timed part of this run.
  ::sync();
  auto start = std::chrono::steady_clock::now();
  double cpu_start = cpu_seconds();
  for (int i = 0; i < commits; ++i) {
    value[i % value.size()] = static_cast<char>('a' + i % 26);
    insert.bind(1, value);
    insert.run();
    insert.reset();
  }
  // The log's pages must reach the disk too, sooner or later: the timed part includes writing them.
  if (log) log->flush();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  double cpu = cpu_seconds() - cpu_start;
  if (log && log->last_lsn() != static_cast<uint64_t>(commits)) {
    std::fprintf(stderr, "the log holds %llu records for %d commits\n",
                 static_cast<unsigned long long>(log->last_lsn()), commits);
    std::exit(1);
  }
  return {commits / took.count(), cpu / commits * 1e6};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int commits = argc > 1 ? std::atoi(argv[1]) : 5000;
  fs::path base = argc > 2 ? fs::path(argv[2]) : fs::current_path();
  int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  fs::path dir = base / ("log_capture_bench." + std::to_string(::getpid()));
  if (argc > 4) {
    // One side alone, for a profiler: log_capture_bench N DIR RUNS plain|capture
    bool capture = std::string(argv[4]) == "capture";
    for (int i = 0; i < runs; ++i) {
      Result r = run(dir, commits, capture);
      std::printf("%-8s %7.0f commits/s %6.1f us CPU/commit\n", argv[4], r.commits_per_second,
                  r.cpu_us_per_commit);
    }
    fs::remove_all(dir);
    return 0;
  }
  std::vector<double> plain, captured, plain_cpu, captured_cpu, pair_overheads;
  std::printf("%d single-row INSERT commits per run, synchronous=FULL, in %s\n", commits, base.c_str());
  // The first runs on a cold disk are slow for either side; they are not counted.
  run(dir, commits / 10, false);
  run(dir, commits / 10, true);
  for (int i = 0; i < runs; ++i) {
    bool capture_first = i % 2 == 1;
    for (bool capture : {capture_first, !capture_first}) {
      Result r = run(dir, commits, capture);
      (capture ? captured : plain).push_back(r.commits_per_second);
      (capture ? captured_cpu : plain_cpu).push_back(r.cpu_us_per_commit);
      std::printf("run %d %-8s %7.0f commits/s %6.1f us CPU/commit\n", i + 1, capture ? "capture" : "plain",
                  r.commits_per_second, r.cpu_us_per_commit);
      std::fflush(stdout);
    }
    pair_overheads.push_back((plain.back() / captured.back() - 1) * 100);
  }
  fs::remove_all(dir);
  double p = median(plain), c = median(captured);
  std::printf(
      "median: plain %.0f commits/s, capture %.0f commits/s: overhead %.1f%% (median of the runs' own "
      "overheads %.1f%%)\n",
      p, c, (p / c - 1) * 100, median(pair_overheads));
  std::printf("median CPU: plain %.1f us/commit, capture %.1f us/commit\n", median(plain_cpu),
              median(captured_cpu));
  // Other load only ever slows a run down, so each side's best run is the closest to its own cost.
  double best_plain = *std::max_element(plain.begin(), plain.end());
  double best_captured = *std::max_element(captured.begin(), captured.end());
  std::printf("best: plain %.0f commits/s, capture %.0f commits/s: overhead %.1f%%\n", best_plain,
              best_captured, (best_plain / best_captured - 1) * 100);
}
