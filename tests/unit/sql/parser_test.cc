// parse_batch: classification of the statements bakrest runs itself, EXEC argument parsing, and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "sql/parser.h"

namespace bakrest::sql {
namespace {

using ::testing::HasSubstr;

// The one statement in `batch`, which must be of type T.
template <typename T>
T only(std::string_view batch) {
  std::vector<Statement> statements = parse_batch(batch);
  EXPECT_EQ(statements.size(), 1u) << batch;
  if (statements.empty() || !std::holds_alternative<T>(statements[0])) {
    ADD_FAILURE() << "unexpected statement type for: " << batch;
    return T{};
  }
  return std::get<T>(statements[0]);
}

Message parse_error(std::string_view batch) {
  try {
    parse_batch(batch);
  } catch (const SqlError& e) {
    return e.message();
  }
  ADD_FAILURE() << "no error for: " << batch;
  return {};
}

Value literal(const ExecArg& arg) {
  EXPECT_TRUE(std::holds_alternative<Value>(arg.value)) << arg.name;
  return std::holds_alternative<Value>(arg.value) ? std::get<Value>(arg.value) : Value();
}

std::string token_texts(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) out += (out.empty() ? "" : " ") + t.text;
  return out;
}

// --- EXEC -------------------------------------------------------------------------------------------

TEST(ParseExec, RdsBackupExample) {
  auto exec = only<ExecStatement>(
      "exec msdb.dbo.rds_backup_database\n@source_db_name='mydatabase',\n"
      "@s3_arn_to_backup_to='arn:aws:s3:::aws_example_bucket/backup1.bak',\n@overwrite_s3_backup_file=1,\n"
      "@type='FULL';");
  EXPECT_EQ(exec.procedure, "msdb.dbo.rds_backup_database");
  ASSERT_EQ(exec.args.size(), 4u);
  EXPECT_EQ(exec.args[0].name, "@source_db_name");
  EXPECT_EQ(literal(exec.args[0]), Value(std::string("mydatabase")));
  EXPECT_EQ(exec.args[1].name, "@s3_arn_to_backup_to");
  EXPECT_EQ(literal(exec.args[1]), Value(std::string("arn:aws:s3:::aws_example_bucket/backup1.bak")));
  EXPECT_EQ(exec.args[2].name, "@overwrite_s3_backup_file");
  EXPECT_EQ(literal(exec.args[2]), Value(int64_t{1}));
  EXPECT_EQ(exec.args[3].name, "@type");
  EXPECT_EQ(literal(exec.args[3]), Value(std::string("FULL")));
  for (const ExecArg& arg : exec.args) EXPECT_FALSE(arg.output);
}

TEST(ParseExec, RdsRestoreWithTabsAndTrailingSpace) {
  auto exec = only<ExecStatement>(
      "exec msdb.dbo.rds_restore_database \n\t@restore_db_name='mydatabase', \n"
      "\t@s3_arn_to_restore_from='arn:aws:s3:::mybucket/backup1.bak',\n\t@with_norecovery=1,\n"
      "\t@type='FULL';");
  EXPECT_EQ(exec.procedure, "msdb.dbo.rds_restore_database");
  ASSERT_EQ(exec.args.size(), 4u);
  EXPECT_EQ(exec.args[2].name, "@with_norecovery");
  EXPECT_EQ(literal(exec.args[2]), Value(int64_t{1}));
}

TEST(ParseExec, TwoDotNameAndPositionalArguments) {
  auto exec = only<ExecStatement>("exec rdsadmin..rds_set_configuration 'S3 backup compression', 'true';");
  EXPECT_EQ(exec.procedure, "rdsadmin..rds_set_configuration");
  ASSERT_EQ(exec.args.size(), 2u);
  EXPECT_EQ(exec.args[0].name, "");
  EXPECT_EQ(literal(exec.args[0]), Value(std::string("S3 backup compression")));
  EXPECT_EQ(literal(exec.args[1]), Value(std::string("true")));
}

TEST(ParseExec, BracketedAndOnePartNames) {
  EXPECT_EQ(only<ExecStatement>("EXECUTE [msdb].[dbo].[rds_task_status] @task_id=5").procedure,
            "msdb.dbo.rds_task_status");
  EXPECT_EQ(only<ExecStatement>("EXEC [rdsadmin]..[rds_show_configuration]").procedure,
            "rdsadmin..rds_show_configuration");
  EXPECT_EQ(only<ExecStatement>("EXEC sp_who").procedure, "sp_who");
  EXPECT_EQ(only<ExecStatement>("exec \"my proc\"").procedure, "my proc");
  EXPECT_TRUE(only<ExecStatement>("EXEC msdb.dbo.rds_task_status").args.empty());
}

TEST(ParseExec, ValueKinds) {
  auto exec = only<ExecStatement>(
      "EXEC p N'ünï''code', 'it''s', 42, -7, +3, 1.5, -2.5e3, 0x0102, 0x, 0x123, NULL, [bracketed], bare");
  ASSERT_EQ(exec.args.size(), 13u);
  EXPECT_EQ(literal(exec.args[0]), Value(std::string("ünï'code")));
  EXPECT_EQ(literal(exec.args[1]), Value(std::string("it's")));
  EXPECT_EQ(literal(exec.args[2]), Value(int64_t{42}));
  EXPECT_EQ(literal(exec.args[3]), Value(int64_t{-7}));
  EXPECT_EQ(literal(exec.args[4]), Value(int64_t{3}));
  EXPECT_EQ(literal(exec.args[5]), Value(1.5));
  EXPECT_EQ(literal(exec.args[6]), Value(-2500.0));
  EXPECT_EQ(literal(exec.args[7]), Value(Bytes{0x01, 0x02}));
  EXPECT_EQ(literal(exec.args[8]), Value(Bytes{}));
  EXPECT_EQ(literal(exec.args[9]), Value(Bytes{0x01, 0x23}));
  EXPECT_TRUE(is_null(literal(exec.args[10])));
  EXPECT_EQ(literal(exec.args[11]), Value(std::string("bracketed")));
  EXPECT_EQ(literal(exec.args[12]), Value(std::string("bare")));
}

TEST(ParseExec, IntegerLimits) {
  auto exec = only<ExecStatement>("EXEC p -9223372036854775808, 9223372036854775807, 9223372036854775808");
  ASSERT_EQ(exec.args.size(), 3u);
  EXPECT_EQ(literal(exec.args[0]), Value(INT64_MIN));
  EXPECT_EQ(literal(exec.args[1]), Value(INT64_MAX));
  EXPECT_EQ(literal(exec.args[2]), Value(9223372036854775808.0));  // too big for BIGINT: a float
}

TEST(ParseExec, VariablesAndOutput) {
  auto exec = only<ExecStatement>(
      "EXEC sp_executesql N'SELECT @a', N'@a INT, @b INT OUTPUT', @a = @x, @b = @y OUTPUT, "
      "@c = @z OUT");
  ASSERT_EQ(exec.args.size(), 5u);
  ASSERT_TRUE(std::holds_alternative<VariableRef>(exec.args[2].value));
  EXPECT_EQ(std::get<VariableRef>(exec.args[2].value).name, "@x");
  EXPECT_FALSE(exec.args[2].output);
  EXPECT_EQ(std::get<VariableRef>(exec.args[3].value).name, "@y");
  EXPECT_TRUE(exec.args[3].output);
  EXPECT_EQ(exec.args[4].name, "@c");
  EXPECT_TRUE(exec.args[4].output);
}

TEST(ParseExec, PositionalVariable) {
  auto exec = only<ExecStatement>("EXEC p @v, @w OUTPUT");
  ASSERT_EQ(exec.args.size(), 2u);
  EXPECT_EQ(exec.args[0].name, "");
  EXPECT_EQ(std::get<VariableRef>(exec.args[0].value).name, "@v");
  EXPECT_TRUE(exec.args[1].output);
}

TEST(ParseExec, NamedDefaultIsLeftOut) {
  auto exec = only<ExecStatement>("EXEC msdb.dbo.rds_task_status @db_name = DEFAULT, @task_id = 3");
  ASSERT_EQ(exec.args.size(), 1u);
  EXPECT_EQ(exec.args[0].name, "@task_id");
}

TEST(ParseExec, PositionalDefaultIsNotSupported) {
  Message m = parse_error("EXEC p DEFAULT, 1");
  EXPECT_EQ(m.number, 40517);
  EXPECT_THAT(m.text, HasSubstr("DEFAULT"));
}

TEST(ParseExec, NamedThenPositionalIs119) {
  Message m = parse_error("EXEC p @a = 1, 2");
  EXPECT_EQ(m.number, 119);
  EXPECT_EQ(m.severity, 15);
  EXPECT_EQ(
      m.text,
      "Must pass parameter number 2 and subsequent parameters as '@name = value'. After the form "
      "'@name = value' has been used, all subsequent parameters must be passed in the form '@name = value'.");
}

TEST(ParseExec, SyntaxErrorsAre102) {
  struct Case {
    const char* batch;
    const char* text;
  };
  for (const Case& c : std::vector<Case>{
           {"EXEC", "Incorrect syntax near 'EXEC'."},
           {"EXEC p @a = 1 + 2", "Incorrect syntax near '+'."},
           {"EXEC p @a =", "Incorrect syntax near '='."},
           {"EXEC p @a = 1,", "Incorrect syntax near ','."},
           {"EXEC p @a = 1 2", "Incorrect syntax near '2'."},
           {"EXEC p (1)", "Incorrect syntax near '('."},
           {"EXEC p @a = -x", "Incorrect syntax near '-'."},
           {"EXEC p @a = OUTPUT", "Incorrect syntax near 'OUTPUT'."},
           {"EXEC p dbo.t", "Incorrect syntax near '.'."},
           {"EXEC msdb.", "Incorrect syntax near '.'."},
           {"EXEC p @a = 'x' @b = 'y'", "Incorrect syntax near '@b'."},
       }) {
    Message m = parse_error(c.batch);
    EXPECT_EQ(m.number, 102) << c.batch;
    EXPECT_EQ(m.severity, 15) << c.batch;
    EXPECT_EQ(m.state, 1) << c.batch;
    EXPECT_EQ(m.text, c.text) << c.batch;
  }
}

TEST(ParseExec, ReturnValueCaptureIsNotSupported) {
  Message m = parse_error("EXEC @rc = msdb.dbo.rds_task_status");
  EXPECT_EQ(m.number, 40517);
  EXPECT_THAT(m.text, HasSubstr("return value"));
  EXPECT_THAT(m.text, HasSubstr("not supported"));
}

TEST(ParseExec, DynamicSqlIsNotSupported) {
  EXPECT_THAT(parse_error("EXEC ('SELECT 1')").text, HasSubstr("dynamic SQL"));
  EXPECT_THAT(parse_error("EXECUTE(@sql)").text, HasSubstr("not supported"));
  EXPECT_THAT(parse_error("EXEC @proc").text, HasSubstr("variable"));
  EXPECT_THAT(parse_error("EXECUTE AS USER = 'x'").text, HasSubstr("EXECUTE AS"));
}

TEST(ParseExec, FourPartNamesAreNotSupported) {
  EXPECT_THAT(parse_error("EXEC srv.msdb.dbo.p").text, HasSubstr("three parts"));
}

// --- Other statements bakrest runs itself -----------------------------------------------------------

TEST(ParseStatements, CreateDatabase) {
  EXPECT_EQ(only<CreateDatabaseStatement>("CREATE DATABASE mydb").name, "mydb");
  EXPECT_EQ(only<CreateDatabaseStatement>("create database [my db];").name, "my db");
}

TEST(ParseStatements, CreateDatabaseOptionsAreNotSupported) {
  Message m = parse_error("CREATE DATABASE a COLLATE Latin1_General_CI_AS");
  EXPECT_EQ(m.number, 40517);
  EXPECT_THAT(m.text,
              HasSubstr("CREATE DATABASE options are not supported yet: COLLATE Latin1_General_CI_AS"));
  EXPECT_THAT(parse_error("CREATE DATABASE a ON PRIMARY (NAME = a)").text,
              HasSubstr("ON PRIMARY (NAME = a)"));
  EXPECT_EQ(parse_error("CREATE DATABASE").text, "Incorrect syntax near 'DATABASE'.");
}

TEST(ParseStatements, DropDatabase) {
  EXPECT_EQ(only<DropDatabaseStatement>("DROP DATABASE [mydb]").name, "mydb");
  std::vector<Statement> drops = parse_batch("DROP DATABASE a, [b]");
  ASSERT_EQ(drops.size(), 2u);
  EXPECT_EQ(std::get<DropDatabaseStatement>(drops[0]).name, "a");
  EXPECT_EQ(std::get<DropDatabaseStatement>(drops[1]).name, "b");
  EXPECT_THAT(parse_error("DROP DATABASE IF EXISTS a").text, HasSubstr("IF EXISTS"));
  EXPECT_EQ(parse_error("DROP DATABASE a b").text, "Incorrect syntax near 'b'.");
  EXPECT_EQ(parse_error("DROP DATABASE").text, "Incorrect syntax near 'DATABASE'.");
}

TEST(ParseStatements, DropTableIsSql) { only<SqlStatement>("DROP TABLE t"); }

TEST(ParseStatements, Use) {
  EXPECT_EQ(only<UseStatement>("USE mydb").name, "mydb");
  EXPECT_EQ(only<UseStatement>("use [my db];").name, "my db");
  EXPECT_EQ(parse_error("USE").text, "Incorrect syntax near 'USE'.");
  EXPECT_EQ(parse_error("USE a b").text, "Incorrect syntax near 'b'.");
}

TEST(ParseStatements, Print) {
  auto print = only<PrintStatement>("PRINT 'a' + N'b'");
  EXPECT_EQ(token_texts(print.expression), "'a' + N'b'");
  EXPECT_EQ(parse_error("PRINT").text, "Incorrect syntax near 'PRINT'.");
}

TEST(ParseStatements, SetOptions) {
  auto nocount = only<SetOptionStatement>("set nocount on");
  EXPECT_EQ(nocount.option, "NOCOUNT");
  EXPECT_EQ(token_texts(nocount.tokens), "nocount on");
  EXPECT_EQ(only<SetOptionStatement>("SET TEXTSIZE 2147483647").option, "TEXTSIZE");
  auto isolation = only<SetOptionStatement>("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
  EXPECT_EQ(isolation.option, "TRANSACTION");
  EXPECT_EQ(token_texts(isolation.tokens), "TRANSACTION ISOLATION LEVEL READ COMMITTED");
  EXPECT_EQ(parse_error("SET").text, "Incorrect syntax near 'SET'.");
  EXPECT_EQ(parse_error("SET = 1").text, "Incorrect syntax near '='.");
}

TEST(ParseStatements, SetVariable) {
  auto set = only<SetVariableStatement>("SET @x = @y + 1");
  EXPECT_EQ(set.name, "@x");
  EXPECT_EQ(set.op, "");
  EXPECT_EQ(token_texts(set.expression), "@y + 1");
  EXPECT_EQ(only<SetVariableStatement>("SET @x += 2").op, "+");
  EXPECT_EQ(parse_error("SET @x").text, "Incorrect syntax near '@x'.");
  EXPECT_EQ(parse_error("SET @x =").text, "Incorrect syntax near '='.");
}

TEST(ParseStatements, BeginTransaction) {
  for (const char* batch : {"BEGIN TRAN", "BEGIN TRANSACTION", "begin tran t1", "BEGIN TRANSACTION [t1];",
                            "BEGIN TRAN @name", "BEGIN TRAN t WITH MARK 'nightly'", "BEGIN TRAN t WITH MARK",
                            "BEGIN", "BEGIN;", "BEGIN IMMEDIATE", "BEGIN DEFERRED TRANSACTION"}) {
    only<BeginTransactionStatement>(batch);
  }
  EXPECT_EQ(parse_error("BEGIN TRAN a b").text, "Incorrect syntax near 'b'.");
  EXPECT_EQ(parse_error("BEGIN TRAN t WITH x").text, "Incorrect syntax near 'x'.");
}

TEST(ParseStatements, BlocksNest) {
  auto block = only<BlockStatement>("BEGIN\nSELECT 1\nSELECT 2\nEND");
  EXPECT_EQ(block.statements.size(), 2u);
  auto tc = only<TryCatchStatement>("BEGIN TRY SELECT 1 END TRY BEGIN CATCH SELECT 2; SELECT 3 END CATCH");
  EXPECT_EQ(tc.try_block.size(), 1u);
  EXPECT_EQ(tc.catch_block.size(), 2u);
  EXPECT_THAT(parse_error("BEGIN\nSELECT 1").text, HasSubstr("BEGIN has no matching END"));
  EXPECT_EQ(parse_error("SELECT 1\nEND").text, "Incorrect syntax near the keyword 'END'.");
  EXPECT_THAT(parse_error("BEGIN TRY SELECT 1 END TRY SELECT 2").text, HasSubstr("BEGIN CATCH"));
  EXPECT_THAT(parse_error("BEGIN DISTRIBUTED TRANSACTION").text, HasSubstr("DISTRIBUTED"));
}

TEST(ParseStatements, CommitAndRollback) {
  for (const char* batch : {"COMMIT", "COMMIT TRAN", "COMMIT TRANSACTION t1", "COMMIT WORK", "commit;"}) {
    only<CommitStatement>(batch);
  }
  for (const char* batch : {"ROLLBACK", "ROLLBACK TRAN", "ROLLBACK TRANSACTION [t1]", "ROLLBACK WORK"}) {
    only<RollbackStatement>(batch);
  }
  EXPECT_EQ(parse_error("COMMIT TRAN a b").text, "Incorrect syntax near 'b'.");
}

TEST(ParseStatements, SqliteRollbackToSavepointIsSql) {
  only<SqlStatement>("ROLLBACK TO sp1");
  only<SqlStatement>("ROLLBACK TRANSACTION TO SAVEPOINT sp1");
}

TEST(ParseStatements, Declare) {
  std::vector<Statement> statements =
      parse_batch("DECLARE @x INT = 1, @s NVARCHAR(10), @d decimal(10, 2) = 1.5\nSELECT @x");
  ASSERT_EQ(statements.size(), 2u);
  const auto& declare = std::get<DeclareStatement>(statements[0]);
  ASSERT_EQ(declare.variables.size(), 3u);
  EXPECT_EQ(declare.variables[0].name, "@x");
  EXPECT_EQ(declare.variables[0].type, "INT");
  EXPECT_EQ(token_texts(declare.variables[0].initial), "1");
  EXPECT_EQ(declare.variables[1].type, "NVARCHAR(10)");
  EXPECT_TRUE(declare.variables[1].initial.empty());
  EXPECT_EQ(declare.variables[2].type, "DECIMAL(10,2)");
  EXPECT_THAT(parse_error("DECLARE @t TABLE (a INT)").text, HasSubstr("Table variables"));
  EXPECT_EQ(parse_error("DECLARE x INT").text, "Incorrect syntax near 'x'.");
}

TEST(ParseStatements, SelectAssigns) {
  auto assign = only<SelectAssignStatement>("SELECT @a = x, @b = (y + 1) FROM t WHERE z = 1");
  ASSERT_EQ(assign.assignments.size(), 2u);
  EXPECT_EQ(assign.assignments[1].first, "@b");
  EXPECT_EQ(token_texts(assign.assignments[1].second), "( y + 1 )");
  EXPECT_EQ(token_texts(assign.rest), "FROM t WHERE z = 1");
  EXPECT_EQ(parse_error("SELECT @a = 1, b FROM t").number, 141);
  only<SqlStatement>("SELECT @a");  // a value, not an assignment
}

TEST(ParseStatements, ControlOfFlowNests) {
  auto branch =
      only<IfStatement>("IF OBJECT_ID('t') IS NOT NULL DROP TABLE t ELSE BEGIN SELECT 1 SELECT 2 END");
  EXPECT_EQ(token_texts(branch.condition), "OBJECT_ID ( 't' ) IS NOT NULL");
  ASSERT_EQ(branch.then_branch.size(), 1u);
  ASSERT_EQ(branch.else_branch.size(), 1u);
  EXPECT_EQ(std::get<BlockStatement>(branch.else_branch[0]).statements.size(), 2u);
  auto loop = only<WhileStatement>("WHILE @i < 3 SET @i += 1");
  EXPECT_EQ(loop.body.size(), 1u);
  // IF governs one statement: the next one runs whatever the condition.
  std::vector<Statement> two = parse_batch("IF 1 = 0 SELECT 1\nSELECT 2");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(parse_error("IF 1 = 1").text, "Incorrect syntax near '1'.");
  EXPECT_EQ(parse_error("ELSE SELECT 1").text, "Incorrect syntax near the keyword 'ELSE'.");
}

TEST(ParseStatements, Savepoints) {
  EXPECT_EQ(only<SaveTransactionStatement>("SAVE TRAN jtds1").name, "jtds1");
  EXPECT_EQ(only<SaveTransactionStatement>("SAVE TRANSACTION [sa_savepoint_1]").name, "sa_savepoint_1");
  EXPECT_EQ(only<RollbackStatement>("ROLLBACK TRANSACTION sa_savepoint_1").name, "sa_savepoint_1");
  EXPECT_EQ(only<RollbackStatement>("ROLLBACK").name, "");
  EXPECT_EQ(parse_error("SAVE TRAN").text, "Incorrect syntax near 'TRAN'.");
}

TEST(ParseStatements, AnythingElseIsSqlWithoutItsSemicolon) {
  auto sql = only<SqlStatement>("SELECT a FROM t WHERE b = N'x';");
  EXPECT_EQ(token_texts(sql.tokens), "SELECT a FROM t WHERE b = N'x'");
}

// --- Batches ----------------------------------------------------------------------------------------

// --- ALTER DATABASE ---------------------------------------------------------------------------------

TEST(ParseAlterDatabase, SetRecoveryModels) {
  auto full = only<AlterDatabaseStatement>("ALTER DATABASE mydatabase SET RECOVERY FULL");
  EXPECT_EQ(full.name, "mydatabase");
  EXPECT_EQ(full.recovery_model, "FULL");
  auto simple = only<AlterDatabaseStatement>("alter database [my db] set recovery simple;");
  EXPECT_EQ(simple.name, "my db");
  EXPECT_EQ(simple.recovery_model, "SIMPLE");
  auto bulk = only<AlterDatabaseStatement>("ALTER DATABASE d SET RECOVERY Bulk_Logged WITH NO_WAIT");
  EXPECT_EQ(bulk.recovery_model, "BULK_LOGGED");
  auto rollback = only<AlterDatabaseStatement>("ALTER DATABASE d SET RECOVERY FULL WITH ROLLBACK IMMEDIATE");
  EXPECT_EQ(rollback.recovery_model, "FULL");
}

TEST(ParseAlterDatabase, CurrentMeansTheCurrentDatabaseButBracketedItIsAName) {
  EXPECT_EQ(only<AlterDatabaseStatement>("ALTER DATABASE CURRENT SET RECOVERY SIMPLE").name, "");
  EXPECT_EQ(only<AlterDatabaseStatement>("ALTER DATABASE [CURRENT] SET RECOVERY SIMPLE").name, "CURRENT");
}

TEST(ParseAlterDatabase, FollowedByAnotherStatement) {
  std::vector<Statement> s =
      parse_batch("ALTER DATABASE d SET RECOVERY FULL WITH ROLLBACK IMMEDIATE\nSELECT 1");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<AlterDatabaseStatement>(s[0]));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(s[1]));
}

