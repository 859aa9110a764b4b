#include "sql/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "session_fixture.h"

namespace bakrest::sql {
namespace {

using testing::CollectingSink;

class SessionTest : public SessionFixture {
 protected:
  Value scalar(const std::string& sql) {
    auto sink = run(sql);
    EXPECT_TRUE(sink.errors().empty()) << (sink.errors().empty() ? "" : sink.errors()[0].text);
    EXPECT_FALSE(sink.results.empty());
    return sink.results.empty() ? Value() : sink.results.back().rows.at(0).at(0);
  }
};

TEST_F(SessionTest, StartsInMasterAndUseSwitches) {
  EXPECT_EQ(session.current_database(), "master");
  auto sink = run("CREATE DATABASE shop\nUSE shop");
  EXPECT_TRUE(sink.errors().empty());
  EXPECT_EQ(sink.database, "shop");
  EXPECT_EQ(session.current_database(), "shop");
  EXPECT_EQ(std::get<std::string>(scalar("SELECT DB_NAME()")), "shop");
}

TEST_F(SessionTest, NestedTransactionsCommitOnlyAtTheOutermostCommit) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  run("BEGIN TRAN; BEGIN TRAN; INSERT INTO t VALUES (1)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 2);
  run("COMMIT");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("COMMIT");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  run("BEGIN TRAN; INSERT INTO t VALUES (2); ROLLBACK");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
  auto sink = run("COMMIT");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 3902);
}

TEST_F(SessionTest, FailingStatementReportsAndTheBatchGoesOn) {
  auto sink =
      run("CREATE DATABASE shop\nUSE shop\nSELECT * FROM missing\nCREATE TABLE t (x INT)\nINSERT INTO t "
          "VALUES (7)");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 208);
  EXPECT_EQ(sink.errors()[0].text, "Invalid object name 'missing'.");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM t")), 7);
}

TEST_F(SessionTest, ResultColumnsGetSqlServerTypes) {
  run("CREATE DATABASE shop; USE shop;"
      "CREATE TABLE t (i INT, b BIGINT, f FLOAT, s NVARCHAR(20), m NVARCHAR(MAX), v VARBINARY(MAX), d "
      "DATETIME, "
      "flag BIT)");
  run("INSERT INTO t VALUES (1, 5000000000, 1.5, N'é', N'long', 0x0102, '2024-05-01 10:00:00', 1), "
      "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  auto sink = run("SELECT * FROM t");
  ASSERT_EQ(sink.results.size(), 1u);
  const auto& c = sink.results[0].columns;
  EXPECT_EQ(c[0].type, ColumnType::kInt);
  EXPECT_EQ(c[1].type, ColumnType::kBigInt);
  EXPECT_EQ(c[2].type, ColumnType::kFloat);
  EXPECT_EQ(c[3].type, ColumnType::kNVarChar);
  EXPECT_EQ(c[3].max_length, 20u);
  EXPECT_EQ(c[4].type, ColumnType::kNVarCharMax);  // (MAX) columns go as (MAX) whatever their values
  EXPECT_EQ(c[5].type, ColumnType::kVarBinaryMax);
  EXPECT_EQ(c[6].type, ColumnType::kDateTime);
  EXPECT_EQ(c[7].type, ColumnType::kBit);
  const auto& row = sink.results[0].rows[0];
  EXPECT_EQ(std::get<Bytes>(row[5]), (Bytes{1, 2}));
  EXPECT_TRUE(std::holds_alternative<DateTime>(row[6]));
  EXPECT_EQ(std::get<bool>(row[7]), true);
  EXPECT_TRUE(is_null(sink.results[0].rows[1][0]));
  EXPECT_EQ(sink.dones.back(), std::optional<uint64_t>(2));
}

TEST_F(SessionTest, DecimalIntegersStayExact) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (d DECIMAL(20,0)); INSERT INTO t VALUES "
      "(9007199254740993)");
  auto sink = run("SELECT d FROM t");
  EXPECT_EQ(sink.results.at(0).columns.at(0).type, ColumnType::kBigInt);
  EXPECT_EQ(std::get<int64_t>(sink.results[0].rows.at(0).at(0)), 9007199254740993);
}

TEST_F(SessionTest, LargeResultsStreamWithTypesFromTheFirstRows) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (i INT, s NVARCHAR(10));"
      "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5000) "
      "INSERT INTO t SELECT x, 'v' || x FROM n");
  auto sink = run("SELECT i, s FROM t ORDER BY i");
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].rows.size(), 5000u);
  // Later rows are not seen when types are chosen: the declared types decide.
  EXPECT_EQ(sink.results[0].columns[0].type, ColumnType::kInt);
  EXPECT_EQ(sink.results[0].columns[1].type, ColumnType::kNVarChar);
  EXPECT_EQ(sink.results[0].columns[1].max_length, 10u);
  EXPECT_EQ(std::get<std::string>(sink.results[0].rows[4999][1]), "v5000");
  EXPECT_EQ(sink.dones.back(), std::optional<uint64_t>(5000));

  // SQLite let a text value into the INT column; once the column is typed, that row fails like SQL Server.
  run("UPDATE t SET i = 'oops' WHERE i = 4000");
  auto bad = run("SELECT i FROM t ORDER BY rowid");
  ASSERT_EQ(bad.errors().size(), 1u);
  EXPECT_EQ(bad.errors()[0].number, 245);
  EXPECT_EQ(bad.errors()[0].text, "Conversion failed when converting the value 'oops' to data type int.");
  run("UPDATE t SET i = 5000000000 WHERE i = 4001");
  EXPECT_EQ(run("SELECT i FROM t WHERE typeof(i) = 'integer' ORDER BY rowid").errors().at(0).number, 8115);
  run("UPDATE t SET s = 'far longer than ten' WHERE i = 4002");
  EXPECT_EQ(run("SELECT s FROM t ORDER BY rowid").errors().at(0).number, 8152);
  // Undeclared expressions take the widest types.
  auto widest = run("SELECT i + 0 AS n, s || '' AS t FROM t WHERE typeof(i) = 'integer' AND length(s) < 10");
  EXPECT_EQ(widest.results.at(0).columns[0].type, ColumnType::kBigInt);
  EXPECT_EQ(widest.results.at(0).columns[1].type, ColumnType::kNVarCharMax);
}

TEST_F(SessionTest, RowsAffectedForDmlOnly) {
  auto sink =
      run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2), (3);"
          "UPDATE t SET x = x + 1 WHERE x > 1");
  ASSERT_GE(sink.dones.size(), 2u);
  EXPECT_EQ(sink.dones[sink.dones.size() - 2], std::optional<uint64_t>(3));
  EXPECT_EQ(sink.dones.back(), std::optional<uint64_t>(2));
}

TEST_F(SessionTest, PrintSendsAnInfoMessage) {
  auto sink = run("PRINT N'hello'");
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0].text, "hello");
  EXPECT_EQ(sink.messages[0].severity, 0);
}

