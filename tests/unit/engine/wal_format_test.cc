#include "engine/wal_format.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace bakrest::engine::wal {
namespace {

// pread_full reads database files, WALs and log segments alike; a read error names the file.
TEST(WalFormat, ReadErrorsNameTheFile) {
  testing::TempDir dir;
  int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);  // reading a directory fails: EISDIR
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> out(16);
  try {
    pread_full(fd, out, 0);
    ADD_FAILURE() << "reading a directory succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "reading " + dir.path().string() + " failed: Is a directory");
  }
  ::close(fd);
}

}  // namespace
}  // namespace bakrest::engine::wal
