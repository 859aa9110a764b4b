#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/error.h"
#include "engine/database_name.h"
#include "temp_dir.h"

namespace bakrest::engine {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  Engine engine{dir.path() / "databases", msdb};

  // Copies a snapshot page by page into a new database through a restore target, as a backup and
  // restore would.
  void copy_through_restore(PageSnapshot& snapshot, const std::string& name,
                            const Guid& guid = random_guid()) {
    auto target = engine.begin_restore(name, guid, random_guid(), snapshot.page_size());
    std::vector<uint8_t> page(snapshot.page_size());
    for (uint64_t pgno = 1; pgno <= snapshot.page_count(); ++pgno) {
      snapshot.read_page(pgno, page);
      target->write_page(pgno, page);
    }
    target->finish(true, snapshot.lsn() + 1, Guid{}, "");
  }

  int64_t scalar(Connection& c, const std::string& sql) {
    auto s = c.db().prepare(sql);
    EXPECT_TRUE(s.step());
    return s.get_int(0);
  }
};

TEST_F(EngineTest, SystemDatabasesExistAndCannotBeDropped) {
  for (const char* name : {"master", "tempdb", "model", "msdb"}) {
    auto info = engine.find(name);
    ASSERT_TRUE(info) << name;
    EXPECT_TRUE(info->is_system);
  }
  try {
    engine.drop_database("master");
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 3708);
  }
}

TEST_F(EngineTest, CreateRejectsNamesDifferingOnlyByCaseOrAccent) {
  engine.create_database("Café");
  for (const char* name : {"café", "CAFE", "cafe"}) {
    try {
      engine.create_database(name);
      FAIL() << name;
    } catch (const SqlError& e) {
      EXPECT_EQ(e.message().number, 1801) << name;
    }
  }
}

TEST_F(EngineTest, NameRules) {
  EXPECT_TRUE(database_name_problem("rdsadminx"));
  EXPECT_TRUE(database_name_problem(" lead"));
  EXPECT_TRUE(database_name_problem("trail\t"));
  EXPECT_TRUE(database_name_problem("new\nline"));
  EXPECT_TRUE(database_name_problem("it's"));
  EXPECT_TRUE(database_name_problem(""));
  EXPECT_FALSE(database_name_problem("my database"));
  EXPECT_EQ(database_name_key("ÀÉÎõü_X"), "aeiou_x");
}

TEST_F(EngineTest, DropInUseFailsAndDropRemovesFiles) {
  auto info = engine.create_database("d1");
  {
    auto c = engine.connect("d1");
    try {
      engine.drop_database("d1");
      FAIL();
    } catch (const SqlError& e) {
      EXPECT_EQ(e.message().number, 3702);
    }
  }
  engine.drop_database("d1");
  EXPECT_FALSE(engine.find("d1"));
  EXPECT_FALSE(std::filesystem::exists(info.file));
}

TEST_F(EngineTest, SessionsCannotCheckpointOrLeaveWalMode) {
  engine.create_database("d1");
  auto c = engine.connect("d1");
  EXPECT_THROW(c->db().exec("PRAGMA wal_checkpoint"), sqlite::Error);
  EXPECT_THROW(c->db().exec("PRAGMA journal_mode=DELETE"), sqlite::Error);
  EXPECT_THROW(c->db().exec("ATTACH 'x.db' AS x"), sqlite::Error);
  c->db().exec("PRAGMA journal_mode");  // reading is allowed
}

TEST_F(EngineTest, SnapshotRestoresToIdenticalContent) {
  engine.create_database("src");
  {
    auto c = engine.connect("src");
    c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB, price REAL)");
    c->db().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
        "INSERT INTO t SELECT i, 'row ' || i, randomblob(i % 300), i * 1.5 FROM n");
  }
  auto snapshot = engine.snapshot("src");
  EXPECT_EQ(snapshot->page_size(), 4096u);
  EXPECT_GT(snapshot->page_count(), 10u);
  auto source = *engine.find("src");
  copy_through_restore(*snapshot, "copy", source.guid);
  snapshot.reset();
  // A restore keeps the database's identity and starts a new recovery fork.
  auto copy = *engine.find("copy");
  EXPECT_EQ(copy.guid, source.guid);
  EXPECT_NE(copy.fork_guid, source.fork_guid);

  auto c = engine.connect("copy");
  EXPECT_EQ(scalar(*c, "SELECT count(*) FROM t"), 5000);
  auto check = c->db().prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.get_text(0), "ok");
}

TEST_F(EngineTest, RestoringDatabaseIsInvisibleUntilFinished) {
  auto target = engine.begin_restore("r1", random_guid(), random_guid(), 4096);
  EXPECT_EQ(engine.find("r1")->state, DatabaseState::kRestoring);
  try {
    engine.connect("r1");
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 927);
  }
  try {
    engine.drop_database("r1");
    FAIL() << "a database being restored must not be dropped";
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 3702);
  }
  target.reset();  // abandoned: the database disappears
  EXPECT_FALSE(engine.find("r1"));
}

TEST_F(EngineTest, DatabaseIdsAreNeverReused) {
  auto first = engine.create_database("a");
  engine.drop_database("a");
  auto second = engine.create_database("b");
  EXPECT_GT(second.id, first.id);
  EXPECT_GE(first.id, 5);
}

// The snapshot must be one committed state even while a writer commits and the checkpointer runs.
TEST_F(EngineTest, SnapshotIsConsistentUnderConcurrentWrites) {
  engine.create_database("busy");
  {
    auto c = engine.connect("busy");
    c->db().exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE total (n INTEGER);"
        "INSERT INTO total VALUES (0);");
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{0};
  std::string writer_error;
  std::thread writer([&] {
    try {
      auto c = engine.connect("busy");
      for (int64_t i = 1; !stop; ++i) {
        c->db().exec(
            "BEGIN; INSERT INTO t (pad) VALUES (randomblob(700)); UPDATE total SET n = n + 1; COMMIT;");
        committed = i;
      }
    } catch (const std::exception& e) {
      writer_error = e.what();
      committed = 1 << 30;  // release the waits below
    }
  });
  for (int round = 0; round < 6; ++round) {
    while (committed < (round + 1) * 50) std::this_thread::yield();
    // Every other round starts right after a checkpoint, so the WAL restarts under the snapshot too.
    if (round % 2 == 1) engine.checkpoint_all(0);
    auto snapshot = engine.snapshot("busy");
    std::string name = "copy" + std::to_string(round);
    copy_through_restore(*snapshot, name);
    snapshot.reset();
    auto c = engine.connect(name);
    int64_t rows = scalar(*c, "SELECT count(*) FROM t");
    EXPECT_EQ(rows, scalar(*c, "SELECT n FROM total")) << "round " << round;
    EXPECT_GE(rows, (round + 1) * 50);
    auto check = c->db().prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check.step());
    EXPECT_EQ(check.get_text(0), "ok");
  }
  stop = true;
  writer.join();
  EXPECT_EQ(writer_error, "");
}

}  // namespace
}  // namespace bakrest::engine