TEST_F(SessionTest, MsdbAndOtherDatabasesByThreePartNames) {
  run("CREATE DATABASE a; CREATE DATABASE b; USE a; CREATE TABLE t (x INT); INSERT INTO t VALUES (42)");
  run("USE b");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM a.dbo.t")), 42);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM msdb.dbo.backupset")), 0);
  auto sink = run("SELECT name, state_desc FROM sys.databases WHERE name = 'a'");
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(std::get<std::string>(sink.results[0].rows.at(0).at(1)), "ONLINE");
  auto denied = run("INSERT INTO msdb.dbo.backupset (database_name) VALUES ('x')");
  EXPECT_EQ(denied.errors().size(), 1u);  // msdb is read-only to sessions
}

TEST_F(SessionTest, SpExecuteSqlBindsParameters) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT, s NVARCHAR(10)); INSERT INTO t VALUES (1, "
      "N'a'), (2, N'b')");
  CollectingSink sink;
  session.run_rpc(ProcCall{"sp_executesql",
                           {{"", std::string("SELECT s FROM t WHERE x = @P1"), false},
                            {"", std::string("@P1 int"), false},
                            {"@P1", int64_t{2}, false}}},
                  sink);
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(std::get<std::string>(sink.results[0].rows.at(0).at(0)), "b");
  EXPECT_EQ(sink.return_statuses, std::vector<int32_t>{0});
}

TEST_F(SessionTest, UnknownProcedureIs2812) {
  auto sink = run("EXEC msdb.dbo.nope");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 2812);
}

TEST_F(SessionTest, ProceduresAreRefusedInsideATransaction) {
  run("CREATE DATABASE shop; USE shop; BEGIN TRAN");
  auto sink =
      run("exec msdb.dbo.rds_backup_database @source_db_name='shop', "
          "@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/x.bak'");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_NE(sink.errors()[0].text.find("within a transaction isn't supported"), std::string::npos);
  EXPECT_EQ(sink.errors()[0].procedure, "rds_backup_database");
}

// A NUL used to make the statement loop spin forever (SQLite stops reading at it and makes no progress).
TEST_F(SessionTest, NulInABatchIsAnErrorNotAHang) {
  using namespace std::string_view_literals;
  CollectingSink sink;
  session.run_batch("select 1\0"sv, sink);
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 102);
  EXPECT_TRUE(sink.results.empty());
  CollectingSink inside;
  session.run_batch("select 'a\0b'"sv, inside);
  ASSERT_EQ(inside.errors().size(), 1u);
  // The session still works.
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT 2")), 2);
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

TEST_F(SessionTest, DatabasesAttachedByThreePartNamesAreInUse) {
  run("CREATE DATABASE a; USE a; CREATE TABLE t (x INT)");
  run("USE master");
  EXPECT_TRUE(run("SELECT count(*) FROM a.dbo.t").errors().empty());
  Session other{env, "admin", 52, ""};
  CollectingSink sink;
  other.run_batch("DROP DATABASE a", sink);
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 3702);
  run("USE tempdb");  // a new connection: the attachment and its lease go
  CollectingSink again;
  other.run_batch("DROP DATABASE a", again);
  EXPECT_TRUE(again.errors().empty());
}

TEST_F(SessionTest, LoginsAreNotReadableButTheRestOfMsdbIs) {
  auto sink = run("SELECT * FROM msdb.dbo.logins");
  ASSERT_EQ(sink.errors().size(), 1u);
  run("USE msdb");
  EXPECT_EQ(run("SELECT name FROM logins").errors().size(), 1u);
  EXPECT_TRUE(run("SELECT count(*) FROM tasks").errors().empty());
}

TEST_F(SessionTest, ResetRollsBackAndReturnsToTheLoginDatabase) {
  run("CREATE DATABASE a; USE a; CREATE TABLE t (x INT); BEGIN TRAN; INSERT INTO t VALUES (1)");
  session.reset(true);  // RESETCONNECTIONSKIPTRAN: the transaction and the database stay
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  session.reset(false);
  EXPECT_EQ(session.current_database(), "master");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM a.dbo.t")), 0);
}

TEST_F(SessionTest, VacuumWorks) {
  run("CREATE DATABASE a; USE a; CREATE TABLE t (x INT); INSERT INTO t VALUES (1); DELETE FROM t");
  EXPECT_TRUE(run("VACUUM").errors().empty());
}

TEST_F(SessionTest, ProceduresNeedTheOptionInTheOptionGroup) {
  access.remove_backup_restore_option();
  run("CREATE DATABASE shop");
  auto sink =
      run("exec msdb.dbo.rds_backup_database @source_db_name='shop', "
          "@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/x.bak'");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(
      sink.errors()[0].text,
      "Database backup/restore option is not enabled yet or is in the process of being enabled. Please try "
      "again later.");
}

TEST_F(SessionTest, AlterDatabaseSetsTheRecoveryModel) {
  run("CREATE DATABASE shop");
  EXPECT_EQ(
      std::get<std::string>(scalar("SELECT recovery_model_desc FROM sys.databases WHERE name = 'shop'")),
      "FULL");
  auto sink = run("ALTER DATABASE [shop] SET RECOVERY SIMPLE WITH NO_WAIT");
  EXPECT_TRUE(sink.errors().empty());
  EXPECT_EQ(engine.find("shop")->recovery_model, "SIMPLE");
  EXPECT_EQ(
      std::get<std::string>(scalar("SELECT recovery_model_desc FROM sys.databases WHERE name = 'shop'")),
      "SIMPLE");
  run("USE shop; ALTER DATABASE CURRENT SET RECOVERY BULK_LOGGED WITH ROLLBACK IMMEDIATE");
  EXPECT_EQ(engine.find("shop")->recovery_model, "BULK_LOGGED");
}

TEST_F(SessionTest, AlterDatabaseErrorsAreSqlServers) {
  auto missing = run("ALTER DATABASE nope SET RECOVERY FULL");
  ASSERT_EQ(missing.errors().size(), 2u);
  EXPECT_EQ(missing.errors()[0].number, 5011);
  EXPECT_EQ(missing.errors()[0].severity, 14);
  EXPECT_EQ(missing.errors()[1].number, 5069);
  EXPECT_EQ(missing.errors()[1].text, "ALTER DATABASE statement failed.");
  auto system = run("ALTER DATABASE tempdb SET RECOVERY FULL");
  ASSERT_EQ(system.errors().size(), 2u);
  EXPECT_EQ(system.errors()[0].text, "Option 'RECOVERY' cannot be set in database 'tempdb'.");
  EXPECT_EQ(system.errors()[1].number, 5069);

  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT); BEGIN TRAN");
  auto in_transaction = run("ALTER DATABASE shop SET RECOVERY SIMPLE");
  ASSERT_EQ(in_transaction.errors().size(), 1u);
  EXPECT_EQ(in_transaction.errors()[0].number, 226);
  run("ROLLBACK");
  EXPECT_EQ(engine.find("shop")->recovery_model, "FULL");

  // A malformed ALTER DATABASE is a parse error: nothing in the batch runs.
  auto bogus = run("INSERT INTO t VALUES (1)\nALTER DATABASE shop SET RECOVERY bogus");
  ASSERT_EQ(bogus.errors().size(), 1u);
  EXPECT_EQ(bogus.errors()[0].number, 102);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 0);
  auto other = run("ALTER DATABASE shop SET OFFLINE");
  ASSERT_EQ(other.errors().size(), 1u);
  EXPECT_EQ(other.errors()[0].number, 40517);
}

