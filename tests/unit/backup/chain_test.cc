// Restore chains through the jobs: full -> differential -> logs, NORECOVERY, STOPAT, and the refusals
// SQL Server gives for a broken chain.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "backup/jobs.h"
#include "backup/object_stream.h"
#include "common/clock.h"
#include "engine/log_record.h"
#include "forge_backup.h"
#include "format/backup_file.h"
#include "storage/local_store.h"
#include "temp_dir.h"

namespace bakrest::backup {
namespace {

class NullControl : public JobControl {
 public:
  void progress(int, const std::string& line) override {
    if (!line.empty()) lines.push_back(line);
  }
  bool cancel_requested() const override { return false; }
  std::vector<std::string> lines;
};

class ChainTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  engine::Engine engine{dir.path() / "databases", msdb};
  storage::LocalStore store{dir.path() / "store"};
  instance::Config config;
  Environment env{engine, store, msdb, config, 0};
  NullControl control;

  void SetUp() override {
    store.create_bucket("bkt", "us-east-1");
    engine.create_database("src");
    exec("src", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  }
  void exec(const std::string& db, const std::string& sql) { engine.connect(db)->db().exec(sql); }
  void insert(int from, int to) {
    exec("src", "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(from) +
                    " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(to) +
                    ") INSERT INTO t SELECT i, printf('row %d', i) FROM n");
  }
  int64_t count(const std::string& db) {
    auto c = engine.connect(db);
    auto s = c->db().prepare("SELECT count(*) FROM t");
    s.step();
    return s.get_int(0);
  }
  void backup(BackupKind kind, const std::string& key) {
    BackupRequest r;
    r.task_id = 1;
    r.backup_id = random_guid();
    r.database = "src";
    r.arn = "arn:aws:s3:::bkt/" + key;
    r.bucket = "bkt";
    r.key = key;
    r.kind = kind;
    run_backup(r, env, control);
  }
  void restore(RestoreKind kind, const std::string& key, bool recover, std::optional<int64_t> stopat = {},
               const std::string& db = "dst") {
    RestoreRequest r;
    r.task_id = 2;
    r.database = db;
    r.arn = "arn:aws:s3:::bkt/" + key;
    r.bucket = "bkt";
    r.key = key;
    r.kind = kind;
    r.recover = recover;
    r.stopat_us = stopat;
    r.login = "admin";
    run_restore(r, env, control);
  }
  std::string restore_error(RestoreKind kind, const std::string& key, bool recover,
                            std::optional<int64_t> stopat = {}) {
    try {
      restore(kind, key, recover, stopat);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(ChainTest, FullDifferentialAndLogsRestoreToTheSourceState) {
  insert(1, 100);
  backup(BackupKind::kFull, "full.bak");
  insert(101, 200);
  backup(BackupKind::kDifferential, "diff.bak");
  insert(201, 300);
  backup(BackupKind::kLog, "log1.trn");
  exec("src", "UPDATE t SET v = 'changed' WHERE id <= 50");
  backup(BackupKind::kLog, "log2.trn");
  exec("src", "DELETE FROM t WHERE id > 250");
  backup(BackupKind::kLog, "log3.trn");

  restore(RestoreKind::kFull, "full.bak", false);
  EXPECT_EQ(engine.find("dst")->state, engine::DatabaseState::kRestoring);
  restore(RestoreKind::kDifferential, "diff.bak", false);
  restore(RestoreKind::kLog, "log1.trn", false);
  restore(RestoreKind::kLog, "log2.trn", false);
  restore(RestoreKind::kLog, "log3.trn", false);
  engine.finish_restore("dst");
  EXPECT_EQ(count("dst"), 250);
  auto c = engine.connect("dst");
  auto s = c->db().prepare("SELECT count(*) FROM t WHERE v = 'changed'");
  s.step();
  EXPECT_EQ(s.get_int(0), 50);
  // The recovered database has its own log, continuing the LSNs on a new fork.
  EXPECT_NE(engine.find("dst")->fork_guid, engine.find("src")->fork_guid);
  exec("dst", "INSERT INTO t VALUES (1000, 'after')");
  EXPECT_EQ(engine.last_lsn("dst"), engine.last_lsn("src") + 1);
}

TEST_F(ChainTest, StopAtEndsAtTheLastCommitBeforeTheTime) {
  insert(1, 10);
  backup(BackupKind::kFull, "full.bak");
  insert(11, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int64_t between = now_micros();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  insert(21, 30);
  backup(BackupKind::kLog, "log.trn");

  restore(RestoreKind::kFull, "full.bak", false);
  restore(RestoreKind::kLog, "log.trn", true, between);
  EXPECT_EQ(engine.find("dst")->state, engine::DatabaseState::kOnline);
  EXPECT_EQ(count("dst"), 20);
}

TEST_F(ChainTest, StopAtBeyondTheLogLeavesTheDatabaseRestoring) {
  backup(BackupKind::kFull, "full.bak");
  insert(1, 10);
  backup(BackupKind::kLog, "log.trn");
  restore(RestoreKind::kFull, "full.bak", false);
  restore(RestoreKind::kLog, "log.trn", true, now_micros() + 60'000'000);
  EXPECT_EQ(engine.find("dst")->state, engine::DatabaseState::kRestoring);
  EXPECT_NE(control.lines.back().find("successfully"), std::string::npos);
}

TEST_F(ChainTest, WrongChainsAreRefusedWithSqlServersMessages) {
  EXPECT_NE(std::string(restore_error(RestoreKind::kLog, "none.trn", true)).find("does not exist"),
            std::string::npos);
  insert(1, 10);
  int64_t before_log = now_micros();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  backup(BackupKind::kFull, "full1.bak");
  insert(11, 20);
  backup(BackupKind::kLog, "log1.trn");
  insert(21, 30);
  backup(BackupKind::kLog, "log2.trn");
  backup(BackupKind::kFull, "full2.bak");
  insert(31, 40);
  backup(BackupKind::kDifferential, "diff2.bak");

  // Nothing RESTORING yet.
  EXPECT_EQ(restore_error(RestoreKind::kLog, "log1.trn", true),
            "The log or differential backup cannot be restored because no files are ready to rollforward.");
  restore(RestoreKind::kFull, "full1.bak", false);
  EXPECT_EQ(restore_error(RestoreKind::kDifferential, "diff2.bak", false),
            "This differential backup cannot be restored because the database has not been restored to the "
            "correct earlier state.");
  EXPECT_NE(restore_error(RestoreKind::kLog, "log2.trn", false).find("which is too recent to apply"),
            std::string::npos);
  EXPECT_NE(restore_error(RestoreKind::kLog, "log1.trn", false, before_log)
                .find("STOPAT clause specifies a point too early"),
            std::string::npos);
  restore(RestoreKind::kLog, "log1.trn", false);
  EXPECT_NE(restore_error(RestoreKind::kLog, "log1.trn", false).find("which is too early to apply"),
            std::string::npos);
  EXPECT_NE(restore_error(RestoreKind::kDifferential, "log2.trn", false)
                .find("is a log backup, not a differential"),
            std::string::npos);
  restore(RestoreKind::kLog, "log2.trn", false);
  engine.finish_restore("dst");
  EXPECT_EQ(count("dst"), 30);

  // A log of another fork: the recovered copy's own log can't continue the source's chain.
  exec("dst", "INSERT INTO t VALUES (99, 'x')");
  engine.drop_database("dst");
  restore(RestoreKind::kFull, "full2.bak", false, {}, "dst");
  BackupRequest r;
  r.task_id = 3;
  r.backup_id = random_guid();
  restore(RestoreKind::kFull, "full1.bak", true, {}, "other");
  r.database = "other";
  r.arn = "arn:aws:s3:::bkt/other.bak";
  r.bucket = "bkt";
  r.key = "other.bak";
  r.kind = BackupKind::kFull;
  run_backup(r, env, control);
  exec("other", "INSERT INTO t VALUES (500, 'fork')");
  r.key = "other.trn";
  r.arn = "arn:aws:s3:::bkt/other.trn";
  r.kind = BackupKind::kLog;
  run_backup(r, env, control);
  EXPECT_NE(restore_error(RestoreKind::kLog, "other.trn", false).find("recovery path that is inconsistent"),
            std::string::npos);
}

TEST_F(ChainTest, LogBackupRulesFollowTheRecoveryModel) {
  try {
    backup(BackupKind::kLog, "early.trn");
    FAIL() << "a log backup before any full backup must fail";
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "BACKUP LOG cannot be performed because there is no current database backup.");
  }
  try {
    backup(BackupKind::kDifferential, "early.bak");
    FAIL() << "a differential before any full backup must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("because a current database backup does not exist"),
              std::string::npos);
  }
  engine.set_recovery_model("src", "SIMPLE");
  backup(BackupKind::kFull, "full.bak");
  try {
    backup(BackupKind::kLog, "simple.trn");
    FAIL() << "a log backup under SIMPLE must fail";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("not allowed while the recovery model is SIMPLE"),
              std::string::npos);
  }
  engine.set_recovery_model("src", "FULL");
  EXPECT_THROW(backup(BackupKind::kLog, "nochain.trn"), std::exception);
  backup(BackupKind::kFull, "full2.bak");
  backup(BackupKind::kLog, "ok.trn");
}

}  // namespace
}  // namespace bakrest::backup

namespace bakrest::backup {
namespace {

class ForgedChainTest : public ChainTest {
 protected:
  std::vector<uint8_t> object_bytes(const std::string& key) {
    auto object = store.open("bkt", key);
    std::vector<uint8_t> bytes(object->size());
    EXPECT_EQ(object->read(bytes), bytes.size());
    return bytes;
  }
  void put_object(const std::string& key, const std::vector<uint8_t>& bytes) {
    auto object = store.create("bkt", key);
    object->write(bytes);
    object->commit();
  }
  // The log backup `key` with every record's header changed by edit, re-encoded with valid checksums.
  void forge_log(const std::string& key, const std::string& forged,
                 const std::function<void(engine::LogRecordHeader&)>& edit) {
    auto object = store.open("bkt", key);
    ObjectSource source(*object);
    format::BackupReader reader(source);
    auto out = store.create("bkt", forged);
    ObjectSink sink(*out);
    format::BackupWriter writer(sink, reader.header());
    engine::LogInput in = [&](std::span<uint8_t> buffer) {
      size_t got = 0;
      while (got < buffer.size()) {
        size_t n = reader.read(buffer.subspan(got));
        if (n == 0) break;
        got += n;
      }
      return got;
    };
    engine::LogRecordHeader h;
    while (engine::decode_log_record_header(in, h)) {
      engine::LogRecordHeader changed = h;
      edit(changed);
      std::vector<std::pair<uint32_t, std::vector<uint8_t>>> pages;
      engine::decode_log_record_pages(in, h, [&](uint32_t pgno, std::span<const uint8_t> image) {
        pages.emplace_back(pgno, std::vector<uint8_t>(image.begin(), image.end()));
      });
      engine::LogRecordEncoder encoder(changed, [&](std::span<const uint8_t> bytes) { writer.write(bytes); });
      for (const auto& [pgno, image] : pages) encoder.add_page(pgno, image);
      encoder.finish();
    }
    writer.finish(now_micros());
    out->commit();
  }
};

// A differential whose header claims a page size no database has, with every checksum right, once made the
// restore size its buffers from it (4 + 0xFFFFFFFC wrapped to 0: out-of-bounds reads, a crash).
TEST_F(ForgedChainTest, ADifferentialWithAnImpossiblePageSizeIsRefused) {
  insert(1, 10);
  backup(BackupKind::kFull, "full.bak");
  insert(11, 20);
  backup(BackupKind::kDifferential, "diff.bak");
  for (uint32_t page_size : {0xFFFFFFFCu, 0xFFFFFFFFu, 0u, 1u << 20}) {
    auto bytes = object_bytes("diff.bak");
    format::forge::forge_header_field<uint32_t>(bytes, format::layout::kFieldPageSize, page_size);
    put_object("forged.bak", bytes);
    restore(RestoreKind::kFull, "full.bak", false);
    std::string error = restore_error(RestoreKind::kDifferential, "forged.bak", false);
    EXPECT_NE(error.find("page size " + std::to_string(page_size) + " is not a power of two"),
              std::string::npos)
        << error;
    engine.drop_restoring("dst");
  }
}

// Log records choose the database's size and the pages they write: a forged log (valid checksums) may not
// make a huge sparse file, nor write past the database's end.
TEST_F(ForgedChainTest, LogRecordsCannotGrowTheDatabasePastTheLimitOrWritePastItsEnd) {
  insert(1, 10);
  backup(BackupKind::kFull, "full.bak");
  insert(11, 20);
  backup(BackupKind::kLog, "log.trn");
  forge_log("log.trn", "huge.trn", [](engine::LogRecordHeader& h) { h.database_pages = 0xFFFFFFFF; });
  restore(RestoreKind::kFull, "full.bak", false);
  std::string error = restore_error(RestoreKind::kLog, "huge.trn", true);
  EXPECT_NE(
      error.find("would make database 'dst' 17592186040320 bytes; this instance restores databases of up "
                 "to 1099511627776 bytes"),
      std::string::npos)
      << error;
  EXPECT_EQ(engine.find("dst")->state, engine::DatabaseState::kRestoring);
  EXPECT_FALSE(engine.find("dst")->restore_damaged);  // refused before a page was written

  forge_log("log.trn", "short.trn", [](engine::LogRecordHeader& h) { h.database_pages = 1; });
  error = restore_error(RestoreKind::kLog, "short.trn", true);
  EXPECT_NE(error.find("backup is corrupt: log record"), std::string::npos) << error;
  EXPECT_FALSE(engine.find("dst")->restore_damaged);

  // The real log still applies.
  restore(RestoreKind::kLog, "log.trn", true);
  EXPECT_EQ(count("dst"), 20);
}

}  // namespace
}  // namespace bakrest::backup
