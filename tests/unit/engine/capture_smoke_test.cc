// The capture path end to end through the engine: every commit becomes one log record with the next LSN.
#include <gtest/gtest.h>

#include "engine/database_log.h"
#include "engine/engine.h"
#include "temp_dir.h"

namespace bakrest::engine {
namespace {

TEST(CaptureSmoke, CommitsBecomeRecords) {
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  Engine engine{dir.path() / "databases", msdb};
  engine.create_database("d");
  uint64_t start = engine.last_lsn("d");
  {
    auto c = engine.connect("d");
    c->db().exec("CREATE TABLE t (x INTEGER)");
    for (int i = 0; i < 10; ++i) c->db().exec("INSERT INTO t VALUES (" + std::to_string(i) + ")");
    c->db().exec("BEGIN; INSERT INTO t VALUES (99); ROLLBACK;");
  }
  EXPECT_EQ(engine.last_lsn("d"), start + 11);
}

}  // namespace
}  // namespace bakrest::engine
