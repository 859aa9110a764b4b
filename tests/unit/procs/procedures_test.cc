// The restore-chain procedures' call-time rules: task types, pending-task rules, RESTORING-state rules,
// the finish/drop login rule, and what a restart makes of interrupted tasks. The queue is never started,
// so submitted tasks stay CREATED (pending) unless a test finishes them.
#include "procs/procedures.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "backup/jobs.h"
#include "collecting_sink.h"
#include "common/clock.h"
#include "common/error.h"
#include "instance/logins.h"
#include "storage/local_store.h"
#include "support/default_access.h"
#include "tasks/task_types.h"
#include "temp_dir.h"

namespace bakrest::procs {
namespace {

using ::testing::HasSubstr;

constexpr const char* kArn = "arn:aws:s3:::aws_example_bucket/";

class ProceduresTest : public ::testing::Test {
 protected:
  ProceduresTest() {
    instance::Logins logins(msdb);
    logins.ensure_master(std::string("admin"), std::string("Master-Passw0rd"));
    // Two more logins, allowed to restore, finish and drop.
    for (const char* login : {"alice", "bob"}) {
      logins.create(login, "Other-Passw0rd");
      for (const char* procedure :
           {"rds_restore_database", "rds_restore_log", "rds_finish_restore", "rds_drop_database"}) {
        logins.set_execute(login, std::string("msdb.dbo.") + procedure, true);
      }
    }
  }

  bakrest::testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  engine::Engine engine{dir.path() / "databases", msdb};
  storage::LocalStore store{dir.path() / "store"};
  std::unique_ptr<tasks::TaskQueue> queue = std::make_unique<tasks::TaskQueue>(msdb);
  instance::Config config;
  testing::DefaultAccess access{msdb, config};

  // The queue and its runners as serve sets them up (runners are needed to submit; recover_interrupted
  // runs here, as at startup).
  Context& context() {
    if (!context_) {
      context_ = std::make_unique<Context>(
          Context{engine, *queue, store, msdb, config, access.option_groups, nullptr, nullptr});
      install_task_runners(*context_, 0);
    }
    return *context_;
  }

  // Runs the procedure as login; the result sets it returned.
  testing::CollectingSink call(const std::string& procedure, std::vector<ProcArg> args,
                               const std::string& login = "admin", bool in_transaction = false) {
    testing::CollectingSink sink;
    call_procedure(ProcCall{"msdb.dbo." + procedure, std::move(args)},
                   Caller{login, "master", in_transaction}, context(), sink);
    return sink;
  }

  // The error the procedure raises (a failure if it raises none).
  Message error(const std::string& procedure, std::vector<ProcArg> args, const std::string& login = "admin",
                bool in_transaction = false) {
    try {
      call(procedure, std::move(args), login, in_transaction);
    } catch (const SqlError& e) {
      return e.message();
    }
    ADD_FAILURE() << procedure << " raised no error";
    return {};
  }

  // The task a procedure submitted: its row in rds_task_status's result.
  tasks::TaskRecord submitted(const std::string& procedure, std::vector<ProcArg> args,
                              const std::string& login = "admin") {
    auto sink = call(procedure, std::move(args), login);
    EXPECT_EQ(sink.results.size(), 1u);
    EXPECT_EQ(sink.results.at(0).rows.size(), 1u);
    return *queue->get(std::get<int64_t>(sink.results.at(0).rows.at(0).at(0)));
  }

  static ProcArg arg(const char* name, Value value) { return ProcArg{name, std::move(value), false}; }