TEST_F(SessionTest, BackupHistoryColumnsGetSqlServerTypes) {
  msdb.with([](sqlite::Database& db) {
    db.exec(
        "INSERT INTO backupset (backup_set_id, backup_set_uuid, media_set_id, database_name, database_guid, "
        "type, "
        "backup_start_date, backup_finish_date, backup_size, compressed_backup_size, first_lsn, last_lsn, "
        "database_backup_lsn, is_copy_only, media_arn) VALUES "
        "(1, '0A1B2C3D-0000-4000-8000-00000000000A', 1, 'shop', '0A1B2C3D-0000-4000-8000-00000000000B', 'D', "
        "'2024-05-01 10:00:00.000', '2024-05-01 10:00:01.000', 8192, 100, 1000000000000, 1000000000005, "
        "1000000000000, 0, 'arn:aws:s3:::b/full.bak'), "
        "(2, '0A1B2C3D-0000-4000-8000-00000000000C', 2, 'shop', '0A1B2C3D-0000-4000-8000-00000000000B', 'L', "
        "'2024-05-01 11:00:00.000', '2024-05-01 11:00:01.000', 100, 100, 1000000000005, 1000000000009, "
        "1000000000000, 0, 'arn:aws:s3:::b/log.trn')");
    db.exec(
        "INSERT INTO backupmediafamily (media_set_id, family_sequence_number, media_family_id, "
        "physical_device_name, device_type) VALUES (1, 1, '0A1B2C3D-0000-4000-8000-00000000000A', "
        "'arn:aws:s3:::b/full.bak', 9), (2, 1, '0A1B2C3D-0000-4000-8000-00000000000C', "
        "'arn:aws:s3:::b/log.trn', "
        "9)");
  });
  auto sink =
      run("select type, first_lsn, last_lsn, database_backup_lsn, backup_set_uuid, is_copy_only "
          "from msdb.dbo.backupset order by backup_set_id");
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  const auto& c = sink.results.at(0).columns;
  EXPECT_EQ(c[0].type, ColumnType::kNVarChar);
  EXPECT_EQ(c[0].max_length, 1u);
  EXPECT_EQ(c[1].type, ColumnType::kBigInt);
  EXPECT_EQ(c[2].type, ColumnType::kBigInt);
  EXPECT_EQ(c[3].type, ColumnType::kBigInt);
  EXPECT_EQ(c[4].type, ColumnType::kUniqueIdentifier);
  EXPECT_EQ(c[5].type, ColumnType::kBit);
  const auto& rows = sink.results[0].rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(std::get<std::string>(rows[1][0]), "L");
  EXPECT_EQ(std::get<int64_t>(rows[1][1]), 1000000000005);
  EXPECT_EQ(std::get<std::string>(rows[0][4]), "0A1B2C3D-0000-4000-8000-00000000000A");

  auto joined = run(
      "SELECT bs.type, bmf.physical_device_name, bmf.device_type, bmf.media_family_id FROM "
      "msdb.dbo.backupset bs "
      "JOIN msdb.dbo.backupmediafamily bmf ON bmf.media_set_id = bs.media_set_id ORDER BY bs.backup_set_id");
  ASSERT_TRUE(joined.errors().empty()) << joined.errors()[0].text;
  const auto& j = joined.results.at(0);
  ASSERT_EQ(j.rows.size(), 2u);
  EXPECT_EQ(std::get<std::string>(j.rows[1][1]), "arn:aws:s3:::b/log.trn");
  EXPECT_EQ(j.columns[2].type, ColumnType::kTinyInt);  // device_type is tinyint in SQL Server's msdb too
  EXPECT_EQ(std::get<int64_t>(j.rows[1][2]), 9);
  EXPECT_EQ(j.columns[3].type, ColumnType::kUniqueIdentifier);
}

// ---- logins and EXECUTE permissions ----

TEST_F(SessionTest, TheMasterCreatesLoginsThatLogInAndNeedGrantsForTheProcedures) {
  auto created = run("CREATE LOGIN [alice] WITH PASSWORD = N'Alice-Passw0rd'");
  EXPECT_TRUE(created.errors().empty()) << created.errors()[0].text;
  instance::Logins logins(msdb);
  EXPECT_TRUE(logins.verify("alice", "Alice-Passw0rd"));
  EXPECT_FALSE(logins.verify("alice", "wrong"));
  EXPECT_FALSE(logins.is_master("alice"));
  auto again = run("CREATE LOGIN ALICE WITH PASSWORD = 'x'");
  ASSERT_EQ(again.errors().size(), 1u);
  EXPECT_EQ(again.errors()[0].number, 15025);
  EXPECT_EQ(again.errors()[0].text, "The server principal 'ALICE' already exists.");

  Session alice{env, "alice", 52, ""};
  CollectingSink denied;
  alice.run_batch("exec msdb.dbo.rds_task_status", denied);
  ASSERT_EQ(denied.errors().size(), 1u);
  EXPECT_EQ(denied.errors()[0].number, 229);
  EXPECT_EQ(
      denied.errors()[0].text,
      "The EXECUTE permission was denied on the object 'rds_task_status', database 'msdb', schema 'dbo'.");

  auto granted = run("GRANT EXECUTE ON OBJECT::msdb.dbo.rds_task_status TO alice");
  EXPECT_TRUE(granted.errors().empty()) << granted.errors()[0].text;
  CollectingSink allowed;
  alice.run_batch("exec msdb.dbo.rds_task_status", allowed);
  EXPECT_TRUE(allowed.errors().empty()) << allowed.errors()[0].text;
  CollectingSink other;
  alice.run_batch("exec rdsadmin..rds_show_configuration", other);
  ASSERT_EQ(other.errors().size(), 1u);
  EXPECT_EQ(other.errors()[0].text,
            "The EXECUTE permission was denied on the object 'rds_show_configuration', database 'rdsadmin', "
            "schema 'dbo'.");

  run("USE msdb; REVOKE EXECUTE ON dbo.rds_task_status FROM alice; USE master");
  CollectingSink revoked;
  alice.run_batch("exec msdb.dbo.rds_task_status", revoked);
  ASSERT_EQ(revoked.errors().size(), 1u);
  EXPECT_EQ(revoked.errors()[0].number, 229);

  // Only the master login manages logins and permissions.
  for (const char* sql : {"CREATE LOGIN bob WITH PASSWORD = 'b'", "DROP LOGIN admin",
                          "GRANT EXECUTE ON msdb.dbo.rds_task_status TO alice"}) {
    CollectingSink refused;
    alice.run_batch(sql, refused);
    ASSERT_EQ(refused.errors().size(), 1u) << sql;
    EXPECT_EQ(refused.errors()[0].number, 15247) << sql;
    EXPECT_EQ(refused.errors()[0].text, "User does not have permission to perform this action.");
  }
  EXPECT_FALSE(logins.exists("bob"));

  auto dropped = run("DROP LOGIN alice");
  EXPECT_TRUE(dropped.errors().empty());
  EXPECT_FALSE(logins.exists("alice"));
  EXPECT_FALSE(logins.may_execute("alice", "msdb.dbo.rds_task_status"));
}

