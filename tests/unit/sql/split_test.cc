// Statement boundaries: where a batch without semicolons splits, and where it must not.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "sql/parser.h"
#include "sql/split.h"

namespace bakrest::sql {
namespace {

// Each statement's token texts joined by single spaces.
std::vector<std::string> split(std::string_view batch) {
  std::vector<std::string> out;
  for (const SplitStatement& statement : split_statements(batch, tokenize(batch))) {
    std::string text;
    for (const Token& t : statement.tokens) text += (text.empty() ? "" : " ") + t.text;
    out.push_back(text);
  }
  return out;
}

using Statements = std::vector<std::string>;

TEST(Split, Semicolons) {
  EXPECT_EQ(split("SELECT 1; SELECT 2;"), (Statements{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split(";; SELECT 1 ;;"), (Statements{"SELECT 1"}));
  EXPECT_TRUE(split("").empty());
  EXPECT_TRUE(split(" ; ; -- nothing").empty());
}

TEST(Split, NewlineSeparatedBatch) {
  EXPECT_EQ(
      split("CREATE DATABASE a\nUSE a\nCREATE TABLE t (x INT)\nINSERT INTO t VALUES (1)\nSELECT * FROM t"),
      (Statements{"CREATE DATABASE a", "USE a", "CREATE TABLE t ( x INT )", "INSERT INTO t VALUES ( 1 )",
                  "SELECT * FROM t"}));
}

TEST(Split, StatementsOnOneLine) {
  EXPECT_EQ(split("SELECT 1 SELECT 2"), (Statements{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split("SELECT *\nSELECT 1"), (Statements{"SELECT *", "SELECT 1"}));
  EXPECT_EQ(split("SELECT t.* FROM t SELECT 1"), (Statements{"SELECT t . * FROM t", "SELECT 1"}));
}

TEST(Split, EveryStatementKeywordStartsAStatement) {
  EXPECT_EQ(
      split(
          "SELECT 1\nINSERT INTO t VALUES (1)\nUPDATE t SET a = 1\nDELETE FROM t\nCREATE TABLE u (a INT)\n"
          "DROP TABLE u\nALTER TABLE t ADD b INT\nEXEC p\nEXECUTE p\nUSE db\nPRINT 'x'\nSET NOCOUNT ON\n"
          "BEGIN TRAN\nCOMMIT\nBEGIN TRANSACTION\nROLLBACK\nTRUNCATE TABLE t\n"
          "WITH c AS (SELECT 1 AS x) SELECT x FROM c\nMERGE t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;"
          "DECLARE @x INT"),
      (Statements{"SELECT 1",
                  "INSERT INTO t VALUES ( 1 )",
                  "UPDATE t SET a = 1",
                  "DELETE FROM t",
                  "CREATE TABLE u ( a INT )",
                  "DROP TABLE u",
                  "ALTER TABLE t ADD b INT",
                  "EXEC p",
                  "EXECUTE p",
                  "USE db",
                  "PRINT 'x'",
                  "SET NOCOUNT ON",
                  "BEGIN TRAN",
                  "COMMIT",
                  "BEGIN TRANSACTION",
                  "ROLLBACK",
                  "TRUNCATE TABLE t",
                  "WITH c AS ( SELECT 1 AS x ) SELECT x FROM c",
                  "MERGE t USING s ON t . a = s . a WHEN MATCHED THEN DELETE",
                  "DECLARE @x INT"}));
}

TEST(Split, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(split("select 1\nselect 2\nexec p"), (Statements{"select 1", "select 2", "exec p"}));
}

TEST(Split, GoLineSeparates) {
  EXPECT_EQ(split("CREATE TABLE t (a INT)\nGO\nSELECT 1\n  go  \nSELECT 2\nGO"),
            (Statements{"CREATE TABLE t ( a INT )", "SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split("SELECT 1\r\nGO\r\nSELECT 2"), (Statements{"SELECT 1", "SELECT 2"}));
  EXPECT_EQ(split("SELECT 1\nGO -- done\nSELECT 2"), (Statements{"SELECT 1", "SELECT 2"}));
}

TEST(Split, GoOnFirstAndLastLines) {
  EXPECT_EQ(split("GO\nSELECT 1\nGO  \n"), (Statements{"SELECT 1"}));
  EXPECT_EQ(split("go"), (Statements{}));
}

TEST(Split, GoEndsATriggerBodyThatNeverEnded) {
  EXPECT_EQ(split("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;\nGO\nSELECT 2"),
            (Statements{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1 ;", "SELECT 2"}));
}

TEST(Split, CommentsBetweenStatements) {
  EXPECT_EQ(split("SELECT 1 -- first\n/* second */ SELECT 2"), (Statements{"SELECT 1", "SELECT 2"}));
}

TEST(Split, GoInsideALineIsAName) {
  EXPECT_EQ(split("SELECT go FROM t"), (Statements{"SELECT go FROM t"}));
  EXPECT_EQ(split("SELECT a\nGO b"), (Statements{"SELECT a GO b"}));
}

TEST(Split, GoEndsAProcedureBody) {
  EXPECT_EQ(split("CREATE PROCEDURE p AS SELECT 1; SELECT 2\nGO\nEXEC p"),
            (Statements{"CREATE PROCEDURE p AS SELECT 1 ; SELECT 2", "EXEC p"}));
}

TEST(Split, ParenthesesNeverSplit) {
  EXPECT_EQ(
      split("SELECT * FROM t WHERE a IN (SELECT a FROM u) AND EXISTS (SELECT 1)\nSELECT 2"),
      (Statements{"SELECT * FROM t WHERE a IN ( SELECT a FROM u ) AND EXISTS ( SELECT 1 )", "SELECT 2"}));
  EXPECT_EQ(split("INSERT INTO t VALUES ((SELECT 1))"),
            (Statements{"INSERT INTO t VALUES ( ( SELECT 1 ) )"}));
}

TEST(Split, SelectAfterSetOperators) {
  EXPECT_EQ(split("SELECT 1\nUNION\nSELECT 2\nUNION ALL\nSELECT 3\nEXCEPT\nSELECT 4\nINTERSECT\nSELECT 5"),
            (Statements{"SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 EXCEPT SELECT 4 INTERSECT SELECT 5"}));
}

TEST(Split, InsertSelect) {
  EXPECT_EQ(split("INSERT INTO t (a, b)\nSELECT a, b FROM u\nSELECT * FROM t"),
            (Statements{"INSERT INTO t ( a , b ) SELECT a , b FROM u", "SELECT * FROM t"}));
  EXPECT_EQ(split("INSERT t SELECT 1 UNION ALL SELECT 2"),
            (Statements{"INSERT t SELECT 1 UNION ALL SELECT 2"}));
  EXPECT_EQ(split("INSERT INTO t VALUES (1)\nSELECT 1"),
            (Statements{"INSERT INTO t VALUES ( 1 )", "SELECT 1"}));
  EXPECT_EQ(split("INSERT INTO t DEFAULT VALUES SELECT 1"),
            (Statements{"INSERT INTO t DEFAULT VALUES", "SELECT 1"}));
}

TEST(Split, InsertExec) {
  EXPECT_EQ(split("INSERT INTO t EXEC p\nEXEC q"), (Statements{"INSERT INTO t EXEC p", "EXEC q"}));
}

TEST(Split, InsertWithTableHintAndCte) {
  EXPECT_EQ(split("INSERT INTO t WITH (TABLOCK) SELECT 1"),
            (Statements{"INSERT INTO t WITH ( TABLOCK ) SELECT 1"}));
  EXPECT_EQ(split("INSERT INTO t WITH c AS (SELECT 1) SELECT * FROM c"),
            (Statements{"INSERT INTO t WITH c AS ( SELECT 1 ) SELECT * FROM c"}));
}

TEST(Split, CreateAsSelect) {
  EXPECT_EQ(split("CREATE TABLE t2 AS\nSELECT * FROM t\nSELECT 1"),
            (Statements{"CREATE TABLE t2 AS SELECT * FROM t", "SELECT 1"}));
  EXPECT_EQ(split("CREATE VIEW v (a) AS\nSELECT a FROM t\nSELECT * FROM v"),
            (Statements{"CREATE VIEW v ( a ) AS SELECT a FROM t", "SELECT * FROM v"}));
  EXPECT_EQ(split("CREATE VIEW v AS WITH c AS (SELECT 1 AS x) SELECT x FROM c"),
            (Statements{"CREATE VIEW v AS WITH c AS ( SELECT 1 AS x ) SELECT x FROM c"}));
}

TEST(Split, CommonTableExpressions) {
  EXPECT_EQ(split("SELECT 0\nWITH c (x) AS (SELECT 1), d AS (SELECT 2)\nSELECT * FROM c, d\nSELECT 3"),
            (Statements{"SELECT 0", "WITH c ( x ) AS ( SELECT 1 ) , d AS ( SELECT 2 ) SELECT * FROM c , d",
                        "SELECT 3"}));
  EXPECT_EQ(split("WITH c AS (SELECT 1 AS x)\nINSERT INTO t SELECT x FROM c"),
            (Statements{"WITH c AS ( SELECT 1 AS x ) INSERT INTO t SELECT x FROM c"}));
  EXPECT_EQ(split("WITH c AS (SELECT 1 AS x)\nUPDATE t SET a = 1 WHERE a IN (SELECT x FROM c)"),
            (Statements{"WITH c AS ( SELECT 1 AS x ) UPDATE t SET a = 1 WHERE a IN ( SELECT x FROM c )"}));
  EXPECT_EQ(
      split("WITH c AS (SELECT 1 AS x)\nDELETE FROM t WHERE a IN (SELECT x FROM c)\nSELECT 2"),
      (Statements{"WITH c AS ( SELECT 1 AS x ) DELETE FROM t WHERE a IN ( SELECT x FROM c )", "SELECT 2"}));
  EXPECT_EQ(
      split("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n"),
      (Statements{"WITH RECURSIVE n ( i ) AS ( SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3 ) "
                  "SELECT i FROM n"}));
}

TEST(Split, WithThatIsNotACteContinues) {
  EXPECT_EQ(split("SELECT * FROM t WITH (NOLOCK)\nSELECT 1"),
            (Statements{"SELECT * FROM t WITH ( NOLOCK )", "SELECT 1"}));
  EXPECT_EQ(split("CREATE VIEW v AS SELECT a FROM t WITH CHECK OPTION"),
            (Statements{"CREATE VIEW v AS SELECT a FROM t WITH CHECK OPTION"}));
}

TEST(Split, UpdateSet) {
  EXPECT_EQ(split("UPDATE t\nSET a = 1,\n b = 2\nWHERE c = 3\nSET NOCOUNT OFF"),
            (Statements{"UPDATE t SET a = 1 , b = 2 WHERE c = 3", "SET NOCOUNT OFF"}));
  EXPECT_EQ(split("UPDATE t SET a = (SELECT MAX(b) FROM u) FROM t JOIN u ON t.id = u.id\nDELETE FROM t"),
            (Statements{"UPDATE t SET a = ( SELECT MAX ( b ) FROM u ) FROM t JOIN u ON t . id = u . id",
                        "DELETE FROM t"}));
}

TEST(Split, UpsertDoUpdateSet) {
  EXPECT_EQ(
      split("INSERT INTO t VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = excluded.b\nSELECT * FROM t"),
      (Statements{"INSERT INTO t VALUES ( 1 , 2 ) ON CONFLICT ( a ) DO UPDATE SET b = excluded . b",
                  "SELECT * FROM t"}));
}

TEST(Split, ForeignKeyActions) {
  EXPECT_EQ(
      split("ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id)\n"
            "ON DELETE CASCADE ON UPDATE SET NULL\nSELECT 1"),
      (Statements{"ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY ( p ) REFERENCES p ( id ) ON DELETE CASCADE "
                  "ON UPDATE SET NULL",
                  "SELECT 1"}));
  EXPECT_EQ(
      split("CREATE TABLE c (p INT REFERENCES p (id) ON DELETE SET DEFAULT ON UPDATE CASCADE)"),
      (Statements{"CREATE TABLE c ( p INT REFERENCES p ( id ) ON DELETE SET DEFAULT ON UPDATE CASCADE )"}));
}

TEST(Split, SqliteTriggerBodyKeepsItsSemicolons) {
  EXPECT_EQ(split("CREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n INSERT INTO log VALUES (new.a);\n"
                  " UPDATE c SET n = n + 1;\nEND;\nSELECT 1"),
            (Statements{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ( new . a ) ; "
                        "UPDATE c SET n = n + 1 ; END",
                        "SELECT 1"}));
}

TEST(Split, TriggerBodyWithoutTrailingSemicolon) {
  EXPECT_EQ(split("CREATE TRIGGER tr AFTER DELETE ON t BEGIN DELETE FROM u WHERE id = old.id; END\nSELECT 1"),
            (Statements{"CREATE TRIGGER tr AFTER DELETE ON t BEGIN DELETE FROM u WHERE id = old . id ; END",
                        "SELECT 1"}));
}

TEST(Split, TriggerHeaderEvents) {
  EXPECT_EQ(
      split("CREATE TRIGGER tr BEFORE UPDATE OF a, b ON t FOR EACH ROW WHEN new.a > 0 BEGIN SELECT 1; END"),
      (Statements{"CREATE TRIGGER tr BEFORE UPDATE OF a , b ON t FOR EACH ROW WHEN new . a > 0 BEGIN "
                  "SELECT 1 ; END"}));
  EXPECT_EQ(split("CREATE TRIGGER tr INSTEAD OF DELETE ON v BEGIN SELECT 1; END"),
            (Statements{"CREATE TRIGGER tr INSTEAD OF DELETE ON v BEGIN SELECT 1 ; END"}));
}

TEST(Split, TsqlTriggerWithBeginEnd) {
  EXPECT_EQ(split("CREATE TRIGGER tr ON t AFTER INSERT, UPDATE, DELETE AS\nBEGIN\n SET NOCOUNT ON;\n"
                  " INSERT INTO log SELECT * FROM inserted;\nEND\nSELECT 1"),
            (Statements{"CREATE TRIGGER tr ON t AFTER INSERT , UPDATE , DELETE AS BEGIN SET NOCOUNT ON ; "
                        "INSERT INTO log SELECT * FROM inserted ; END",
                        "SELECT 1"}));
  EXPECT_EQ(split("CREATE TRIGGER tr ON t FOR INSERT AS INSERT INTO log SELECT * FROM inserted"),
            (Statements{"CREATE TRIGGER tr ON t FOR INSERT AS INSERT INTO log SELECT * FROM inserted"}));
}

TEST(Split, CreateOrAlterTrigger) {
  EXPECT_EQ(
      split("CREATE OR ALTER TRIGGER tr ON t AFTER DELETE AS BEGIN DELETE FROM u; END\nSELECT 1"),
      (Statements{"CREATE OR ALTER TRIGGER tr ON t AFTER DELETE AS BEGIN DELETE FROM u ; END", "SELECT 1"}));
}

TEST(Split, CaseInsideTriggerBodyDoesNotEndIt) {
  EXPECT_EQ(
      split("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN a > 0 THEN 1 ELSE 0 END;"
            " DELETE FROM u; END SELECT 1"),
      (Statements{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN a > 0 THEN 1 ELSE 0 "
                  "END ; DELETE FROM u ; END",
                  "SELECT 1"}));
}

TEST(Split, CaseEnd) {
  EXPECT_EQ(split("SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END AS c FROM t\nSELECT 2"),
            (Statements{"SELECT CASE WHEN a = 1 THEN 'x' ELSE 'y' END AS c FROM t", "SELECT 2"}));
}

TEST(Split, OrActionsAndConflictClauses) {
  EXPECT_EQ(split("INSERT OR ROLLBACK INTO t VALUES (1)\nINSERT OR REPLACE INTO t VALUES (2)\n"
                  "INSERT OR ABORT INTO t VALUES (3)"),
            (Statements{"INSERT OR ROLLBACK INTO t VALUES ( 1 )", "INSERT OR REPLACE INTO t VALUES ( 2 )",
                        "INSERT OR ABORT INTO t VALUES ( 3 )"}));
  EXPECT_EQ(split("CREATE TABLE t (a INT UNIQUE ON CONFLICT ROLLBACK)"),
            (Statements{"CREATE TABLE t ( a INT UNIQUE ON CONFLICT ROLLBACK )"}));
  EXPECT_EQ(split("ALTER DATABASE d SET OFFLINE WITH ROLLBACK IMMEDIATE\nSELECT 1"),
            (Statements{"ALTER DATABASE d SET OFFLINE WITH ROLLBACK IMMEDIATE", "SELECT 1"}));
}

TEST(Split, ReplaceIntoIsAStatementButReplaceFunctionIsNot) {
  EXPECT_EQ(split("SELECT 1\nREPLACE INTO t VALUES (1)"),
            (Statements{"SELECT 1", "REPLACE INTO t VALUES ( 1 )"}));
  EXPECT_EQ(split("SELECT a FROM t WHERE b = 1 REPLACE (a, 'x', 'y')"),
            (Statements{"SELECT a FROM t WHERE b = 1 REPLACE ( a , 'x' , 'y' )"}));
}

TEST(Split, AlterTableDropAddAndAlterColumn) {
  EXPECT_EQ(
      split(
          "ALTER TABLE t DROP COLUMN c\nALTER TABLE t DROP CONSTRAINT ck\nALTER TABLE t ALTER COLUMN d INT"),
      (Statements{"ALTER TABLE t DROP COLUMN c", "ALTER TABLE t DROP CONSTRAINT ck",
                  "ALTER TABLE t ALTER COLUMN d INT"}));
  EXPECT_EQ(split("ALTER TABLE t ADD c INT\nDROP TABLE u"),
            (Statements{"ALTER TABLE t ADD c INT", "DROP TABLE u"}));
  EXPECT_EQ(split("CREATE OR ALTER VIEW v AS SELECT 1"), (Statements{"CREATE OR ALTER VIEW v AS SELECT 1"}));
}

TEST(Split, AlterDatabaseSet) {
  EXPECT_EQ(split("ALTER DATABASE d SET RECOVERY FULL\nSET NOCOUNT ON"),
            (Statements{"ALTER DATABASE d SET RECOVERY FULL", "SET NOCOUNT ON"}));
  EXPECT_EQ(split("ALTER TABLE t ADD c INT\nSET NOCOUNT ON"),
            (Statements{"ALTER TABLE t ADD c INT", "SET NOCOUNT ON"}));
}

TEST(Split, IfExistsInDdl) {
  EXPECT_EQ(split("DROP TABLE IF EXISTS t\nCREATE TABLE IF NOT EXISTS t (a INT)\nCREATE INDEX IF NOT EXISTS "
                  "i ON t (a)"),
            (Statements{"DROP TABLE IF EXISTS t", "CREATE TABLE IF NOT EXISTS t ( a INT )",
                        "CREATE INDEX IF NOT EXISTS i ON t ( a )"}));
  EXPECT_EQ(split("DROP TABLE t\nIF EXISTS (SELECT 1) SELECT 2"),
            (Statements{"DROP TABLE t", "IF EXISTS ( SELECT 1 )", "SELECT 2"}));
}

TEST(Split, Transactions) {
  EXPECT_EQ(split("BEGIN TRAN\nINSERT INTO t VALUES (1)\nCOMMIT TRAN\nBEGIN TRANSACTION t1\nDELETE FROM t\n"
                  "ROLLBACK TRANSACTION t1"),
            (Statements{"BEGIN TRAN", "INSERT INTO t VALUES ( 1 )", "COMMIT TRAN", "BEGIN TRANSACTION t1",
                        "DELETE FROM t", "ROLLBACK TRANSACTION t1"}));
}

TEST(Split, ControlOfFlowMarkersAreStatementsOfTheirOwn) {
  EXPECT_EQ(split("BEGIN\n SELECT 1;\n SELECT 2\nEND\nSELECT 3"),
            (Statements{"BEGIN", "SELECT 1", "SELECT 2", "END", "SELECT 3"}));
  EXPECT_EQ(split("IF @@TRANCOUNT > 0 COMMIT TRAN\r\nSET IMPLICIT_TRANSACTIONS OFF"),
            (Statements{"IF @@TRANCOUNT > 0", "COMMIT TRAN", "SET IMPLICIT_TRANSACTIONS OFF"}));
  EXPECT_EQ(split("IF @x = 1 BEGIN SELECT 1 END ELSE SELECT 2"),
            (Statements{"IF @x = 1", "BEGIN", "SELECT 1", "END", "ELSE", "SELECT 2"}));
  EXPECT_EQ(split("BEGIN TRY SELECT 1 END TRY BEGIN CATCH SELECT ERROR_NUMBER() END CATCH"),
            (Statements{"BEGIN TRY", "SELECT 1", "END TRY", "BEGIN CATCH", "SELECT ERROR_NUMBER ( )",
                        "END CATCH"}));
  // jTDS's savepoint batch: a block inside IF, then SAVE TRAN.
  EXPECT_EQ(
      split("IF @@TRANCOUNT=0 BEGIN SET IMPLICIT_TRANSACTIONS OFF; BEGIN TRAN; SET IMPLICIT_TRANSACTIONS ON; "
            "END SAVE TRAN jtds1"),
      (Statements{"IF @@TRANCOUNT = 0", "BEGIN", "SET IMPLICIT_TRANSACTIONS OFF", "BEGIN TRAN",
                  "SET IMPLICIT_TRANSACTIONS ON", "END", "SAVE TRAN jtds1"}));
  // CASE ... ELSE ... END inside a statement never splits.
  EXPECT_EQ(split("SELECT CASE WHEN a = 1 THEN 2 ELSE 3 END FROM t WAITFOR DELAY '00:00:01'"),
            (Statements{"SELECT CASE WHEN a = 1 THEN 2 ELSE 3 END FROM t", "WAITFOR DELAY '00:00:01'"}));
}

TEST(Split, MergeActions) {
  EXPECT_EQ(split("MERGE t USING s ON t.id = s.id\nWHEN MATCHED THEN UPDATE SET a = s.a\n"
                  "WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a);\nSELECT 1"),
            (Statements{
                "MERGE t USING s ON t . id = s . id WHEN MATCHED THEN UPDATE SET a = s . a WHEN NOT MATCHED "
                "THEN INSERT ( id , a ) VALUES ( s . id , s . a )",
                "SELECT 1"}));
}

TEST(Split, GrantUntilItsTarget) {
  EXPECT_EQ(split("GRANT EXECUTE ON msdb.dbo.rds_backup_database TO user1\nEXEC p"),
            (Statements{"GRANT EXECUTE ON msdb . dbo . rds_backup_database TO user1", "EXEC p"}));
  EXPECT_EQ(split("GRANT SELECT, INSERT, UPDATE, DELETE ON t TO u SELECT 1"),
            (Statements{"GRANT SELECT , INSERT , UPDATE , DELETE ON t TO u", "SELECT 1"}));
}

TEST(Split, Explain) {
  EXPECT_EQ(split("EXPLAIN QUERY PLAN SELECT 1\nEXPLAIN SELECT 2"),
            (Statements{"EXPLAIN QUERY PLAN SELECT 1", "EXPLAIN SELECT 2"}));
}

TEST(Split, OperatorOrCommaBeforeKeywordContinues) {
  EXPECT_EQ(split("SELECT 1 AS a,\nSELECT"), (Statements{"SELECT 1 AS a , SELECT"}));
}

TEST(Split, ProcedureTakesTheRestOfTheBatch) {
  EXPECT_EQ(split("CREATE PROCEDURE p AS\nSELECT 1;\nSELECT 2"),
            (Statements{"CREATE PROCEDURE p AS SELECT 1 ; SELECT 2"}));
}

TEST(Split, TediousConnectBatch) {
  EXPECT_EQ(split("set textsize 2147483647\nset quoted_identifier on\nset arithabort off\n"
                  "set transaction isolation level read committed\nset xact_abort off"),
            (Statements{"set textsize 2147483647", "set quoted_identifier on", "set arithabort off",
                        "set transaction isolation level read committed", "set xact_abort off"}));
}

TEST(Split, RdsBackupExample) {
  EXPECT_EQ(split("exec msdb.dbo.rds_backup_database\n@source_db_name='mydatabase',\n"
                  "@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/backup1.bak',\n"
                  "@overwrite_s3_backup_file=1,\n@type='FULL';"),
            (Statements{"exec msdb . dbo . rds_backup_database @source_db_name = 'mydatabase' , "
                        "@s3_arn_to_backup_to = 'arn:aws:s3:::aws_example_bucket/backup1.bak' , "
                        "@overwrite_s3_backup_file = 1 , @type = 'FULL'"}));
}

TEST(Split, RdsExecsWithoutSemicolons) {
  EXPECT_EQ(
      split("exec msdb.dbo.rds_task_status @db_name='d'\nexec msdb.dbo.rds_finish_restore @db_name='d'"),
      (Statements{"exec msdb . dbo . rds_task_status @db_name = 'd'",
                  "exec msdb . dbo . rds_finish_restore @db_name = 'd'"}));
}

TEST(Split, RdsTopOneQuery) {
  EXPECT_EQ(
      split("select top 1 \ndatabase_name\n, \tbackup_start_date\n, \tbackup_finish_date \nfrom    "
            "msdb.dbo.backupset \nwhere   database_name='mydatabase'\nand     type = 'D' \n"
            "order by backup_start_date desc;"),
      (Statements{"select top 1 database_name , backup_start_date , backup_finish_date from msdb . dbo . "
                  "backupset where database_name = 'mydatabase' and type = 'D' order by backup_start_date "
                  "desc"}));
}

}  // namespace
}  // namespace bakrest::sql