  static std::vector<ProcArg> restore_args(const std::string& database, const std::string& key,
                                           std::vector<ProcArg> more = {}) {
    std::vector<ProcArg> args{arg("@restore_db_name", database),
                              arg("@s3_arn_to_restore_from", std::string(kArn) + key)};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // A database left RESTORING by a full restore WITH NORECOVERY that login ran.
  void make_restoring(const std::string& name, const std::string& login = "alice") {
    std::string source = name + "_source";
    engine.create_database(source);
    auto snapshot = engine.snapshot(source);
    auto target = engine.begin_restore(name, random_guid(), random_guid(), snapshot->page_size());
    std::vector<uint8_t> page(snapshot->page_size());
    for (uint64_t pgno = 1; pgno <= snapshot->page_count(); ++pgno) {
      snapshot->read_page(pgno, page);
      target->write_page(pgno, page);
    }
    target->finish(false, snapshot->lsn() + 1, random_guid(), login);
    snapshot.reset();
    engine.drop_database(source);
  }

  void set_lifecycle(int64_t task_id, const std::string& lifecycle) {
    msdb.with([&](sqlite::Database& db) {
      db.prepare("UPDATE tasks SET lifecycle = ? WHERE task_id = ?")
          .bind(1, lifecycle)
          .bind(2, task_id)
          .run();
    });
  }

 private:
  std::unique_ptr<Context> context_;
};

// --- backups -----------------------------------------------------------------------------------------------

TEST_F(ProceduresTest, BackupTypeChoosesTheTaskType) {
  engine.create_database("mydatabase");
  auto full = submitted("rds_backup_database", {arg("@source_db_name", std::string("mydatabase")),
                                                arg("@s3_arn_to_backup_to", std::string(kArn) + "f.bak")});
  EXPECT_EQ(full.task_type, "BACKUP_DB");
  auto diff = submitted("rds_backup_database", {arg("@source_db_name", std::string("MyDatabase")),
                                                arg("@s3_arn_to_backup_to", std::string(kArn) + "d.bak"),
                                                arg("@overwrite_s3_backup_file", int64_t{1}),
                                                arg("@type", std::string("differential"))});
  EXPECT_EQ(diff.task_type, "BACKUP_DB_DIFFERENTIAL");
  EXPECT_EQ(diff.database_name, "mydatabase");
  EXPECT_EQ(diff.overwrite_s3_backup_file, 1);
  EXPECT_EQ(diff.parameters.value("key", ""), "d.bak");

  auto bad_type = error("rds_backup_database", {arg("@source_db_name", std::string("mydatabase")),
                                                arg("@s3_arn_to_backup_to", std::string(kArn) + "x.bak"),
                                                arg("@type", std::string("log"))});
  EXPECT_EQ(bad_type.text, "Invalid @type 'LOG': use FULL or DIFFERENTIAL.");
  // The key is kept with the task (rds_task_status shows it) and checked when the task runs.
  auto kms = submitted(
      "rds_backup_database",
      {arg("@source_db_name", std::string("mydatabase")),
       arg("@s3_arn_to_backup_to", std::string(kArn) + "x.bak"), arg("@type", std::string("DIFFERENTIAL")),
       arg("@kms_master_key_arn", std::string("arn:aws:kms:us-east-1:123456789012:key/k"))});
  EXPECT_EQ(kms.kms_master_key_arn, "arn:aws:kms:us-east-1:123456789012:key/k");
  EXPECT_FALSE(full.kms_master_key_arn.has_value());
}

TEST_F(ProceduresTest, BackupLogSubmitsABackupLogTask) {
  engine.create_database("mydatabase");
  auto task = submitted("rds_backup_log", {arg("@source_db_name", std::string("mydatabase")),
                                           arg("@s3_arn_to_backup_to", std::string(kArn) + "log1.trn"),
                                           arg("@overwrite_s3_backup_file", int64_t{1})});
  EXPECT_EQ(task.task_type, "BACKUP_LOG");
  EXPECT_EQ(task.s3_object_arn, std::string(kArn) + "log1.trn");
  EXPECT_EQ(task.parameters.value("bucket", ""), "aws_example_bucket");
  EXPECT_EQ(task.parameters.value("key", ""), "log1.trn");
  EXPECT_EQ(task.lifecycle, "CREATED");
}

TEST_F(ProceduresTest, BackupLogChecksLikeBackupDatabase) {
  engine.create_database("mydatabase");
  make_restoring("restoring");
  auto log = [&](const std::string& database, const std::string& arn, std::vector<ProcArg> more = {}) {
    std::vector<ProcArg> args{arg("@source_db_name", database), arg("@s3_arn_to_backup_to", arn)};
    args.insert(args.end(), more.begin(), more.end());
    return error("rds_backup_log", args);
  };
  std::string arn = std::string(kArn) + "l.trn";
  EXPECT_EQ(log("nope", arn).text,
            "Database 'nope' does not exist. Make sure that the name is entered correctly.");
  EXPECT_EQ(log("restoring", arn).text, "Database 'restoring' can't be backed up: it is RESTORING.");
  EXPECT_EQ(log("master", arn).text, "Backing up the system database 'master' is not supported.");
  EXPECT_EQ(log("mydatabase", "").text, "S3 ARN cannot be empty");
  EXPECT_THAT(log("mydatabase", "arn:aws:s3:::aws_example_bucket").text,
              HasSubstr("arn:aws:s3:::aws_example_bucket"));
  EXPECT_EQ(log("mydatabase", arn, {arg("@overwrite_s3_backup_file", int64_t{2})}).text,
            "@overwrite_s3_backup_file must be 0 or 1, not 2.");
  EXPECT_EQ(log("mydatabase", arn, {arg("@type", std::string("FULL"))}).number, 8145);
  EXPECT_EQ(error("rds_backup_log",
                  {arg("@source_db_name", std::string("mydatabase")), arg("@s3_arn_to_backup_to", arn)},
                  "admin", true)
                .text,
            "Calling rds_backup_log within a transaction isn't supported. Commit or roll back the "
            "transaction first.");
  access.remove_backup_restore_option();
  EXPECT_THAT(log("mydatabase", arn).text, HasSubstr("Database backup/restore option is not enabled yet"));
  EXPECT_TRUE(queue->list(std::nullopt, std::nullopt).empty());
}

// --- full restores -----------------------------------------------------------------------------------------

TEST_F(ProceduresTest, FullRestoreTaskTypesFollowWithNorecovery) {
  EXPECT_EQ(submitted("rds_restore_database", restore_args("a", "full.bak")).task_type, "RESTORE_DB");
  EXPECT_EQ(submitted("rds_restore_database",
                      restore_args("b", "full.bak",
                                   {arg("@type", std::string("FULL")), arg("@with_norecovery", int64_t{0})}))
                .task_type,
            "RESTORE_DB");
  auto norecovery =
      submitted("rds_restore_database", restore_args("c", "full.bak", {arg("@with_norecovery", int64_t{1})}));
  EXPECT_EQ(norecovery.task_type, "RESTORE_DB_NORECOVERY");
  EXPECT_EQ(norecovery.login, "admin");
  EXPECT_EQ(norecovery.parameters.value("key", ""), "full.bak");
}

TEST_F(ProceduresTest, FullRestoreRefusesExistingAndPendingNames) {
  engine.create_database("mydatabase");
  EXPECT_EQ(error("rds_restore_database", restore_args("MYDATABASE", "full.bak")).text,
            "Database 'MYDATABASE' already exists. Two databases that differ only by case or accent are not "
            "allowed. "
            "Choose a different database name.");
  submitted("rds_restore_database", restore_args("Café", "full.bak", {arg("@with_norecovery", int64_t{1})}));
  EXPECT_EQ(error("rds_restore_database", restore_args("cafe", "full.bak")).text,
            "You can't submit a restore task for a database that already has a pending restore task.");
  EXPECT_EQ(error("rds_restore_database",
                  restore_args("x", "full.bak",
                               {arg("@with_norecovery", int64_t{1}), arg("@keep_cdc", int64_t{1})}))
                .text,
            "Full restores with both NORECOVERY and KEEP_CDC aren't supported.");
  EXPECT_EQ(
      error("rds_restore_database", restore_args("x", "full.bak", {arg("@with_norecovery", int64_t{2})}))
          .text,
      "@with_norecovery must be 0 or 1, not 2.");
  EXPECT_EQ(error("rds_restore_database", {arg("@restore_db_name", std::string("x")),
                                           arg("@s3_arn_to_restore_from", std::string(""))})
                .text,
            "S3 ARN prefix cannot be empty");
}

// --- differential restores ---------------------------------------------------------------------------------

TEST_F(ProceduresTest, DifferentialRestoreNeedsWithNorecovery) {
  make_restoring("mydatabase");
  auto m = error("rds_restore_database",
                 restore_args("mydatabase", "diff.bak", {arg("@type", std::string("DIFFERENTIAL"))}));
  EXPECT_THAT(m.text, HasSubstr("@with_norecovery is required for differential restores"));
}

TEST_F(ProceduresTest, DifferentialRestoreOntoARestoringDatabase) {
  make_restoring("MyDatabase");
  auto norecovery = submitted("rds_restore_database", restore_args("mydatabase", "diff.bak",
                                                                   {arg("@type", std::string("DIFFERENTIAL")),
                                                                    arg("@with_norecovery", int64_t{1})}));
  EXPECT_EQ(norecovery.task_type, "RESTORE_DB_DIFFERENTIAL_NORECOVERY");
  EXPECT_EQ(norecovery.database_name, "MyDatabase");  // as the catalog spells it
  auto recovery = submitted("rds_restore_database", restore_args("mydatabase", "diff.bak",
                                                                 {arg("@type", std::string("DIFFERENTIAL")),
                                                                  arg("@with_norecovery", int64_t{0})}));
  EXPECT_EQ(recovery.task_type, "RESTORE_DB_DIFFERENTIAL");
  // Nothing may follow a pending restore WITH RECOVERY.
  const char* pending_recovery =
      "You can't submit a restore task for a database that already has a pending restore task with RECOVERY.";
  EXPECT_EQ(error("rds_restore_database", restore_args("mydatabase", "diff.bak",
                                                       {arg("@type", std::string("DIFFERENTIAL")),
                                                        arg("@with_norecovery", int64_t{1})}))
                .text,
            pending_recovery);
  EXPECT_EQ(error("rds_restore_log", restore_args("mydatabase", "log.trn")).text, pending_recovery);
  // Once it is no longer pending, the rule no longer applies.
  set_lifecycle(recovery.task_id, "ERROR");
  EXPECT_EQ(submitted("rds_restore_log", restore_args("mydatabase", "log.trn")).task_type,
            "RESTORE_DB_LOG_NORECOVERY");
}

TEST_F(ProceduresTest, DifferentialRestoreAfterAQueuedNorecoveryFullRestore) {
  auto full = submitted("rds_restore_database",
                        restore_args("Fresh", "full.bak", {arg("@with_norecovery", int64_t{1})}));
  auto diff = submitted("rds_restore_database", restore_args("fresh", "diff.bak",
                                                             {arg("@type", std::string("DIFFERENTIAL")),
                                                              arg("@with_norecovery", int64_t{0})}));
  EXPECT_EQ(diff.task_type, "RESTORE_DB_DIFFERENTIAL");
  EXPECT_EQ(diff.database_name, "Fresh");  // as the queued full restore spells it
  // A NORECOVERY restore being cancelled leaves nothing to restore onto.
  set_lifecycle(diff.task_id, "CANCELLED");
  set_lifecycle(full.task_id, "CANCEL_REQUESTED");
  EXPECT_EQ(error("rds_restore_log", restore_args("fresh", "log.trn")).text,
            "For log restores, either the database must be in the RESTORING state or a task must already "
            "exist that "
            "restores with NORECOVERY. Database 'fresh' does not exist.");
}

TEST_F(ProceduresTest, DifferentialAndLogRestoresNeedARestoringDatabase) {
  engine.create_database("online");
  auto diff =
      error("rds_restore_database",
            restore_args("online", "diff.bak",
                         {arg("@type", std::string("DIFFERENTIAL")), arg("@with_norecovery", int64_t{1})}));
  EXPECT_EQ(
      diff.text,
      "For differential restores, either the database must be in the RESTORING state or a task must already "
      "exist that restores with NORECOVERY. Database 'online' is ONLINE: you can't restore differential "
      "backups while the database is online.");
  auto log = error("rds_restore_log", restore_args("online", "log.trn"));
  EXPECT_EQ(log.text,
            "For log restores, either the database must be in the RESTORING state or a task must already "
            "exist that "
            "restores with NORECOVERY. Database 'online' is ONLINE: you can't restore log backups while the "
            "database is online.");
  EXPECT_THAT(error("rds_restore_log", restore_args("missing", "log.trn")).text,
              HasSubstr("Database 'missing' does not exist."));
  EXPECT_TRUE(queue->list(std::nullopt, std::nullopt).empty());
}

// --- log restores ------------------------------------------------------------------------------------------

TEST_F(ProceduresTest, LogRestoreDefaultsToNorecoveryAndCarriesStopAt) {
  make_restoring("mydatabase");
  EXPECT_EQ(submitted("rds_restore_log", restore_args("mydatabase", "l1.trn")).task_type,
            "RESTORE_DB_LOG_NORECOVERY");
  EXPECT_EQ(submitted("rds_restore_log",
                      restore_args("mydatabase", "l2.trn", {arg("@with_norecovery", int64_t{1})}))
                .task_type,
            "RESTORE_DB_LOG_NORECOVERY");
  auto last =
      submitted("rds_restore_log", restore_args("mydatabase", "l3.trn",
                                                {arg("@with_norecovery", int64_t{0}),
                                                 arg("@stopat", std::string("2019-12-01 03:57:09"))}));
  EXPECT_EQ(last.task_type, "RESTORE_DB_LOG");
  EXPECT_EQ(last.parameters.value("stopat_us", int64_t{0}), 1575172629LL * 1000000);
  EXPECT_EQ(last.parameters.value("key", ""), "l3.trn");
}

TEST_F(ProceduresTest, LogRestoreArgumentErrors) {
  make_restoring("mydatabase");
  EXPECT_EQ(
      error("rds_restore_log", restore_args("mydatabase", "l.trn", {arg("@stopat", std::string("noon"))}))
          .number,
      241);
  EXPECT_EQ(error("rds_restore_log", {arg("@restore_db_name", std::string("mydatabase")),
                                      arg("@s3_arn_to_restore_from", std::string(""))})
                .text,
            "S3 ARN prefix cannot be empty");
  EXPECT_EQ(
      error("rds_restore_log", restore_args("mydatabase", "l.trn", {arg("@with_norecovery", int64_t{3})}))
          .text,
      "@with_norecovery must be 0 or 1, not 3.");
  EXPECT_EQ(error("rds_restore_log", {arg("@restore_db_name", std::string("mydatabase"))}).number, 201);
  EXPECT_TRUE(queue->list(std::nullopt, std::nullopt).empty());
}

// --- rds_finish_restore ------------------------------------------------------------------------------------

TEST_F(ProceduresTest, FinishRestoreByTheMasterOrTheLastRestorer) {
  make_restoring("mydatabase", "alice");
  auto by_master = submitted("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))});
  EXPECT_EQ(by_master.task_type, "FINISH_RESTORE");
  EXPECT_EQ(by_master.s3_object_arn, std::nullopt);
  set_lifecycle(by_master.task_id, "ERROR");
  EXPECT_EQ(submitted("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}, "ALICE").task_type,
            "FINISH_RESTORE");
}

TEST_F(ProceduresTest, FinishRestoreRefusesOtherLogins) {
  make_restoring("mydatabase", "alice");
  auto m = error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}, "bob");
  EXPECT_EQ(m.number, 229);
  EXPECT_EQ(m.severity, 14);
  EXPECT_EQ(
      m.text,
      "The login 'bob' can't finish the restore of database 'mydatabase': only the master login or the login "
      "that most recently restored the database or log with NORECOVERY can.");
  // A NORECOVERY restore bob queued makes him the most recent restorer.
  submitted("rds_restore_log", restore_args("mydatabase", "l.trn"), "bob");
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}, "alice").text,
              HasSubstr("The login 'alice' can't finish"));
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}, "bob").text,
              HasSubstr("pending RESTORE_DB_LOG_NORECOVERY task"));
}