TEST_F(SessionTest, LoginStatementErrorsNameWhatIsWrong) {
  auto missing = run("DROP LOGIN nobody");
  ASSERT_EQ(missing.errors().size(), 1u);
  EXPECT_EQ(missing.errors()[0].number, 15151);
  EXPECT_EQ(missing.errors()[0].text,
            "Cannot drop the login 'nobody', because it does not exist or you do not have permission.");
  auto master = run("DROP LOGIN admin");
  ASSERT_EQ(master.errors().size(), 1u);
  EXPECT_EQ(master.errors()[0].number, 15174);
  auto empty = run("CREATE LOGIN carol WITH PASSWORD = ''");
  ASSERT_EQ(empty.errors().size(), 1u);
  EXPECT_EQ(empty.errors()[0].number, 15118);
  auto no_object = run("GRANT EXECUTE ON msdb.dbo.rds_nothing TO admin");
  ASSERT_EQ(no_object.errors().size(), 1u);
  EXPECT_EQ(no_object.errors()[0].text,
            "Cannot find the object 'msdb.dbo.rds_nothing', because it does not exist or you do not have "
            "permission.");
  auto no_login = run("GRANT EXECUTE ON msdb.dbo.rds_task_status TO nobody");
  ASSERT_EQ(no_login.errors().size(), 1u);
  EXPECT_EQ(no_login.errors()[0].text,
            "Cannot find the user 'nobody', because it does not exist or you do not have permission.");
  auto in_transaction = run("BEGIN TRAN; CREATE LOGIN carol WITH PASSWORD = 'c'; ROLLBACK");
  ASSERT_EQ(in_transaction.errors().size(), 1u);
  EXPECT_EQ(in_transaction.errors()[0].number, 226);
  EXPECT_FALSE(instance::Logins(msdb).exists("carol"));
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

// SQLite names its own schemas main and temp; a user database may be called either and must never be
// confused with the current database or with SQLite's temporary schema.
TEST_F(SessionTest, DatabasesNamedMainAndTempAreTheirOwn) {
  run("CREATE DATABASE main; USE main; CREATE TABLE t (x INT); INSERT INTO t VALUES (1)");
  auto temp = run("CREATE DATABASE temp; USE temp; CREATE TABLE t (x INT); INSERT INTO t VALUES (2)");
  EXPECT_TRUE(temp.errors().empty()) << temp.errors()[0].text;
  run("CREATE DATABASE other; USE other; CREATE TABLE t (x INT); INSERT INTO t VALUES (3)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM main.dbo.t")), 1);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM temp.dbo.t")), 2);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM other.dbo.t")), 3);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM t")), 3);
  auto insert = run("INSERT INTO main.dbo.t VALUES (10)");
  EXPECT_TRUE(insert.errors().empty()) << insert.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);  // other is untouched
  run("USE main");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT sum(x) FROM t")), 11);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM temp.dbo.t")), 2);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM other..t")), 3);
}

// SQLite attaches at most 10 databases to a connection (msdb is one); a session may name any number, the
// least recently used attachments making room.
TEST_F(SessionTest, ASessionReachesAnyNumberOfDatabasesByThreePartNames) {
  constexpr int kDatabases = 25;
  for (int i = 0; i < kDatabases; ++i) {
    std::string name = "d" + std::to_string(i);
    run("CREATE DATABASE " + name + "; USE " + name + "; CREATE TABLE t (x INT); INSERT INTO t VALUES (" +
        std::to_string(i) + ")");
  }
  run("USE master");
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kDatabases; ++i) {
      std::string sql = "SELECT x FROM d" + std::to_string(i) + ".dbo.t";
      auto sink = run(sql);
      ASSERT_TRUE(sink.errors().empty()) << sql << ": " << sink.errors()[0].text;
      EXPECT_EQ(std::get<int64_t>(sink.results.at(0).rows.at(0).at(0)), i);
    }
  }
  // One statement naming nine databases still works; msdb and the current one are not among them.
  std::string join = "SELECT d0.dbo.t.x";
  for (int i = 1; i < 9; ++i) join += " + d" + std::to_string(i) + ".dbo.t.x";
  join += " FROM d0.dbo.t";
  for (int i = 1; i < 9; ++i) join += ", d" + std::to_string(i) + ".dbo.t";
  EXPECT_EQ(std::get<int64_t>(scalar(join)), 36);
  // Ten in one statement is more than SQLite can hold at once: a clear error, not SQLite's.
  std::string ten = join + ", d9.dbo.t";
  auto sink = run(ten);
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_NE(sink.errors()[0].text.find("at most 9 other databases"), std::string::npos)
      << sink.errors()[0].text;
  // Inside a transaction, databases it has written to stay attached; one more is refused until it ends.
  run("BEGIN TRAN");
  for (int i = 0; i < 9; ++i) {
    auto insert = run("INSERT INTO d" + std::to_string(i) + ".dbo.t VALUES (100)");
    ASSERT_TRUE(insert.errors().empty()) << insert.errors()[0].text;
  }
  auto busy = run("SELECT x FROM d9.dbo.t");
  ASSERT_EQ(busy.errors().size(), 1u);
  EXPECT_NE(busy.errors()[0].text.find("The open transaction uses every database"), std::string::npos)
      << busy.errors()[0].text;
  run("ROLLBACK");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT x FROM d9.dbo.t")), 9);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM d0.dbo.t")), 1);  // the insert was rolled back
  // A detached database is no longer in use: another session can drop it.
  Session other{env, "admin", 52, ""};
  CollectingSink dropped;
  other.run_batch("DROP DATABASE d20", dropped);
  EXPECT_TRUE(dropped.errors().empty()) << dropped.errors()[0].text;
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