TEST(ParseAlterDatabase, UnknownRecoveryModelIsASyntaxError) {
  Message m = parse_error("ALTER DATABASE d SET RECOVERY bogus");
  EXPECT_EQ(m.number, 102);
  EXPECT_EQ(m.text, "Incorrect syntax near 'bogus'.");
  EXPECT_EQ(parse_error("ALTER DATABASE d SET RECOVERY").number, 102);
  EXPECT_EQ(parse_error("ALTER DATABASE d SET RECOVERY FULL extra").number, 102);
}

TEST(ParseAlterDatabase, OtherFormsAreNamedAsNotSupported) {
  Message option = parse_error("ALTER DATABASE d SET READ_ONLY");
  EXPECT_EQ(option.number, 40517);
  EXPECT_THAT(option.text, HasSubstr("ALTER DATABASE ... SET READ_ONLY is not supported yet"));
  EXPECT_THAT(option.text, HasSubstr("SET RECOVERY FULL | SIMPLE | BULK_LOGGED"));
  EXPECT_THAT(parse_error("ALTER DATABASE d MODIFY NAME = e").text,
              HasSubstr("ALTER DATABASE ... MODIFY is"));
  EXPECT_THAT(parse_error("ALTER DATABASE d COLLATE Latin1_General_CI_AS").text, HasSubstr("... COLLATE is"));
  EXPECT_THAT(parse_error("ALTER DATABASE d SET RECOVERY FULL, PAGE_VERIFY CHECKSUM").text,
              HasSubstr("SET with several options"));
  EXPECT_THAT(parse_error("ALTER DATABASE d SET RECOVERY FULL WITH ROLLBACK AFTER 5").text,
              HasSubstr("WITH ROLLBACK AFTER is not supported yet"));
  EXPECT_THAT(parse_error("ALTER DATABASE d SET RECOVERY FULL WITH ROLLBACK").text, HasSubstr("syntax"));
}