TEST_F(ProceduresTest, FinishRestoreNeedsARestoringDatabaseWithoutPendingRestores) {
  engine.create_database("online");
  EXPECT_EQ(error("rds_finish_restore", {arg("@db_name", std::string("online"))}).text,
            "Database 'online' is ONLINE: to finish a restore, the database must be in the RESTORING state.");
  EXPECT_EQ(error("rds_finish_restore", {arg("@db_name", std::string("nope"))}).text,
            "Database 'nope' does not exist. Make sure that the name is entered correctly.");
  make_restoring("mydatabase");
  auto log = submitted("rds_restore_log", restore_args("mydatabase", "l.trn"));
  EXPECT_EQ(
      error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}).text,
      "Database 'mydatabase' has a pending RESTORE_DB_LOG_NORECOVERY task (task " +
          std::to_string(log.task_id) +
          "): to finish a restore, the database must be in the RESTORING state without any pending restore "
          "tasks.");
  set_lifecycle(log.task_id, "SUCCESS");
  auto finish = submitted("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))});
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}).text,
              HasSubstr("has a pending FINISH_RESTORE task"));
  EXPECT_EQ(error("rds_restore_log", restore_args("mydatabase", "l2.trn")).text,
            "You can't submit a restore task for a database that already has a pending FINISH_RESTORE task.");
  EXPECT_EQ(error("rds_cancel_task", {arg("@task_id", finish.task_id)}).text,
            "You can't cancel a FINISH_RESTORE task.");
}