// Perl DBD::Sybase's begin_work sends SET IMPLICIT_TRANSACTIONS ON; bakrest once accepted and ignored it,
// so ROLLBACK undid nothing (3903) and the row stayed.
TEST_F(SessionTest, ImplicitTransactionsOpenATransactionThatRollbackUndoes) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT PRIMARY KEY)");
  EXPECT_TRUE(run("SET IMPLICIT_TRANSACTIONS ON").errors().empty());
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);  // a SELECT that reads no table opens none
  EXPECT_TRUE(run("INSERT INTO t VALUES (1)").errors().empty());
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  auto rollback = run(" ROLLBACK TRAN ");
  EXPECT_TRUE(rollback.errors().empty()) << rollback.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 0);  // the SELECT opened one
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("COMMIT");
  run("INSERT INTO t VALUES (2)");
  auto commit = run(" COMMIT TRAN ");
  EXPECT_TRUE(commit.errors().empty()) << commit.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
  run("COMMIT");
  // BEGIN TRANSACTION in implicit mode opens the implicit one too, as in SQL Server.
  run("BEGIN TRAN");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 2);
  run("COMMIT; COMMIT");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  run("SET IMPLICIT_TRANSACTIONS OFF");
  run("INSERT INTO t VALUES (3)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  auto nothing = run("ROLLBACK");
  ASSERT_EQ(nothing.errors().size(), 1u);
  EXPECT_EQ(nothing.errors()[0].number, 3903);
  // A pooled connection's reset goes back to the defaults.
  run("SET IMPLICIT_TRANSACTIONS ON");
  session.reset(false);
  run("USE shop; INSERT INTO t VALUES (4)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
}

TEST_F(SessionTest, XactAbortRollsBackAndEndsTheBatch) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT PRIMARY KEY)");
  auto sink =
      run("SET XACT_ABORT ON; BEGIN TRAN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); "
          "INSERT INTO t VALUES (2)");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 2627);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 0);
  // OFF (the default): the failed statement alone is undone and the batch goes on.
  sink =
      run("SET XACT_ABORT OFF; BEGIN TRAN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); "
          "INSERT INTO t VALUES (2); COMMIT");
  EXPECT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 2);
}

TEST_F(SessionTest, NocountAndTextsizeChangeWhatIsSent) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (s NVARCHAR(MAX), b VARBINARY(MAX))");
  auto counted = run("INSERT INTO t VALUES (N'héllo wörld', 0x0102030405)");
  ASSERT_TRUE(counted.errors().empty()) << counted.errors()[0].text;
  EXPECT_EQ(counted.dones.back(), std::optional<uint64_t>(1));
  auto quiet = run("SET NOCOUNT ON; INSERT INTO t VALUES (N'x', 0x00)");
  EXPECT_EQ(quiet.dones.back(), std::nullopt);
  EXPECT_EQ(run("SELECT s FROM t").dones.back(), std::nullopt);
  run("SET NOCOUNT OFF");
  EXPECT_EQ(run("SELECT s FROM t").dones.back(), std::optional<uint64_t>(2));
  run("SET TEXTSIZE 6");  // 6 bytes: three UTF-16 characters
  auto cut = run("SELECT s, b FROM t WHERE length(s) > 1");
  ASSERT_EQ(cut.results.size(), 1u);
  EXPECT_EQ(std::get<std::string>(cut.results[0].rows.at(0).at(0)), "hél");
  EXPECT_EQ(std::get<Bytes>(cut.results[0].rows.at(0).at(1)), (Bytes{1, 2, 3, 4, 5}));
  run("SET TEXTSIZE 2147483647");
  auto whole = run("SELECT s FROM t WHERE length(s) > 1");
  EXPECT_EQ(std::get<std::string>(whole.results[0].rows.at(0).at(0)), "héllo wörld");
}

// Every SET option is honoured or refused by name; none changes what data means behind the client's back.
TEST_F(SessionTest, SetOptionsAreHonouredOrRefusedByName) {
  // What clients send at connect: pymssql, tedious, jTDS, FreeTDS ODBC.
  for (const char* batch :
       {"SET ARITHABORT ON;SET CONCAT_NULL_YIELDS_NULL ON;SET ANSI_NULLS ON;SET ANSI_NULL_DFLT_ON ON;SET "
        "ANSI_PADDING ON;SET ANSI_WARNINGS ON;SET ANSI_NULL_DFLT_ON ON;SET CURSOR_CLOSE_ON_COMMIT ON;SET "
        "QUOTED_IDENTIFIER ON;SET TEXTSIZE 2147483647;",
        "set ansi_nulls on set ansi_null_dflt_on on set ansi_padding on set ansi_warnings on set arithabort "
        "off "
        "set concat_null_yields_null on set cursor_close_on_commit off set datefirst 7 set dateformat mdy "
        "set "
        "implicit_transactions off set language us_english set numeric_roundabort off set quoted_identifier "
        "on "
        "set textsize 2147483647 set transaction isolation level read committed",
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED SET IMPLICIT_TRANSACTIONS OFF SET QUOTED_IDENTIFIER "
        "ON "
        "SET TEXTSIZE 2147483647",
        "SET NO_BROWSETABLE ON", "SET ANSI_NULLS, QUOTED_IDENTIFIER ON", "SET ROWCOUNT 0",
        "SET LOCK_TIMEOUT 500", "SET DEADLOCK_PRIORITY LOW", "SET LANGUAGE 'us_english'",
        "SET TRANSACTION ISOLATION LEVEL SNAPSHOT", "SET STATISTICS IO OFF", "SET FMTONLY OFF"}) {
    auto sink = run(batch);
    EXPECT_TRUE(sink.errors().empty()) << batch << ": " << sink.errors()[0].text;
  }
  struct Refusal {
    const char* batch;
    const char* text;
  };
  for (const Refusal& r : {
           Refusal{"SET ANSI_NULLS OFF",
                   "SET ANSI_NULLS OFF is not supported: bakrest always behaves as comparisons with NULL are "
                   "never true."},
           Refusal{"SET QUOTED_IDENTIFIER OFF", "SET QUOTED_IDENTIFIER OFF is not supported"},
           Refusal{"SET CONCAT_NULL_YIELDS_NULL OFF", "SET CONCAT_NULL_YIELDS_NULL OFF is not supported"},
           Refusal{"SET ANSI_WARNINGS OFF", "SET ANSI_WARNINGS OFF is not supported"},
           Refusal{"SET ROWCOUNT 5", "SET ROWCOUNT 5 is not supported"},
           Refusal{"SET DATEFORMAT dmy", "SET DATEFORMAT dmy is not supported"},
           Refusal{"SET LANGUAGE Deutsch", "SET LANGUAGE Deutsch is not supported"},
           Refusal{"SET DATEFIRST 1", "SET DATEFIRST 1 is not supported"},
           Refusal{"SET NUMERIC_ROUNDABORT ON", "SET NUMERIC_ROUNDABORT ON is not supported"},
           Refusal{"SET STATISTICS TIME ON", "SET STATISTICS TIME ON is not supported yet."},
           Refusal{"SET CONTEXT_INFO 0x01", "SET CONTEXT_INFO is not supported yet."},
           Refusal{"SET ANSI_NULLS, FOO ON", "SET FOO is not supported yet."},
       }) {
    auto sink = run(r.batch);
    ASSERT_EQ(sink.errors().size(), 1u) << r.batch;
    EXPECT_EQ(sink.errors()[0].number, 40517) << r.batch;
    EXPECT_NE(sink.errors()[0].text.find(r.text), std::string::npos)
        << r.batch << ": " << sink.errors()[0].text;
  }
  // ANSI_DEFAULTS ON turns implicit transactions on.
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT)");
  run("SET ANSI_DEFAULTS ON; INSERT INTO t VALUES (1)");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("ROLLBACK");
}