TEST(ParseLogins, CreateDropGrantRevoke) {
  auto create = only<CreateLoginStatement>("CREATE LOGIN [restore user] WITH PASSWORD = N'It''s-Secret1'");
  EXPECT_EQ(create.name, "restore user");
  EXPECT_EQ(create.password, "It's-Secret1");
  EXPECT_EQ(only<DropLoginStatement>("drop login alice;").name, "alice");
  auto grant = only<GrantExecuteStatement>("GRANT EXECUTE ON msdb.dbo.rds_backup_database TO alice, [bob]");
  EXPECT_TRUE(grant.grant);
  EXPECT_EQ(grant.procedure, "msdb.dbo.rds_backup_database");
  EXPECT_EQ(grant.logins, (std::vector<std::string>{"alice", "bob"}));
  auto object = only<GrantExecuteStatement>("GRANT EXEC ON OBJECT::rdsadmin..rds_set_configuration TO a");
  EXPECT_EQ(object.procedure, "rdsadmin..rds_set_configuration");
  auto revoke = only<GrantExecuteStatement>("REVOKE EXECUTE ON msdb.dbo.rds_restore_log FROM alice");
  EXPECT_FALSE(revoke.grant);
  EXPECT_EQ(revoke.logins, (std::vector<std::string>{"alice"}));
}