TEST_F(ProceduresTest, FinishRestoreRefusesADamagedDatabase) {
  make_restoring("mydatabase");
  msdb.with([](sqlite::Database& db) {
    db.exec("UPDATE databases SET restore_damaged = 1 WHERE name = 'mydatabase'");
  });
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}).text,
              HasSubstr("a restore into it failed while writing pages"));
}

TEST_F(ProceduresTest, FinishRestoreNeedsTheOptionAndNoTransaction) {
  make_restoring("mydatabase");
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}, "admin", true).text,
              HasSubstr("Calling rds_finish_restore within a transaction isn't supported."));
  access.remove_backup_restore_option();
  EXPECT_THAT(error("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))}).text,
              HasSubstr("Database backup/restore option is not enabled yet"));
}

// --- rds_drop_database -------------------------------------------------------------------------------------

TEST_F(ProceduresTest, DropDatabaseRemovesARestoringDatabaseAndItsHistory) {
  make_restoring("mydatabase", "alice");
  msdb.with([](sqlite::Database& db) {
    db.exec(
        "INSERT INTO backupset (backup_set_id, media_set_id, database_name, database_guid, type, "
        "backup_start_date, "
        "backup_finish_date, backup_size, compressed_backup_size, media_arn) VALUES (7, 7, 'mydatabase', "
        "'g', 'D', "
        "'2024-01-01', '2024-01-01', 1, 1, 'arn:aws:s3:::b/k')");
    db.exec(
        "INSERT INTO backupmediafamily (media_set_id, family_sequence_number, physical_device_name, "
        "device_type) "
        "VALUES (7, 1, 'arn:aws:s3:::b/k', 9)");
  });
  auto denied = error("rds_drop_database", {arg("@db_name", std::string("mydatabase"))}, "bob");
  EXPECT_EQ(denied.number, 229);
  EXPECT_EQ(denied.text,
            "The login 'bob' can't drop database 'mydatabase': only the master login or the login that most "
            "recently "
            "restored the database or log with NORECOVERY can.");
  ASSERT_TRUE(engine.find("mydatabase"));

  auto sink = call("rds_drop_database", {arg("@db_name", std::string("MYDATABASE"))}, "alice");
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0].severity, 0);
  EXPECT_EQ(sink.messages[0].text,
            "Database 'mydatabase' was dropped, and its backup history removed from msdb.");
  EXPECT_FALSE(engine.find("mydatabase"));
  EXPECT_EQ(msdb.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT (SELECT count(*) FROM backupset) + (SELECT count(*) FROM backupmediafamily)");
    s.step();
    return s.get_int(0);
  }),
            0);
}