// ---- control of flow, variables, transactions inside a batch ----

TEST_F(SessionTest, IfElseWhileAndVariablesRunAsTSqlDoes) {
  EXPECT_EQ(std::get<std::string>(
                scalar("DECLARE @x INT = 1; IF @x = 1 BEGIN SELECT 'one' END ELSE SELECT 'other'")),
            "one");
  EXPECT_EQ(std::get<std::string>(scalar("IF 1 = 0 SELECT 'a' ELSE IF 2 = 2 SELECT 'b' ELSE SELECT 'c'")),
            "b");
  // WHILE with CONTINUE and BREAK; += on a declared INT; string concatenation with '+'.
  auto loop =
      run("DECLARE @i INT = 0, @s NVARCHAR(50) = N''\n"
          "WHILE @i < 10 BEGIN SET @i += 1; IF @i = 3 CONTINUE; IF @i = 6 BREAK; SET @s = @s + CAST(@i AS "
          "NVARCHAR(2)) END\n"
          "SELECT @s, @i");
  ASSERT_TRUE(loop.errors().empty()) << loop.errors()[0].text;
  EXPECT_EQ(std::get<std::string>(loop.results.back().rows[0][0]), "1245");
  EXPECT_EQ(std::get<int64_t>(loop.results.back().rows[0][1]), 6);
  // A variable keeps its declared type: INT from text, NVARCHAR(3) cut.
  auto typed = run("DECLARE @n INT = '42', @t NVARCHAR(3) = N'abcdef'; SELECT @n, @t");
  EXPECT_EQ(std::get<int64_t>(typed.results.back().rows[0][0]), 42);
  EXPECT_EQ(std::get<std::string>(typed.results.back().rows[0][1]), "abc");
  EXPECT_EQ(run("SET @nope = 1").errors().at(0).number, 137);
  EXPECT_EQ(run("DECLARE @a INT; DECLARE @a INT").errors().at(0).number, 134);
}

TEST_F(SessionTest, SelectAssignsFromTheLastRowAndReturnsNoResultSet) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (id INT PRIMARY KEY, v NVARCHAR(10))");
  run("INSERT INTO t VALUES (1, N'a'), (2, N'b')");
  auto sink =
      run("DECLARE @id INT, @v NVARCHAR(10); SELECT @id = id, @v = v FROM t ORDER BY id; SELECT @id, @v, "
          "@@ROWCOUNT");
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(sink.results[0].rows[0][0]), 2);
  EXPECT_EQ(std::get<std::string>(sink.results[0].rows[0][1]), "b");
  EXPECT_EQ(std::get<int64_t>(sink.results[0].rows[0][2]), 2);
}

TEST_F(SessionTest, TryCatchHandsTheErrorToCatch) {
  auto sink =
      run("BEGIN TRY SELECT * FROM missing; SELECT 'not reached' END TRY "
          "BEGIN CATCH SELECT ERROR_NUMBER(), ERROR_MESSAGE() END CATCH; SELECT ERROR_NUMBER()");
  EXPECT_TRUE(sink.errors().empty());
  ASSERT_EQ(sink.results.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(sink.results[0].rows[0][0]), 208);
  EXPECT_EQ(std::get<std::string>(sink.results[0].rows[0][1]), "Invalid object name 'missing'.");
  EXPECT_TRUE(is_null(sink.results[1].rows[0][0]));
}

TEST_F(SessionTest, SavepointsRollBackPartOfATransaction) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT)");
  auto sink =
      run("BEGIN TRAN; INSERT INTO t VALUES (1); SAVE TRAN s1; INSERT INTO t VALUES (2); ROLLBACK TRAN s1; "
          "SELECT @@TRANCOUNT; COMMIT");
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(sink.results.at(0).rows[0][0]), 1);  // still in the transaction
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
  // An unknown name is 6401 and leaves the transaction alone; the transaction's own name rolls back all.
  auto unknown = run("BEGIN TRAN outer_tx; INSERT INTO t VALUES (3); ROLLBACK TRAN nosuch");
  ASSERT_EQ(unknown.errors().size(), 1u);
  EXPECT_EQ(unknown.errors()[0].number, 6401);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("ROLLBACK TRAN outer_tx");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
  EXPECT_EQ(run("SAVE TRAN s2").errors().at(0).number, 628);
  // jTDS's savepoint batch: a block inside IF, then SAVE TRAN.
  auto jtds =
      run("IF @@TRANCOUNT=0 BEGIN SET IMPLICIT_TRANSACTIONS OFF; BEGIN TRAN; SET IMPLICIT_TRANSACTIONS ON; "
          "END SAVE TRAN jtds1");
  EXPECT_TRUE(jtds.errors().empty()) << jtds.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar(
                "IF @@TRANCOUNT > 0 COMMIT TRAN\r\nSET IMPLICIT_TRANSACTIONS OFF; SELECT @@TRANCOUNT")),
            0);
}

TEST_F(SessionTest, ExecuteSqlReturnsOutputParametersTypedAsDeclared) {
  CollectingSink sink;
  session.run_rpc(ProcCall{"sp_executesql",
                           {{"", std::string("SET @out = @in + 1; SELECT @twice = @in * 2"), false},
                            {"", std::string("@in int, @out int OUTPUT, @twice bigint OUTPUT"), false},
                            {"@in", int64_t{41}, false},
                            {"@out", Value(), true},
                            {"@twice", Value(), true}}},
                  sink);
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  ASSERT_EQ(sink.return_values.size(), 2u);
  EXPECT_EQ(sink.return_values[0].ordinal, 3);
  EXPECT_EQ(sink.return_values[0].name, "@out");
  EXPECT_EQ(sink.return_values[0].column.type, ColumnType::kInt);
  EXPECT_EQ(std::get<int64_t>(sink.return_values[0].value), 42);
  EXPECT_EQ(sink.return_values[1].column.type, ColumnType::kBigInt);
  EXPECT_EQ(std::get<int64_t>(sink.return_values[1].value), 82);
}

TEST_F(SessionTest, SpResetConnectionIsAProcedureAndResetsTheSession) {
  run("CREATE DATABASE shop; USE shop; SET NOCOUNT ON; BEGIN TRAN");
  CollectingSink sink;
  session.run_rpc(ProcCall{"sp_reset_connection", {}}, sink);
  EXPECT_TRUE(sink.errors().empty());
  EXPECT_EQ(sink.return_statuses, std::vector<int32_t>{0});
  EXPECT_EQ(session.current_database(), "master");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@OPTIONS & 512")), 0);  // NOCOUNT is off again
}

