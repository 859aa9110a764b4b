#include "backup/jobs.h"
#include "backup/object_stream.h"

#include <gtest/gtest.h>

#include <atomic>
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
  // cancel_after: progress reports after which the task is cancelled; cancel_after_polls: the same in asks of
  // cancel_requested(), which the stripes make between their units of work (-1: never).
  explicit CountingControl(int cancel_after = -1, int cancel_after_polls = -1)
      : cancel_after_(cancel_after), cancel_after_polls_(cancel_after_polls) {}
  void progress(int percent, const std::string& info) override {
    last_percent = percent;
    if (!info.empty()) lines.push_back(info);
    ++calls;
  }
  // Asked from the stripes' threads too.
  bool cancel_requested() const override {
    const int asked = ++polls;
    return (cancel_after_ >= 0 && calls >= cancel_after_) ||
           (cancel_after_polls_ >= 0 && asked > cancel_after_polls_);
  }
  std::atomic<int> calls = 0;
  mutable std::atomic<int> polls = 0;
  int last_percent = -1;
  std::vector<std::string> lines;

 private:
  int cancel_after_;
  int cancel_after_polls_;
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
    BackupRequest r;
    r.task_id = 1;
    r.backup_id = id;
    r.database = "src";
    r.arn = "arn:aws:s3:::bkt/" + key;
    r.bucket = "bkt";
    r.key = key;
    return r;
  }
  BackupRequest striped(const std::string& key, std::vector<std::string> keys, bool compress = false) {
    BackupRequest r = backup_request(key);
    r.stripe_keys = std::move(keys);
    r.compress = compress;
    return r;
  }
  // A digest of the rows of t in a database, to compare a restored copy with its source.
  std::string rows_of(const std::string& database) {
    auto c = engine.connect(database);
    auto s = c->db().prepare(
        "SELECT count(*) || ':' || sum(length(data)) || ':' || "
        "group_concat(hex(substr(data, 1, 4)), '') FROM (SELECT data FROM t ORDER BY id)");
    EXPECT_TRUE(s.step());
    return s.get_text(0);
  }
  void copy_object(const std::string& from, const std::string& to) {
    auto in = store.open("bkt", from);
    std::vector<uint8_t> bytes(in->size());
    ASSERT_EQ(in->read(bytes), bytes.size());
    auto out = store.create("bkt", to);
    out->write(bytes);
    out->commit();
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
  // Cancelled halfway through the stripe's work, counted in its own asks: a cancel counted in progress
  // reports could come after a small backup's stripe had finished (the reports are the task thread's).
  CountingControl whole;
  run_full_backup(backup_request("whole.bak"), env, whole);
  ASSERT_GT(whole.polls.load(), 4);
  store.remove("bkt", "whole.bak");
  msdb.with([](sqlite::Database& db) { db.exec("DELETE FROM backupset"); });
  CountingControl control(-1, whole.polls.load() / 2);
  EXPECT_THROW(run_full_backup(backup_request("cancelled.bak"), env, control), JobCancelled);
  EXPECT_FALSE(store.exists("bkt", "cancelled.bak"));
  EXPECT_TRUE(store.list("bkt", "").empty());
  EXPECT_EQ(msdb.with([](sqlite::Database& db) {
    auto q = db.prepare("SELECT count(*) FROM backupset");
    q.step();
    return q.get_int(0);
  }),
            0);
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

namespace bakrest::backup {
namespace {

// A backup in four files: each a stripe of one backup (same id, its own index), restored from a wildcard
// ARN into the same rows; msdb lists every file.
TEST_F(JobsTest, AMultiFileBackupRestoresFromItsWildcard) {
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "compressed" : "not compressed");
    const std::string dir = compress ? "z/" : "n/";
    std::vector<std::string> keys;
    for (int i = 1; i <= 4; ++i) keys.push_back(dir + "multi" + std::to_string(i) + "-of-4.bak");
    BackupRequest request = striped(dir + "multi*.bak", keys, compress);
    CountingControl control;
    run_full_backup(request, env, control);
    ASSERT_FALSE(control.lines.empty());
    EXPECT_NE(control.lines.front().find("BACKUP_DB task will initiate a multi-file task with 4 file(s). The "
                                         "files are: arn:aws:s3:::bkt/" +
                                         keys[0]),
              std::string::npos)
        << control.lines.front();
    EXPECT_NE(control.lines.back().find("in 4 files"), std::string::npos) << control.lines.back();
    for (size_t i = 0; i < keys.size(); ++i) {
      auto object = store.open("bkt", keys[i]);
      ObjectSource source(*object);
      format::BackupReader reader(source);
      EXPECT_EQ(reader.header().backup_id, request.backup_id);
      EXPECT_EQ(reader.header().stripe_index, i);
      EXPECT_EQ(reader.header().stripe_count, 4);
    }
    std::string copy = compress ? "copyz" : "copyn";
    run_full_restore(restore_request(copy, dir + "multi*"), env, control);
    EXPECT_EQ(rows_of(copy), rows_of("src"));
  }
  auto families = msdb.with([](sqlite::Database& db) {
    auto q = db.prepare(
        "SELECT group_concat(family_sequence_number || '=' || physical_device_name, ' ') FROM "
        "(SELECT * FROM backupmediafamily ORDER BY media_set_id, family_sequence_number)");
    q.step();
    return q.get_text(0);
  });
  EXPECT_NE(families.find("1=arn:aws:s3:::bkt/n/multi1-of-4.bak 2=arn:aws:s3:::bkt/n/multi2-of-4.bak"),
            std::string::npos)
      << families;
}

// A differential in three files applies onto its full backup like a single-file one.
TEST_F(JobsTest, AMultiFileDifferentialRestores) {
  CountingControl control;
  run_full_backup(backup_request("base.bak"), env, control);
  engine.connect("src")->db().exec("UPDATE t SET data = randomblob(500) WHERE id % 50 = 0");
  BackupRequest diff = striped("diff*", {"diff1-of-3", "diff2-of-3", "diff3-of-3"}, true);
  diff.kind = BackupKind::kDifferential;
  run_backup(diff, env, control);

  RestoreRequest full = restore_request("copy", "base.bak");
  full.recover = false;
  run_full_restore(full, env, control);
  RestoreRequest rest = restore_request("copy", "diff*");
  rest.kind = RestoreKind::kDifferential;
  run_restore(rest, env, control);
  EXPECT_EQ(rows_of("copy"), rows_of("src"));
}

// A wildcard must match the files of one backup, each once, and all of them; a stripe named alone names
// the rest. Nothing is restored from a set that fails these checks.
TEST_F(JobsTest, AWildcardRestoreChecksItsFilesAreOneWholeBackup) {
  CountingControl control;
  run_full_backup(striped("a*", {"a1-of-3", "a2-of-3", "a3-of-3"}), env, control);
  run_full_backup(striped("b*", {"b1-of-2", "b2-of-2"}), env, control);
  EXPECT_EQ(restore_error("a*"), "");
  engine.drop_database("copy");

  // Missing a stripe.
  copy_object("a1-of-3", "m1-of-3");
  copy_object("a3-of-3", "m3-of-3");
  EXPECT_NE(restore_error("m*").find("is in 3 files, and file(s) 2 of it are missing; 2 file(s) match"),
            std::string::npos)
      << restore_error("m*");
  // A stripe twice.
  copy_object("a2-of-3", "m2-of-3");
  copy_object("a2-of-3", "m2-of-3-again");
  EXPECT_NE(restore_error("m*").find("hold file 2 of the backup twice"), std::string::npos)
      << restore_error("m*");
  // Stripes of two backups.
  EXPECT_NE(restore_error("*").find("are not all of one backup"), std::string::npos) << restore_error("*");
  // One stripe by its name.
  EXPECT_NE(restore_error("b2-of-2").find("is file 2 of a backup in 2 files"), std::string::npos)
      << restore_error("b2-of-2");
  // More than ten matches: RDS's message.
  for (int i = 0; i < 11; ++i) copy_object("b1-of-2", "many/" + std::to_string(i));
  EXPECT_EQ(
      restore_error("many/*"),
      "The Restore task is unable to restore from more than 10 backup file(s). Please reduce the number "
      "of files matched and try again.");
}

// With one file a '*' is part of the name (RDS keeps it), and such a backup restores by that name.
TEST_F(JobsTest, AOneFileBackupKeepsAnAsteriskInItsName) {
  CountingControl control;
  run_full_backup(backup_request("star*.bak"), env, control);
  EXPECT_TRUE(store.exists("bkt", "star*.bak"));
  run_full_restore(restore_request("copy", "star*.bak"), env, control);
  EXPECT_EQ(rows_of("copy"), rows_of("src"));
}

// The tuning parameters take effect: the transfer size is the chunk size, and odd block sizes and one
// buffer still write a backup that restores.
TEST_F(JobsTest, TuningSetsTheChunkSizeAndTheBuffers) {
  CountingControl control;
  BackupRequest request = striped("tuned*", {"tuned1-of-2", "tuned2-of-2"}, true);
  request.tuning = Tuning{.block_size = 512, .max_transfer_size = 65536, .buffer_count = 1};
  run_full_backup(request, env, control);
  uint64_t chunks = 0, body = 0;
  for (const char* key : {"tuned1-of-2", "tuned2-of-2"}) {
    auto object = store.open("bkt", key);
    ObjectSource source(*object);
    format::BackupReader reader(source);
    std::vector<uint8_t> buffer(1 << 16);
    while (reader.read(buffer) > 0) {
    }
    chunks += reader.trailer().chunk_count;
    body += reader.trailer().body_bytes;
  }
  EXPECT_GE(chunks, body / 65536);
  EXPECT_LE(chunks, body / 65536 + 2);
  RestoreRequest restore = restore_request("copy", "tuned*");
  restore.tuning = request.tuning;
  run_full_restore(restore, env, control);
  EXPECT_EQ(rows_of("copy"), rows_of("src"));
}

// After a restart, a multi-file backup whose files were all published is kept; one missing a file is of
// no use, and the files it did publish are removed.
TEST_F(JobsTest, AnInterruptedMultiFileBackupIsKeptOnlyWhole) {
  CountingControl control;
  BackupRequest request = striped("int*", {"int1-of-3", "int2-of-3", "int3-of-3"});
  run_full_backup(request, env, control);
  msdb.with([](sqlite::Database& db) { db.exec("DELETE FROM backupmediafamily; DELETE FROM backupset"); });
  EXPECT_EQ(settle_interrupted_backup(request, env), InterruptedBackup::kKept);
  for (const auto& key : request.stripe_keys) EXPECT_TRUE(store.exists("bkt", key));

  msdb.with([](sqlite::Database& db) { db.exec("DELETE FROM backupmediafamily; DELETE FROM backupset"); });
  store.remove("bkt", "int2-of-3");
  EXPECT_EQ(settle_interrupted_backup(request, env), InterruptedBackup::kNothing);
  EXPECT_TRUE(store.list("bkt", "int").empty());
}

}  // namespace
}  // namespace bakrest::backup