TEST_F(ProceduresTest, DropDatabaseRefusesPendingTasksAndOnlineDatabases) {
  make_restoring("mydatabase");
  auto log = submitted("rds_restore_log", restore_args("mydatabase", "l.trn"));
  const char* pending =
      "You can't submit a DROP database request for a database that already has a pending restore or finish "
      "restore task.";
  EXPECT_EQ(error("rds_drop_database", {arg("@db_name", std::string("mydatabase"))}).text, pending);
  set_lifecycle(log.task_id, "SUCCESS");
  submitted("rds_finish_restore", {arg("@db_name", std::string("mydatabase"))});
  EXPECT_EQ(error("rds_drop_database", {arg("@db_name", std::string("mydatabase"))}).text, pending);
  EXPECT_TRUE(engine.find("mydatabase"));

  engine.create_database("online");
  EXPECT_EQ(
      error("rds_drop_database", {arg("@db_name", std::string("online"))}).text,
      "Database 'online' is ONLINE: rds_drop_database drops only databases in the RESTORING state. Use DROP "
      "DATABASE for other databases.");
  EXPECT_EQ(error("rds_drop_database", {arg("@db_name", std::string("nope"))}).text,
            "Database 'nope' does not exist. Make sure that the name is entered correctly.");
  EXPECT_THAT(error("rds_drop_database", {arg("@db_name", std::string("online"))}, "admin", true).text,
              HasSubstr("Calling rds_drop_database within a transaction isn't supported."));
}

