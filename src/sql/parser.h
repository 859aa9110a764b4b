// The T-SQL front's syntax half: splits a batch into statements, recognises the few T-SQL forms bakrest
// runs itself, and rewrites everything else into SQLite SQL. Pure functions: no database, no session.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "common/value.h"

namespace bakrest::sql {

enum class TokenKind {
  kWord,        // identifier or keyword: SELECT, dbo, rds_task_status
  kQuotedName,  // [name] or "name"; value holds the name without quotes
  kString,      // '...'; value holds the text with '' unescaped
  kNString,     // N'...'
  kNumber,      // 42, 1.5, 1e3
  kBinary,      // 0x0aFF; value holds the hex digits
  kVariable,    // @name or @@name; value holds the text with the @s
  kPunct,       // ( ) , . * = < > + - / % ! | & ~ ^ :  and multi-char operators <= >= <> != ||
  kSemicolon,
};

struct Token {
  TokenKind kind;
  std::string text;           // as written
  std::string value;          // decoded (see TokenKind)
  size_t offset = 0;          // byte offset in the batch
  bool space_before = false;  // whitespace or a comment came before it
};

// Throws SqlError 105 ("Unclosed quotation mark after the character string '...'.") or 102 for
// malformed input. Comments (-- and /* */) are dropped.
std::vector<Token> tokenize(std::string_view batch);

// An EXEC argument: a literal, or a reference to a variable (@p1 inside sp_executesql).
struct VariableRef {
  std::string name;
};
using ExecValue = std::variant<Value, VariableRef>;
struct ExecArg {
  std::string name;  // "@x" or empty for positional
  ExecValue value;
  bool output = false;
};

struct ExecStatement {
  std::string procedure;  // as written, without brackets: "msdb.dbo.rds_backup_database", "rdsadmin..x"
  std::vector<ExecArg> args;
};
struct CreateDatabaseStatement {
  std::string name;
};
struct DropDatabaseStatement {
  std::string name;
};
// ALTER DATABASE name | CURRENT SET RECOVERY FULL | SIMPLE | BULK_LOGGED [WITH NO_WAIT | ROLLBACK IMMEDIATE].
struct AlterDatabaseStatement {
  std::string name;            // empty for CURRENT
  std::string recovery_model;  // FULL, SIMPLE or BULK_LOGGED
};
// CREATE LOGIN name WITH PASSWORD = 'password'.
struct CreateLoginStatement {
  std::string name;
  std::string password;
};
struct DropLoginStatement {
  std::string name;
};
// GRANT EXECUTE ON [OBJECT::]procedure TO login [, ...] and REVOKE EXECUTE ON ... FROM | TO login [, ...].
struct GrantExecuteStatement {
  bool grant = true;      // false: REVOKE
  std::string procedure;  // as written, without brackets
  std::vector<std::string> logins;
};
struct UseStatement {
  std::string name;
};
struct PrintStatement {
  std::vector<Token> expression;
};
struct SetOptionStatement {   // SET NOCOUNT ON, SET ANSI_NULLS ON, SET TEXTSIZE n, ... (accepted)
  std::string option;         // upper-cased option name, e.g. "NOCOUNT"
  std::vector<Token> tokens;  // everything after SET
};
struct BeginTransactionStatement {
  std::string name;  // BEGIN TRAN name; empty when unnamed
};
struct CommitStatement {};
struct RollbackStatement {
  std::string name;  // ROLLBACK TRAN name: a savepoint, or the outermost transaction's name
};
// SAVE TRAN[SACTION] name.
struct SaveTransactionStatement {
  std::string name;
};
// INSERT BULK table (column type [COLLATE name] [NULL | NOT NULL], ...) [WITH (option, ...)]: the table and
// columns the next BULK LOAD message fills, as drivers' bulk copy sends it (tedious, FreeTDS bcp,
// SqlBulkCopy). The options are CHECK_CONSTRAINTS, FIRE_TRIGGERS, KEEP_NULLS, TABLOCK, ROWS_PER_BATCH = n,
// KILOBYTES_PER_BATCH = n and ORDER (column [ASC | DESC], ...).
struct InsertBulkStatement {
  std::vector<std::string> table;  // the name's parts as written: {"t"}, {"dbo", "t"}, {"db", "", "t"}
  struct Column {
    std::string name;
    std::string type;  // as declared, upper-cased: "NVARCHAR(50)", "DECIMAL(10,2)"
  };
  std::vector<Column> columns;
  bool check_constraints = false;
  bool fire_triggers = false;
  bool keep_nulls = false;
  bool tablock = false;
  std::optional<int64_t> rows_per_batch;
  std::optional<int64_t> kilobytes_per_batch;
  std::vector<std::pair<std::string, bool>> order;  // ORDER (column [ASC | DESC]): the name, true for DESC
};
struct SqlStatement {  // anything else: rewritten and run by SQLite
  std::vector<Token> tokens;
};

// DECLARE @a INT [= expr], @b NVARCHAR(10) ...: variables live until the end of the batch.
struct DeclareStatement {
  struct Variable {
    std::string name;            // "@a" as written
    std::string type;            // the declared type, upper-cased, e.g. "NVARCHAR(10)"
    std::vector<Token> initial;  // the expression after '=', empty when none
  };
  std::vector<Variable> variables;
};
// SET @a = expr (and SET @a += expr and the other compound forms, op holding "+", "-", ...).
struct SetVariableStatement {
  std::string name;
  std::string op;  // empty for plain '='
  std::vector<Token> expression;
};
// SELECT @a = expr [, @b = expr] [FROM ...]: assigns from the last row, returns no result set.
struct SelectAssignStatement {
  std::vector<std::pair<std::string, std::vector<Token>>> assignments;  // variable, expression
  std::vector<Token> rest;                                              // FROM ... onwards; may be empty
};
// WAITFOR DELAY 'hh:mm:ss[.mmm]' | WAITFOR TIME 'hh:mm:ss'.
struct WaitforStatement {
  bool delay = true;
  std::vector<Token> expression;
};
// RAISERROR (message, severity, state [, argument ...]) [WITH LOG | NOWAIT | SETERROR [, ...]]
// (sql/raiserror_format.h formats the message).
struct RaiserrorStatement {
  std::vector<std::vector<Token>> arguments;  // message, severity, state, then up to 20 format arguments
  bool log = false;
  bool nowait = false;
  bool seterror = false;
};
// THROW number, message, state; THROW alone raises the error its CATCH block handles again.
struct ThrowStatement {
  std::vector<std::vector<Token>> arguments;  // none or three
};
struct ReturnStatement {};
struct BreakStatement {};
struct ContinueStatement {};

struct IfStatement;
struct WhileStatement;
struct BlockStatement;
struct TryCatchStatement;

using Statement =
    std::variant<ExecStatement, CreateDatabaseStatement, DropDatabaseStatement, AlterDatabaseStatement,
                 CreateLoginStatement, DropLoginStatement, GrantExecuteStatement, UseStatement,
                 PrintStatement, SetOptionStatement, BeginTransactionStatement, CommitStatement,
                 RollbackStatement, SaveTransactionStatement, SqlStatement, DeclareStatement,
                 SetVariableStatement, SelectAssignStatement, WaitforStatement, RaiserrorStatement,
                 ThrowStatement, ReturnStatement, BreakStatement, ContinueStatement, IfStatement,
                 WhileStatement, BlockStatement, TryCatchStatement, InsertBulkStatement>;

// IF condition statement [ELSE statement]; a branch is one statement (BEGIN ... END makes a block of
// several).
struct IfStatement {
  std::vector<Token> condition;
  std::vector<Statement> then_branch;  // one statement
  std::vector<Statement> else_branch;  // none or one
};
struct WhileStatement {
  std::vector<Token> condition;
  std::vector<Statement> body;  // one statement
};
// BEGIN ... END.
struct BlockStatement {
  std::vector<Statement> statements;
};
// BEGIN TRY ... END TRY BEGIN CATCH ... END CATCH.
struct TryCatchStatement {
  std::vector<Statement> try_block;
  std::vector<Statement> catch_block;
};

// One parameter of sp_executesql's @params: "@name type [OUTPUT]".
struct DeclaredParameter {
  std::string name;  // "@name" as written
  std::string type;  // upper-cased, e.g. "NVARCHAR(50)"
  bool output = false;
};
// Reads sp_executesql's @params text. Throws SqlError 102 for text it can't read.
std::vector<DeclaredParameter> parse_parameter_declarations(std::string_view declarations);

// A token made by bakrest rather than read from a batch: a word, or a number when it starts with a digit.
Token synthetic_token(std::string text);

// Splits a batch into statements in order. Throws SqlError (102 "Incorrect syntax near '...'.") when a
// statement bakrest handles itself is malformed; nothing in the batch runs then.
std::vector<Statement> parse_batch(std::string_view batch);

// What rewriting needs to know about the session at the moment a statement runs.
struct RewriteContext {
  std::string current_database;   // DB_NAME()
  int spid = 0;                   // @@SPID
  int trancount = 0;              // @@TRANCOUNT
  std::string version;            // @@VERSION
  std::string server_name;        // @@SERVERNAME
  int64_t rowcount = 0;           // @@ROWCOUNT: rows of the statement before
  int32_t error = 0;              // @@ERROR: the error number of the statement before, 0 if it succeeded
  int64_t options = 0;            // @@OPTIONS
  int64_t textsize = 2147483647;  // @@TEXTSIZE
  int lock_timeout = -1;          // @@LOCK_TIMEOUT
  std::optional<Message>
      caught{};  // inside CATCH: the error being handled (ERROR_NUMBER(), ERROR_MESSAGE(), ...)
  int64_t microsoft_version = 0;  // @@MICROSOFTVERSION
  int nest_level = 0;             // @@NESTLEVEL: 1 inside sp_executesql
  std::map<std::string, std::string>
      variable_types{};  // the batch's variables: lower-case name -> declared type
};

// What SQL Server would say of one result column of a query (select_list.h).
struct ColumnHint {
  bool named = true;  // false: an expression without an alias; SQL Server sends an empty name
  std::string
      type;  // the T-SQL type its form fixes (CAST, CONVERT, GETDATE(), a variable, a literal); or empty
};

struct RewrittenSql {
  std::string sql;  // SQLite SQL
  // The outermost select list's columns in order, when the statement is a query whose list was read whole.
  std::optional<std::vector<ColumnHint>> columns;
  std::vector<std::string> databases;  // databases named by multi-part names, each to be attached under
                                       // attachment_schema(name) (the current one is "main", msdb "msdb")
  bool temporary_tables = false;  // names a #temporary or ##global temporary table (catalog::temp_schema)
};

// The SQLite schema name another database is attached under: its folded name (database_name_key), with a
// '~' in front when that would be SQLite's own main or temp or already starts with '~'. So no user
// database can alias SQLite's schemas or another database, and spellings of one name (Café, CAFE) share
// one attachment.
std::string attachment_schema(std::string_view database);

// Turns T-SQL into SQLite SQL: N'..' -> '..', 0x.. -> X'..', [x] -> "x", TOP (n)/TOP n -> LIMIT n,
// db.schema.obj and db..obj -> "<attachment_schema(db)>".obj (the current database -> main.obj), schema.obj
// -> obj for dbo/sys schemas, sys.databases -> msdb.sys_databases, DB_NAME() / @@SPID / @@TRANCOUNT /
// @@VERSION /
// @@SERVERNAME -> literals, ISNULL( -> IFNULL(, LEN( -> LENGTH(. Throws SqlError for constructs named as
// not supported (e.g. TOP ... PERCENT).
RewrittenSql rewrite_for_sqlite(const std::vector<Token>& tokens, const RewriteContext& context);

}  // namespace bakrest::sql