TEST(ParseLogins, OtherFormsAreNamedAsNotSupported) {
  EXPECT_THAT(parse_error("CREATE LOGIN a FROM WINDOWS").text,
              HasSubstr("CREATE LOGIN ... FROM is not supported yet; bakrest supports CREATE LOGIN name WITH "
                        "PASSWORD = 'password'."));
  EXPECT_THAT(parse_error("CREATE LOGIN a WITH PASSWORD = 'x', CHECK_POLICY = OFF").text,
              HasSubstr("CREATE LOGIN ... CHECK_POLICY is not supported yet"));
  EXPECT_THAT(parse_error("CREATE LOGIN a WITH PASSWORD = 'x' MUST_CHANGE").text,
              HasSubstr("CREATE LOGIN ... MUST_CHANGE is not supported yet"));
  EXPECT_EQ(parse_error("CREATE LOGIN a WITH PASSWORD = x").number, 102);
  EXPECT_THAT(parse_error("GRANT SELECT ON t TO a").text,
              HasSubstr("GRANT is supported only as GRANT EXECUTE ON msdb.dbo.rds_procedure TO login"));
  EXPECT_THAT(parse_error("DENY EXECUTE ON msdb.dbo.rds_task_status TO a").text,
              HasSubstr("DENY is supported"));
  EXPECT_THAT(parse_error("GRANT EXECUTE ON msdb.dbo.rds_task_status TO a WITH GRANT OPTION").text,
              HasSubstr("GRANT is supported only as"));
}