// --- restart recovery --------------------------------------------------------------------------------------

class RestartTest : public ProceduresTest {
 protected:
  // A backup task the previous run left IN_PROGRESS, as far as it had come: its backup id recorded.
  int64_t interrupted_backup(const std::string& key, const Guid& backup_id) {
    tasks::TaskQueue previous(msdb);
    previous.set_runner(tasks::kBackupDb, [](const tasks::TaskRecord&, JobControl&) {});
    int64_t id = previous.submit({tasks::kBackupDb,
                                  "mydatabase",
                                  std::string(kArn) + key,
                                  1,
                                  std::nullopt,
                                  "admin",
                                  {{"bucket", "aws_example_bucket"}, {"key", key}}});
    previous.add_parameters(id, {{"backup_id", guid_to_string(backup_id)}});
    set_lifecycle(id, "IN_PROGRESS");
    return id;
  }
  // A task the previous run left IN_PROGRESS.
  int64_t interrupted(const std::string& type, const std::string& database,
                      const nlohmann::json& parameters = nlohmann::json::object()) {
    tasks::TaskQueue previous(msdb);
    previous.set_runner(type, [](const tasks::TaskRecord&, JobControl&) {});
    int64_t id = previous.submit(
        {type, database, std::string(kArn) + "x", std::nullopt, std::nullopt, "admin", parameters});
    set_lifecycle(id, "IN_PROGRESS");
    return id;
  }
};

TEST_F(RestartTest, BackupWithABackupsetRowHadCompleted) {
  engine.create_database("mydatabase");
  int64_t done = interrupted(tasks::kBackupLog, "mydatabase");
  int64_t cut = interrupted(tasks::kBackupDbDifferential, "mydatabase");
  msdb.with([&](sqlite::Database& db) {
    db.prepare(
          "INSERT INTO backupset (database_name, database_guid, type, backup_start_date, backup_finish_date, "
          "backup_size, compressed_backup_size, media_arn, task_id) VALUES ('mydatabase', 'g', 'L', "
          "'2024-01-01', "
          "'2024-01-01', 1, 1, 'arn:aws:s3:::b/k', ?)")
        .bind(1, done)
        .run();
  });
  context();
  EXPECT_EQ(queue->get(done)->lifecycle, "SUCCESS");
  EXPECT_EQ(queue->get(cut)->lifecycle, "ERROR");
  EXPECT_THAT(queue->get(cut)->task_info, HasSubstr("partial output removed"));
}

TEST_F(RestartTest, FullNorecoveryRestoreThatFinishedIsKeptAndAHalfOneRemoved) {
  make_restoring("complete");
  make_restoring("half");
  // A full restore that had not finished has no base backup yet.
  msdb.with([](sqlite::Database& db) {
    db.exec("UPDATE databases SET restore_base_backup_id = NULL, restore_lsn = NULL WHERE name = 'half'");
  });
  int64_t complete = interrupted(tasks::kRestoreDbNorecovery, "complete");
  int64_t half = interrupted(tasks::kRestoreDbNorecovery, "half");
  context();
  EXPECT_EQ(queue->get(complete)->lifecycle, "SUCCESS");
  EXPECT_EQ(engine.find("complete")->state, engine::DatabaseState::kRestoring);
  EXPECT_EQ(queue->get(half)->lifecycle, "ERROR");
  EXPECT_FALSE(engine.find("half"));
}

