#include "backup/jobs.h"
#include "backup/object_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "forge_backup.h"
#include "format/backup_file.h"
#include "storage/local_store.h"
#include "temp_dir.h"

namespace bakrest::backup {
namespace {

class CountingControl : public JobControl {
 public:
  explicit CountingControl(int cancel_after = -1) : cancel_after_(cancel_after) {}
  void progress(int percent, const std::string&) override {
    last_percent = percent;
    ++calls;
  }
  bool cancel_requested() const override { return cancel_after_ >= 0 && calls >= cancel_after_; }
  int calls = 0;
  int last_percent = -1;

 private:
  int cancel_after_;
};

class JobsTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  engine::Engine engine{dir.path() / "databases", msdb};
  storage::LocalStore store{dir.path() / "store"};
  instance::Config config;
  Environment env{engine, store, msdb, config, 0};

  void SetUp() override {
    store.create_bucket("bkt", "us-east-1");
    engine.create_database("src");
    auto c = engine.connect("src");
    c->db().exec("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)");
    c->db().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO t SELECT i, randomblob(500) FROM n");
  }

  BackupRequest backup_request(const std::string& key, const Guid& id = random_guid()) {
    return BackupRequest{1, id, "src", "arn:aws:s3:::bkt/" + key, "bkt", key, false, false};
  }
  RestoreRequest restore_request(const std::string& name, const std::string& key) {
    RestoreRequest r;
    r.task_id = 2;
    r.database = name;
    r.arn = "arn:aws:s3:::bkt/" + key;
    r.bucket = "bkt";
    r.key = key;
    return r;
  }
  std::string restore_error(const std::string& key) {
    CountingControl control;
    try {
      run_full_restore(restore_request("copy", key), env, control);
    } catch (const std::exception& e) {
      EXPECT_FALSE(engine.find("copy")) << "a failed restore must leave no database";
      return e.what();
    }
    return "";
  }
  // A well-formed backup file whose body is the given pages.
  void write_backup(const std::string& key, uint32_t page_size,
                    const std::vector<std::vector<uint8_t>>& pages) {
    auto object = store.create("bkt", key);
    ObjectSink sink(*object);
    format::BackupHeader header;
    header.database_name = "x";
    header.page_size = page_size;
    header.page_count = pages.size();
    header.first_lsn = header.last_lsn = 1;
    format::BackupWriter writer(sink, header);
    for (const auto& page : pages) writer.write(page);
    writer.finish(0);
    object->commit();
  }
};

TEST_F(JobsTest, BackupAndRestoreRoundTrip) {
  Guid id = random_guid();
  CountingControl control;
  run_full_backup(backup_request("full.bak", id), env, control);
  EXPECT_EQ(control.last_percent, 100);
  {
    auto object = store.open("bkt", "full.bak");
    ObjectSource source(*object);
    format::BackupReader reader(source);
    EXPECT_EQ(reader.header().backup_id, id);
    EXPECT_EQ(reader.header().fork_guid, engine.find("src")->fork_guid);
    EXPECT_EQ(reader.header().database_guid, engine.find("src")->guid);
  }
  run_full_restore(restore_request("copy", "full.bak"), env, control);
  auto c = engine.connect("copy");
  auto s = c->db().prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.get_int(0), 2000);
  auto rows = msdb.with([](sqlite::Database& db) {
    auto q = db.prepare("SELECT count(*) FROM backupset WHERE database_name = 'src' AND type = 'D'");
    q.step();
    return q.get_int(0);
  });
  EXPECT_EQ(rows, 1);
}

TEST_F(JobsTest, CancelledBackupLeavesNoObjectAndNoHistory) {
  CountingControl control(1);
  EXPECT_THROW(run_full_backup(backup_request("cancelled.bak"), env, control), JobCancelled);
  EXPECT_FALSE(store.exists("bkt", "cancelled.bak"));
  EXPECT_TRUE(store.list("bkt", "").empty());
}

// After a restart: another backup's object is left alone, this backup's complete object is kept (and
// recorded), and one of its own that does not verify is removed.
TEST_F(JobsTest, InterruptedBackupKeepsItsCompleteObjectAndLeavesOthersAlone) {
  Guid ours = random_guid();
  CountingControl control;
  run_full_backup(backup_request("mine.bak", ours), env, control);
  run_full_backup(backup_request("theirs.bak"), env, control);
  msdb.with([](sqlite::Database& db) { db.exec("DELETE FROM backupmediafamily; DELETE FROM backupset"); });
  EXPECT_EQ(settle_interrupted_backup(backup_request("theirs.bak", ours), env), InterruptedBackup::kNothing);
  EXPECT_TRUE(store.exists("bkt", "theirs.bak"));
  EXPECT_EQ(settle_interrupted_backup(backup_request("mine.bak", ours), env), InterruptedBackup::kKept);
  EXPECT_TRUE(store.exists("bkt", "mine.bak"));
  EXPECT_EQ(settle_interrupted_backup(backup_request("absent.bak", ours), env), InterruptedBackup::kNothing);
  // Damaged after the header (it can't be published so, but if it were): removed, as nobody can restore it.
  std::vector<uint8_t> bytes;
  {
    auto object = store.open("bkt", "mine.bak");
    bytes.resize(object->size());
    ASSERT_EQ(object->read(bytes), bytes.size());
  }
  bytes[bytes.size() - 200] ^= 1;
  auto damaged = store.create("bkt", "damaged.bak");
  damaged->write(bytes);
  damaged->commit();
  EXPECT_EQ(settle_interrupted_backup(backup_request("damaged.bak", ours), env), InterruptedBackup::kNothing);
  EXPECT_FALSE(store.exists("bkt", "damaged.bak"));
}