TEST_F(SessionTest, WaitforDelayEndsAtAttention) {
  std::thread attention([&] {
    // The wait has begun once the session shows running; then ATTENTION interrupts it.
    for (;;) {
      auto rows = env.sessions.list();
      if (!rows.empty() && rows[0].status == "running") break;
      std::this_thread::yield();
    }
    session.interrupt();
  });
  auto start = std::chrono::steady_clock::now();
  run("WAITFOR DELAY '00:10:00'");
  attention.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60));
  EXPECT_EQ(run("WAITFOR DELAY 'soon'").errors().at(0).number, 148);
}

TEST_F(SessionTest, ExpressionsHaveNoNameAndTheTypeTheirFormFixes) {
  auto sink = run(
      "SELECT 1 + 1, CAST('2010-01-02' AS date), CAST(1.23456 AS smallmoney), CAST(0x0102 AS varbinary(4)), "
      "GETDATE(), 1.50, N'x' AS named, SYSDATETIME() t");
  ASSERT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  const auto& c = sink.results.at(0).columns;
  const auto& row = sink.results.at(0).rows.at(0);
  EXPECT_EQ(c[0].name, "");
  EXPECT_EQ(c[1].type, ColumnType::kDate);
  EXPECT_EQ(std::get<std::string>(row[1]), "2010-01-02");  // DATE stays text; DATETIME becomes DateTime
  EXPECT_EQ(c[2].type, ColumnType::kSmallMoney);
  EXPECT_DOUBLE_EQ(std::get<double>(row[2]), 1.2346);
  EXPECT_EQ(c[3].type, ColumnType::kVarBinary);
  EXPECT_EQ(std::get<Bytes>(row[3]), (Bytes{1, 2}));
  EXPECT_EQ(c[4].type, ColumnType::kDateTime);
  EXPECT_EQ(c[5].type, ColumnType::kDecimal);
  EXPECT_EQ(c[5].scale, 2);
  EXPECT_EQ(c[6].name, "named");
  EXPECT_EQ(c[7].name, "t");
  EXPECT_EQ(c[7].type, ColumnType::kDateTime2);
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

TEST_F(SessionTest, TemporaryTablesBelongToTheSessionAndOutliveUse) {
  run("CREATE DATABASE shop");
  auto made = run("CREATE TABLE #t (a INT, b NVARCHAR(10)); INSERT INTO #t VALUES (1, N'x'), (2, N'y')");
  ASSERT_TRUE(made.errors().empty()) << made.errors()[0].text;
  run("USE shop");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM #t")), 2);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT #t.a FROM tempdb..#t WHERE b = N'y'")), 2);
  EXPECT_TRUE(std::holds_alternative<int64_t>(scalar("SELECT OBJECT_ID('tempdb..#t')")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(scalar("SELECT OBJECT_ID('#nosuch')")));
  // Not in another session.
  Session other{env, "admin", 52, ""};
  CollectingSink unseen;
  other.run_batch("SELECT * FROM #t", unseen);
  ASSERT_EQ(unseen.errors().size(), 1u);
  EXPECT_EQ(unseen.errors()[0].number, 208);
  EXPECT_EQ(unseen.errors()[0].text, "Invalid object name '#t'.");
  // Before a session names one, OBJECT_ID of a temporary table is NULL, not an error.
  CollectingSink none;
  other.run_batch("SELECT OBJECT_ID('tempdb..#t')", none);
  EXPECT_TRUE(none.errors().empty()) << none.errors()[0].text;
  // sp_reset_connection (a pooled connection handed out again) drops them.
  session.reset(false);
  EXPECT_EQ(run("SELECT * FROM #t").errors().at(0).number, 208);
}

TEST_F(SessionTest, GlobalTemporaryTablesAreSharedUntilTheirSessionEnds) {
  {
    Session maker{env, "admin", 53, ""};
    CollectingSink made;
    maker.run_batch("CREATE TABLE ##g (v INT); INSERT INTO ##g VALUES (42)", made);
    ASSERT_TRUE(made.errors().empty()) << made.errors()[0].text;
    EXPECT_EQ(std::get<int64_t>(scalar("SELECT v FROM ##g")), 42);
  }
  EXPECT_EQ(run("SELECT v FROM ##g").errors().at(0).number, 208);
}

TEST_F(SessionTest, TemporaryTablesLeaveThreePartNamesRoom) {
  for (int i = 0; i < 9; ++i)
    run("CREATE DATABASE d" + std::to_string(i) + "; USE d" + std::to_string(i) +
        "; CREATE TABLE t (x INT); INSERT INTO t VALUES (1)");
  run("USE master");
  for (int i = 0; i < 9; ++i) scalar("SELECT x FROM d" + std::to_string(i) + ".dbo.t");
  // Every attachment is taken; the temporary tables' two make room by detaching the least recently used.
  auto made = run("CREATE TABLE #t (x INT); INSERT INTO #t SELECT x FROM d8.dbo.t");
  ASSERT_TRUE(made.errors().empty()) << made.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM #t")), 1);
  std::string nine = "SELECT 1 FROM d0.dbo.t";
  for (int i = 1; i < 9; ++i) nine += ", d" + std::to_string(i) + ".dbo.t";
  auto refused = run(nine);
  ASSERT_EQ(refused.errors().size(), 1u);
  EXPECT_NE(refused.errors()[0].text.find("at most 7 other databases"), std::string::npos)
      << refused.errors()[0].text;
}

// A transaction that has only read holds a snapshot; once another session commits, SQLite refuses it a write
// (SQLITE_BUSY_SNAPSHOT). Under READ COMMITTED that read binds nothing, so the write goes ahead.
TEST_F(SessionTest, AWriteAfterReadsInATransactionSeesAnotherSessionsCommit) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT)");
  run("BEGIN TRAN; SAVE TRAN sp");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 0);
  Session other{env, "admin", 52, "shop"};
  CollectingSink committed;
  other.run_batch("INSERT INTO t VALUES (1)", committed);
  ASSERT_TRUE(committed.errors().empty()) << committed.errors()[0].text;
  auto write = run("INSERT INTO t VALUES (2)");
  ASSERT_TRUE(write.errors().empty()) << write.errors()[0].text;
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 2);
  // The savepoint taken while reading is still there.
  EXPECT_TRUE(run("ROLLBACK TRAN sp").errors().empty());
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("COMMIT");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