TEST_F(RestartTest, DifferentialAndLogRestoresNeverDiscardTheDatabase) {
  make_restoring("mydatabase");
  int64_t diff = interrupted(tasks::kRestoreDbDifferentialNorecovery, "mydatabase");
  int64_t log = interrupted(tasks::kRestoreDbLog, "mydatabase");
  context();
  for (int64_t id : {diff, log}) {
    auto task = *queue->get(id);
    EXPECT_EQ(task.lifecycle, "ERROR");
    EXPECT_THAT(task.task_info, HasSubstr("The database stays RESTORING"));
  }
  EXPECT_EQ(engine.find("mydatabase")->state, engine::DatabaseState::kRestoring);
}

TEST_F(RestartTest, FinishRestoreHadCompletedIfTheDatabaseIsOnline) {
  make_restoring("stuck");
  make_restoring("opened");
  engine.finish_restore("opened");
  int64_t stuck = interrupted(tasks::kFinishRestore, "stuck");
  int64_t opened = interrupted(tasks::kFinishRestore, "opened");
  context();
  EXPECT_EQ(queue->get(opened)->lifecycle, "SUCCESS");
  EXPECT_EQ(queue->get(stuck)->lifecycle, "ERROR");
  EXPECT_EQ(engine.find("stuck")->state, engine::DatabaseState::kRestoring);
}

// A backup that had published its object when the instance stopped, but not yet its backupset row, was
// deleted at restart: with @overwrite_s3_backup_file=1 the object it replaced was gone already, so the user
// had nothing. It is kept, verified and recorded, and becomes the differential base it would have been.
TEST_F(RestartTest, ABackupPublishedBeforeItsHistoryWasRecordedIsKept) {
  engine.create_database("mydatabase");
  engine.connect("mydatabase")->db().exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2)");
  store.create_bucket("aws_example_bucket", "us-east-1");
  Guid backup_id = random_guid();
  int64_t id = interrupted_backup("kept.bak", backup_id);
  backup::Environment env{engine, store, msdb, config, 0};
  struct Quiet : JobControl {
    void progress(int, const std::string&) override {}
    bool cancel_requested() const override { return false; }
  } control;
  backup::BackupRequest request{
      id,         backup_id, "mydatabase", std::string(kArn) + "kept.bak", "aws_example_bucket",
      "kept.bak", true,      false,        backup::BackupKind::kFull,      {},
      {},         ""};
  backup::run_backup(request, env, control);
  // The crash came between publishing the object and recording it.
  msdb.with([&](sqlite::Database& db) { db.exec("DELETE FROM backupmediafamily; DELETE FROM backupset;"); });
  // Another interrupted backup whose key holds somebody else's object: that one is left alone too.
  auto other = store.create("aws_example_bucket", "someone-elses.bak");
  other->write(std::vector<uint8_t>{1, 2, 3});
  other->commit();
  int64_t foreign = interrupted_backup("someone-elses.bak", random_guid());

  context();
  auto task = *queue->get(id);
  EXPECT_EQ(task.lifecycle, "SUCCESS");
  EXPECT_THAT(task.task_info, HasSubstr("it was verified, kept and recorded in msdb.dbo.backupset"));
  EXPECT_TRUE(store.exists("aws_example_bucket", "kept.bak"));
  msdb.with([&](sqlite::Database& db) {
    auto s = db.prepare("SELECT type, is_copy_only, backup_set_uuid, task_id FROM backupset");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.get_text(0), "D");
    EXPECT_EQ(s.get_int(1), 0);
    EXPECT_EQ(s.get_text(2), guid_to_string(backup_id));
    EXPECT_EQ(s.get_int(3), id);
    EXPECT_FALSE(s.step());
  });
  EXPECT_EQ(engine.differential_base("mydatabase")->backup_id, backup_id);
  EXPECT_EQ(queue->get(foreign)->lifecycle, "ERROR");
  EXPECT_EQ(store.open("aws_example_bucket", "someone-elses.bak")->size(), 3u);
  // And the kept backup restores.
  backup::RestoreRequest restore;
  restore.task_id = 99;
  restore.database = "copy";
  restore.arn = std::string(kArn) + "kept.bak";
  restore.bucket = "aws_example_bucket";
  restore.key = "kept.bak";
  backup::run_restore(restore, env, control);
  auto c = engine.connect("copy");
  auto count = c->db().prepare("SELECT count(*) FROM t");
  count.step();
  EXPECT_EQ(count.get_int(0), 2);
}