TEST(ParseBatch, MixedBatchInOrder) {
  std::vector<Statement> s = parse_batch(
      "CREATE DATABASE a\nUSE a\nCREATE TABLE t (x INT)\nINSERT INTO t VALUES (1)\nSELECT * FROM t\n"
      "SET NOCOUNT ON\nBEGIN TRAN\nPRINT 'hi'\nCOMMIT\nEXEC msdb.dbo.rds_task_status\nDROP DATABASE a");
  ASSERT_EQ(s.size(), 11u);
  EXPECT_TRUE(std::holds_alternative<CreateDatabaseStatement>(s[0]));
  EXPECT_TRUE(std::holds_alternative<UseStatement>(s[1]));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(s[2]));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(s[3]));
  EXPECT_TRUE(std::holds_alternative<SqlStatement>(s[4]));
  EXPECT_TRUE(std::holds_alternative<SetOptionStatement>(s[5]));
  EXPECT_TRUE(std::holds_alternative<BeginTransactionStatement>(s[6]));
  EXPECT_TRUE(std::holds_alternative<PrintStatement>(s[7]));
  EXPECT_TRUE(std::holds_alternative<CommitStatement>(s[8]));
  EXPECT_TRUE(std::holds_alternative<ExecStatement>(s[9]));
  EXPECT_TRUE(std::holds_alternative<DropDatabaseStatement>(s[10]));
}

TEST(ParseBatch, AnErrorAnywhereFailsTheWholeBatch) {
  EXPECT_THROW(parse_batch("SELECT 1\nEXEC p @a = 1 +"), SqlError);
  EXPECT_THROW(parse_batch("SELECT 1; SELECT 'open"), SqlError);
}

TEST(ParseBatch, EmptyBatch) {
  EXPECT_TRUE(parse_batch("").empty());
  EXPECT_TRUE(parse_batch("-- nothing\n;").empty());
}

}  // namespace
}  // namespace bakrest::sql