TEST_F(SessionTest, RaiserrorReportsAndTheBatchGoesOn) {
  auto sink = run("RAISERROR('boom %d of %s', 16, 3, 5, N'five'); SELECT @@ERROR");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 50000);
  EXPECT_EQ(sink.errors()[0].severity, 16);
  EXPECT_EQ(sink.errors()[0].state, 3);
  EXPECT_EQ(sink.errors()[0].text, "boom 5 of five");
  ASSERT_EQ(sink.results.size(), 1u);  // the SELECT after it ran
  EXPECT_EQ(std::get<int64_t>(sink.results[0].rows.at(0).at(0)), 50000);
  // Severity 10 and below is a message, not an error; @@ERROR stays 0 unless WITH SETERROR.
  auto info = run("DECLARE @n INT = 7; RAISERROR('step %d', 10, 1, @n) WITH NOWAIT; SELECT @@ERROR");
  EXPECT_TRUE(info.errors().empty());
  ASSERT_EQ(info.messages.size(), 1u);
  EXPECT_EQ(info.messages[0].text, "step 7");
  EXPECT_EQ(info.messages[0].severity, 10);
  EXPECT_EQ(std::get<int64_t>(info.results.at(0).rows.at(0).at(0)), 0);
  EXPECT_EQ(std::get<int64_t>(scalar("RAISERROR('x', 1, 1) WITH SETERROR; SELECT @@ERROR")), 50000);
  // Caught by TRY, with its number, text, severity and state.
  auto caught =
      run("BEGIN TRY RAISERROR('inner %s', 16, 2, 'x') END TRY "
          "BEGIN CATCH SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_SEVERITY(), ERROR_STATE() END CATCH");
  EXPECT_TRUE(caught.errors().empty());
  EXPECT_EQ(caught.results.at(0).rows.at(0),
            (std::vector<Value>{int64_t{50000}, std::string("inner x"), int64_t{16}, int64_t{2}}));
  // What SQL Server refuses.
  EXPECT_EQ(run("RAISERROR('x', 19, 1)").errors().at(0).number, 2754);
  EXPECT_EQ(run("RAISERROR('%z', 16, 1)").errors().at(0).number, 2787);
  EXPECT_EQ(run("RAISERROR(50001, 16, 1)").errors().at(0).number, 40517);
}

TEST_F(SessionTest, ThrowEndsTheBatchUnlessCaught) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (x INT)");
  auto sink = run("INSERT INTO t VALUES (1); THROW 50001, N'thrown', 4; INSERT INTO t VALUES (2)");
  ASSERT_EQ(sink.errors().size(), 1u);
  EXPECT_EQ(sink.errors()[0].number, 50001);
  EXPECT_EQ(sink.errors()[0].state, 4);
  EXPECT_EQ(sink.errors()[0].text, "thrown");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);  // the batch ended at THROW
  // THROW in CATCH raises the caught error again; the batch still ends there.
  auto rethrown =
      run("BEGIN TRY INSERT INTO no_such_table VALUES (1) END TRY BEGIN CATCH THROW END CATCH; INSERT INTO t "
          "VALUES (3)");
  ASSERT_EQ(rethrown.errors().size(), 1u);
  EXPECT_EQ(rethrown.errors()[0].number, 208);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);
  // An open transaction stays open (without XACT_ABORT).
  run("BEGIN TRAN; INSERT INTO t VALUES (4); THROW 50002, 'x', 1");
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT @@TRANCOUNT")), 1);
  run("ROLLBACK");
  EXPECT_EQ(run("THROW").errors().at(0).number, 10704);
  EXPECT_EQ(run("THROW 100, 'low', 1").errors().at(0).number, 35100);
}

TEST_F(SessionTest, StatementsBakrestDoesNotHaveAreRefusedByName) {
  for (const auto& [sql, words] : std::vector<std::pair<std::string, std::string>>{
           {"CREATE PROCEDURE p AS SELECT 1", "CREATE PROCEDURE"},
           {"CREATE OR ALTER PROC p AS SELECT 1", "CREATE PROCEDURE"},
           {"CREATE TRIGGER tr ON t AFTER INSERT AS SELECT 1", "CREATE TRIGGER"},
           {"TRUNCATE TABLE t", "TRUNCATE TABLE"},
           {"MERGE t USING s ON 1 = 1 WHEN MATCHED THEN DELETE;", "MERGE"},
           {"BACKUP DATABASE master TO DISK = 'x'", "rds_backup_database"},
           {"DECLARE c CURSOR FOR SELECT 1", "Cursors"},
           {"DBCC CHECKDB", "DBCC"}}) {
    auto sink = run(sql);
    ASSERT_EQ(sink.errors().size(), 1u) << sql;
    EXPECT_EQ(sink.errors()[0].number, 40517) << sql;
    EXPECT_NE(sink.errors()[0].text.find(words), std::string::npos) << sink.errors()[0].text;
  }
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

// FreeTDS's bcp asks for a table's columns with SET FMTONLY ON select * from t SET FMTONLY OFF.
TEST_F(SessionTest, FmtonlySendsColumnsAndRunsNothing) {
  run("CREATE DATABASE shop; USE shop; CREATE TABLE t (id INT PRIMARY KEY, name NVARCHAR(50), at DATETIME)");
  run("INSERT INTO t VALUES (1, N'a', NULL)");
  auto sink = run("SET FMTONLY ON; SELECT * FROM t; INSERT INTO t VALUES (2, N'b', NULL); SET FMTONLY OFF");
  EXPECT_TRUE(sink.errors().empty()) << sink.errors()[0].text;
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_TRUE(sink.results[0].rows.empty());
  ASSERT_EQ(sink.results[0].columns.size(), 3u);
  EXPECT_EQ(sink.results[0].columns[0].type, ColumnType::kInt);
  EXPECT_EQ(sink.results[0].columns[1].type, ColumnType::kNVarChar);
  EXPECT_EQ(sink.results[0].columns[1].max_length, 50u);
  EXPECT_EQ(sink.results[0].columns[2].type, ColumnType::kDateTime);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM t")), 1);  // the INSERT did not run
  // What bakrest runs itself is refused rather than skipped or done.
  auto refused = run("SET FMTONLY ON; CREATE DATABASE other; SET FMTONLY OFF");
  ASSERT_EQ(refused.errors().size(), 1u);
  EXPECT_NE(refused.errors()[0].text.find("under SET FMTONLY ON is not supported"), std::string::npos);
  EXPECT_TRUE(run("USE other").errors().size() == 1u);  // not created
  // A connection reset turns it off.
  run("SET FMTONLY ON");
  session.reset(false);
  EXPECT_EQ(std::get<int64_t>(scalar("SELECT count(*) FROM shop.dbo.t")), 1);
}

}  // namespace
}  // namespace bakrest::sql

namespace bakrest::sql {
namespace {

// SQLAlchemy reads the isolation level from sys.dm_exec_sessions.
TEST_F(SessionTest, DmExecSessionsShowsTheIsolationLevelAsked) {
  const std::string level =
      "SELECT transaction_isolation_level FROM sys.dm_exec_sessions WHERE session_id = @@SPID";
  EXPECT_EQ(std::get<int64_t>(scalar(level)), 2);  // READ COMMITTED
  run("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
  EXPECT_EQ(std::get<int64_t>(scalar(level)), 4);
  run("SET TRANSACTION ISOLATION LEVEL SNAPSHOT");
  EXPECT_EQ(std::get<int64_t>(scalar(level)), 5);
  session.reset(false);
  EXPECT_EQ(std::get<int64_t>(scalar(level)), 2);
}

}  // namespace
}  // namespace bakrest::sql