// A power cut can fall after a roll-forward's last change and before its task is marked SUCCESS.
TEST_F(RestartTest, RollForwardsThatCompletedEndSuccess) {
  make_restoring("opened");
  engine.finish_restore("opened");  // as a RESTORE_DB_LOG WITH RECOVERY leaves it
  make_restoring("rolled");
  make_restoring("stopped");
  auto redo = [&](const char* name) { return static_cast<int64_t>(*engine.find(name)->restore_lsn); };
  int64_t opened = interrupted(tasks::kRestoreDbLog, "opened", {{"restore_lsn_before", 1}});
  // The runner noted the redo point it started from; the log moved it on (rolled) or did not (stopped).
  int64_t rolled =
      interrupted(tasks::kRestoreDbLogNorecovery, "rolled", {{"restore_lsn_before", redo("rolled") - 3}});
  int64_t stopped =
      interrupted(tasks::kRestoreDbLogNorecovery, "stopped", {{"restore_lsn_before", redo("stopped")}});
  context();
  EXPECT_EQ(queue->get(opened)->lifecycle, "SUCCESS");
  EXPECT_EQ(queue->get(rolled)->lifecycle, "SUCCESS");
  EXPECT_EQ(queue->get(stopped)->lifecycle, "ERROR");
  EXPECT_THAT(queue->get(stopped)->task_info, HasSubstr("The database stays RESTORING"));
}

TEST_F(RestartTest, FullRestoreWithRecoveryIsDoneOnlyWhenOnline) {
  make_restoring("half");
  int64_t id = interrupted(tasks::kRestoreDb, "half");
  context();
  EXPECT_EQ(queue->get(id)->lifecycle, "ERROR");
  EXPECT_FALSE(engine.find("half"));
}

}  // namespace
}  // namespace bakrest::procs

namespace bakrest::procs {
namespace {

// A restart between a full backup's history row and its success reaching the database's log left the
// task SUCCESS but the differential base on the older full backup and, for the first full backup in FULL
// recovery, no log chain: BACKUP LOG was refused (4214). At restart the recorded full backup is adopted.
TEST(RestartAdoptTest, ARecordedFullBackupBecomesTheBaseAndStartsTheLogChain) {
  bakrest::testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  storage::LocalStore store{dir.path() / "store"};
  store.create_bucket("aws_example_bucket", "us-east-1");
  instance::Config config;
  testing::DefaultAccess access{msdb, config};
  namespace fs = std::filesystem;
  fs::path changed_pages;
  Guid backup_id = random_guid();
  int64_t task_id = 0;
  {
    engine::Engine engine{dir.path() / "databases", msdb};
    engine.create_database("db");
    engine.connect("db")->db().exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)");
    changed_pages = engine::log_dir_for(engine.find("db")->file) / "changed-pages";
    engine.checkpoint_all(0);  // the log is flushed: the changed-page file is on disk
    fs::copy_file(changed_pages, dir.path() / "before.bin");
    tasks::TaskQueue queue(msdb);
    queue.set_runner(tasks::kBackupDb, [](const tasks::TaskRecord&, JobControl&) {});
    task_id = queue.submit(
        {tasks::kBackupDb,
         "db",
         std::string(kArn) + "full.bak",
         1,
         std::nullopt,
         "admin",
         {{"bucket", "aws_example_bucket"}, {"key", "full.bak"}, {"backup_id", guid_to_string(backup_id)}}});
    backup::Environment env{engine, store, msdb, config, 0};
    struct Quiet : JobControl {
      void progress(int, const std::string&) override {}
      bool cancel_requested() const override { return false; }
    } control;
    backup::run_backup({task_id,
                        backup_id,
                        "db",
                        std::string(kArn) + "full.bak",
                        "aws_example_bucket",
                        "full.bak",
                        false,
                        false,
                        backup::BackupKind::kFull,
                        {},
                        {},
                        ""},
                       env, control);
  }
  // As the instance left it when it stopped after recording the backup: the task still IN_PROGRESS, the
  // changed-page file and the log chain as before the backup.
  fs::copy_file(dir.path() / "before.bin", changed_pages, fs::copy_options::overwrite_existing);
  msdb.with([&](sqlite::Database& db) {
    db.exec("UPDATE databases SET log_chain_lsn = NULL WHERE name = 'db'");
    db.prepare("UPDATE tasks SET lifecycle = 'IN_PROGRESS' WHERE task_id = ?").bind(1, task_id).run();
  });
  engine::Engine engine{dir.path() / "databases", msdb};
  EXPECT_FALSE(engine.differential_base("db").has_value());
  tasks::TaskQueue queue(msdb);
  Context context{engine, queue, store, msdb, config, access.option_groups, nullptr, nullptr};
  install_task_runners(context, 0);
  EXPECT_EQ(queue.get(task_id)->lifecycle, "SUCCESS");
  auto base = engine.differential_base("db");
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->backup_id, backup_id);
  EXPECT_NO_THROW(engine.begin_log_backup("db"));  // the log chain runs: no 4214
}

}  // namespace
}  // namespace bakrest::procs
