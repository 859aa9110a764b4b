#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/sqlite_file.h"
#include "engine/database_name.h"
#include "support/faulty_file_system.h"
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

// SQLite never writes the page at byte 2^30 (its lock bytes), so a database past 1 GiB whose WAL has not
// been checkpointed past that point has the page neither in the WAL nor in its file. A backup read it as a
// missing page and failed ("not consistent") whenever it started before the checkpointer had caught up.
TEST_F(EngineTest, ASnapshotPastOneGibReadsTheLockBytePageAsZeros) {
  engine.create_database("big");
  engine.connect("big")->db().exec("CREATE TABLE t (b BLOB)");
  // A snapshot holds the checkpointer off the database (the file stays short) while the WAL passes 1 GiB.
  auto holder = engine.snapshot("big");
  engine.connect("big")->db().exec(
      "BEGIN; INSERT INTO t VALUES (zeroblob(550000000)); INSERT INTO t VALUES (zeroblob(550000000)); "
      "COMMIT;");
  auto snapshot = engine.snapshot("big");
  const uint64_t lock_page = sqlite_lock_byte_page(snapshot->page_size());
  ASSERT_GT(snapshot->page_count(), lock_page);
  std::vector<uint8_t> page(snapshot->page_size(), 0xAA);
  snapshot->read_page(lock_page, page);
  EXPECT_EQ(page, std::vector<uint8_t>(page.size(), 0));
  snapshot->read_page(lock_page + 1, page);  // the next one is in the WAL
  snapshot->read_page(snapshot->page_count(), page);
  // A run across the lock-byte page reads as the pages do one by one.
  std::vector<uint8_t> run(4 * page.size());
  snapshot->read_pages(lock_page - 1, run);
  for (uint64_t i = 0; i < 4; ++i) {
    snapshot->read_page(lock_page - 1 + i, page);
    EXPECT_TRUE(std::equal(page.begin(), page.end(), run.begin() + i * page.size())) << "page " << i;
  }
}

// A run of pages read at once is what reading them one by one gives, whether a page's image is in the
// database file or (newer) in the WAL.
TEST_F(EngineTest, ARunOfPagesReadsAsItsPagesDo) {
  engine.create_database("runs");
  {
    auto c = engine.connect("runs");
    c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    c->db().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO t SELECT i, randomblob(300) FROM n");
  }
  engine.checkpoint_all(0);
  // Some pages changed again after the checkpoint: their newest images are in the WAL.
  engine.connect("runs")->db().exec("UPDATE t SET b = randomblob(300) WHERE id % 97 = 0");
  auto snapshot = engine.snapshot("runs");
  const uint64_t pages = snapshot->page_count();
  const uint32_t size = snapshot->page_size();
  std::vector<uint8_t> all(pages * size), page(size);
  snapshot->read_pages(1, all);
  for (uint64_t pgno = 1; pgno <= pages; ++pgno) {
    snapshot->read_page(pgno, page);
    ASSERT_TRUE(std::equal(page.begin(), page.end(), all.begin() + (pgno - 1) * size)) << "page " << pgno;
  }
  std::vector<uint8_t> one(size);
  EXPECT_THROW(snapshot->read_pages(pages, std::span(all).first(2 * size)), std::invalid_argument);
  EXPECT_THROW(snapshot->read_pages(0, one), std::invalid_argument);
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

namespace bakrest::engine {
namespace {

namespace fs = std::filesystem;

// A database whose transaction log can't be written is SUSPECT: no new connections (SQL Server's 926), no
// writes, nothing acknowledged that the log could not hold, and it comes back once the log can be written.
TEST(EngineSuspectTest, ADatabaseWhoseLogCannotBeWrittenIsSuspectUntilItCan) {
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  // Writes to the transaction logs (databases/<file>.log/) fail while the test says so.
  fault::FaultyFileSystem disk;
  auto fail = [&](bool on) {
    if (on) {
      disk.fail_matching(fault::FaultyFileSystem::Call::kWrite, ".log/", EIO);
    } else {
      disk.stop_failing();
    }
  };
  Engine engine{dir.path() / "databases", msdb};
  engine.create_database("shop");
  auto c = engine.connect("shop");
  c->db().exec("CREATE TABLE t (x INT)");
  fail(true);
  c->db().exec("INSERT INTO t VALUES (1)");  // durable in the WAL, so it succeeds
  ASSERT_TRUE(c->suspect_reason().has_value());
  EXPECT_THROW(c->db().exec("INSERT INTO t VALUES (2)"), sqlite::Error);
  try {
    engine.connect("shop");
    ADD_FAILURE() << "a SUSPECT database must not open";
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 926);
    EXPECT_NE(e.message().text.find("It has been marked SUSPECT: its transaction log could not be written ("),
              std::string::npos)
        << e.message().text;
  }
  engine.checkpoint_all(0);  // the checkpointer's retry fails too: still SUSPECT
  EXPECT_THROW(engine.connect("shop"), SqlError);
  fail(false);
  engine.checkpoint_all(0);  // now it catches up
  EXPECT_EQ(c->suspect_reason(), std::nullopt);
  auto again = engine.connect("shop");
  again->db().exec("INSERT INTO t VALUES (3)");
  auto s = again->db().prepare("SELECT group_concat(x) FROM t");
  s.step();
  EXPECT_EQ(s.get_text(0), "1,3");
  EXPECT_EQ(engine.last_lsn("shop"), 4u);  // create, CREATE TABLE, 1, 3
}

// The checkpointer used the database without a lease: a DROP DATABASE between its catalog read and its
// work left the dropped database's log directory behind (and a registry entry).
TEST(EngineDropTest, DropDatabaseAndTheCheckpointerNeverLeaveALogBehind) {
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  Engine engine{dir.path() / "databases", msdb};
  std::atomic<bool> stop{false};
  std::thread checkpointer([&] {
    while (!stop) engine.checkpoint_all(0);
  });
  for (int i = 0; i < 150; ++i) {
    std::string name = "d" + std::to_string(i);
    engine.create_database(name);
    engine.connect(name)->db().exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    for (;;) {
      try {
        engine.drop_database(name);
        break;
      } catch (const SqlError& e) {
        ASSERT_EQ(e.message().number, 3702) << e.message().text;  // the checkpointer has it: try again
      }
    }
  }
  stop = true;
  checkpointer.join();
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path() / "databases")) {
    std::string file = entry.path().filename().string();
    if (!file.starts_with("master.") && !file.starts_with("tempdb.") && !file.starts_with("model."))
      left.push_back(file);
  }
  EXPECT_EQ(left, std::vector<std::string>{});
}

