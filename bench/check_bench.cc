// The check a restore runs before ONLINE (engine/integrity.h), alone, on a database file already on disk.
//
//   build/bench/check_bench FILE [rounds=3]
//
// Prints the seconds of each round of quick_check as a restore runs it (the scan VFS).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "engine/integrity.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: check_bench FILE [rounds]\n");
    return 2;
  }
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  for (int i = 0; i < rounds; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto problems = bakrest::engine::quick_check(argv[1]);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("quick_check: %.2f s (%s)\n", seconds, problems.empty() ? "ok" : problems.front().c_str());
  }
  return 0;
}