TEST_F(JobsTest, RestoreRefusesImagesThatAreNotDatabases) {
  write_backup("zeros.bak", 4096, {std::vector<uint8_t>(4096, 0)});
  EXPECT_NE(restore_error("zeros.bak").find("page 1 is not the first page of a SQLite database"),
            std::string::npos);
  // Headers a writer never writes (a 256-byte page size, no pages) are the reader's to refuse:
  // format/backup_file_test.cc, HeaderFieldsOutsideTheirRangesAreRefused.
}

// Checksums say a backup is what was written, not that it is a database: a forged image (or one that was
// wrong when it was taken) with every checksum right must not come ONLINE.
TEST_F(JobsTest, AnImageWithValidChecksumsButBrokenPagesNeverComesOnline) {
  auto c = engine.connect("src");
  c->db().exec(
      "CREATE TABLE big (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
      "WHERE i < 200) INSERT INTO big SELECT randomblob(1000) FROM n");
  c.reset();
  CountingControl control;
  run_full_backup(backup_request("good.bak"), env, control);
  std::vector<std::vector<uint8_t>> pages;
  {
    auto object = store.open("bkt", "good.bak");
    ObjectSource source(*object);
    format::BackupReader reader(source);
    std::vector<uint8_t> page(reader.header().page_size);
    while (reader.read(page) == page.size()) pages.push_back(page);
  }
  ASSERT_GT(pages.size(), 10u);
  std::mt19937 random(7);
  for (size_t i = 1; i < pages.size(); ++i) {
    for (auto& byte : pages[i]) byte = static_cast<uint8_t>(random());
  }
  write_backup("forged.bak", static_cast<uint32_t>(pages[0].size()), pages);
  std::string error = restore_error("forged.bak");
  EXPECT_NE(error.find("was not brought ONLINE: the restored database does not pass SQLite's quick_check"),
            std::string::npos)
      << error;
  // The good backup of the same database still restores (and passes the check).
  run_full_restore(restore_request("copy", "good.bak"), env, control);
  EXPECT_EQ(engine.find("copy")->state, engine::DatabaseState::kOnline);
}

// A restore may not make a database larger than the instance allows ([limits] max_database_gb; 10 GB on
// Express): the header alone decides, before anything is written.
TEST_F(JobsTest, RestoresLargerThanTheLimitAreRefused) {
  config.edition = "express";
  config.max_database_gb = 1;
  write_backup("one.bak", 4096, {std::vector<uint8_t>(4096, 0)});
  std::vector<uint8_t> bytes;
  {
    auto object = store.open("bkt", "one.bak");
    bytes.resize(object->size());
    ASSERT_EQ(object->read(bytes), bytes.size());
  }
  format::forge::forge_header_field<uint64_t>(bytes, format::layout::kFieldPageCount, 300000);
  auto huge = store.create("bkt", "huge.bak");
  huge->write(bytes);
  huge->commit();
  EXPECT_NE(restore_error("huge.bak")
                .find("would make database 'copy' 1228800000 bytes; this instance restores "
                      "databases of up to 1073741824 bytes ([limits] max_database_gb; 10 "
                      "GB on Express edition)"),
            std::string::npos)
      << restore_error("huge.bak");
  config.max_database_gb = 100;  // Express caps it at 10 GB
  EXPECT_EQ(config.max_database_bytes(), uint64_t{10} << 30);
  CountingControl control;
  run_full_backup(backup_request("full.bak"), env, control);
  run_full_restore(restore_request("copy", "full.bak"), env, control);
  EXPECT_EQ(engine.find("copy")->state, engine::DatabaseState::kOnline);
}

TEST_F(JobsTest, RestoreOfACorruptBackupLeavesNoDatabase) {
  CountingControl control;
  run_full_backup(backup_request("good.bak"), env, control);
  auto object = store.open("bkt", "good.bak");
  std::vector<uint8_t> bytes(object->size());
  object->read(bytes);
  bytes[bytes.size() / 2] ^= 0x40;
  auto corrupt = store.create("bkt", "corrupt.bak");
  corrupt->write(bytes);
  corrupt->commit();
  EXPECT_NE(restore_error("corrupt.bak").find("backup is corrupt"), std::string::npos);
}

}  // namespace
}  // namespace bakrest::backup

namespace bakrest::backup {
namespace {

TEST_F(JobsTest, BackupWithoutOverwriteNeverReplacesAnObject) {
  auto other = store.create("bkt", "taken.bak");
  other->write(std::vector<uint8_t>{1, 2, 3});
  other->commit();
  CountingControl control;
  try {
    run_full_backup(backup_request("taken.bak"), env, control);
    FAIL() << "overwrite 0 onto an existing object must fail";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "Please reissue task with correct type and overwrite property");
  }
  EXPECT_EQ(store.open("bkt", "taken.bak")->size(), 3u);
}

}  // namespace
}  // namespace bakrest::backup