// After a bulk load the WAL must not stay large (nor be read again and again while nothing happens): a
// checkpoint that backfills everything truncates it, and an idle database is left alone.
TEST_F(EngineTest, TheCheckpointerTruncatesTheWalAndLeavesIdleDatabasesAlone) {
  engine.create_database("bulk");
  auto c = engine.connect("bulk");
  c->db().exec(
      "CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
      "3000) "
      "INSERT INTO t SELECT randomblob(4000) FROM n");
  fs::path wal = engine.find("bulk")->file;
  wal += "-wal";
  ASSERT_GT(fs::file_size(wal), 8u << 20);
  EXPECT_EQ(engine.checkpoint_all(), 1u);
  EXPECT_EQ(fs::file_size(wal), 0u) << "a fully backfilled WAL with no reader is truncated";
  EXPECT_EQ(engine.checkpoint_all(0), 0u) << "nothing new: nothing to do";
  c->db().exec("INSERT INTO t VALUES (x'00')");
  EXPECT_EQ(engine.checkpoint_all(0), 1u);
  EXPECT_EQ(engine.checkpoint_all(0), 0u);
  // Every commit is still in the log, and the log and the database agree on the next LSN.
  EXPECT_EQ(scalar(*c, "SELECT count(*) FROM t"), 3001);
  uint64_t lsn = engine.last_lsn("bulk");
  c->db().exec("INSERT INTO t VALUES (x'01')");
  EXPECT_EQ(engine.last_lsn("bulk"), lsn + 1);
}

}  // namespace
}  // namespace bakrest::engine

namespace bakrest::engine {
namespace {

// A snapshot reads each page from its newest committed WAL frame. A frame that fails its checksum in the
// same WAL generation is damage, not a reason to read the older image in the database file (which it once
// did silently, putting a stale page into a backup). Only a WAL that SQLite started over (new salts) sends
// the snapshot to the database file, which then holds every page.
TEST_F(EngineTest, ASnapshotRefusesADamagedWalFrameInsteadOfReadingAnOlderPage) {
  engine.create_database("d");
  auto c = engine.connect("d");
  c->db().exec("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (randomblob(3000))");
  auto snapshot = engine.snapshot("d");
  fs::path wal = engine.find("d")->file;
  wal += "-wal";
  const uint32_t page_size = snapshot->page_size();
  const uint64_t frame_size = 24 + page_size;
  uint64_t frames = (fs::file_size(wal) - 32) / frame_size;
  ASSERT_GT(frames, 0u);
  uint64_t last = 32 + (frames - 1) * frame_size;
  uint32_t pgno = 0;
  {
    std::FILE* f = std::fopen(wal.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    uint8_t header[4];
    std::fseek(f, static_cast<long>(last), SEEK_SET);
    ASSERT_EQ(std::fread(header, 1, 4, f), 4u);
    pgno = static_cast<uint32_t>(header[0]) << 24 | header[1] << 16 | header[2] << 8 | header[3];
    std::fseek(f, static_cast<long>(last + 24 + 100), SEEK_SET);
    uint8_t byte = 0;
    ASSERT_EQ(std::fread(&byte, 1, 1, f), 1u);
    byte ^= 0x5a;
    std::fseek(f, static_cast<long>(last + 24 + 100), SEEK_SET);
    std::fwrite(&byte, 1, 1, f);
    std::fclose(f);
  }
  std::vector<uint8_t> page(page_size);
  try {
    snapshot->read_page(pgno, page);
    ADD_FAILURE() << "a damaged WAL frame must fail the snapshot's read of page " << pgno;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("WAL frame"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bakrest::engine
