// The storage-fault tests' main. They run on simulated disks that never lose power, which spares real
// fsyncs; for SQLite's files that takes the simulated VFS as SQLite's default before anything opens a
// database (tests/power/simulated_vfs.h).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "power/simulated_vfs.h"

int main(int argc, char** argv) {
  bakrest::power::register_simulated_vfs();
  // Every injected failure is logged by the product too; BAKREST_TEST_LOG=1 shows them.
  if (!std::getenv("BAKREST_TEST_LOG")) spdlog::set_level(spdlog::level::off);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
