// The power-loss tests' main: the simulated VFS must be SQLite's default before anything opens a database,
// so that bakrest's capture VFS wraps it (simulated_vfs.h says why).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "power/simulated_vfs.h"

int main(int argc, char** argv) {
  bakrest::power::register_simulated_vfs();
  // After a power cut every write fails and the product logs each failure; BAKREST_TEST_LOG=1 shows them.
  if (!std::getenv("BAKREST_TEST_LOG")) spdlog::set_level(spdlog::level::off);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
