// The T-SQL front's syntax half: splits a batch into statements, recognises the few T-SQL forms bakrest
// runs itself, and rewrites everything else into SQLite SQL. Pure functions: no database, no session.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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
struct BeginTransactionStatement {};
struct CommitStatement {};
struct RollbackStatement {};
struct SqlStatement {  // anything else: rewritten and run by SQLite
  std::vector<Token> tokens;
};

using Statement = std::variant<ExecStatement, CreateDatabaseStatement, DropDatabaseStatement,
                               AlterDatabaseStatement, CreateLoginStatement, DropLoginStatement,
                               GrantExecuteStatement, UseStatement, PrintStatement, SetOptionStatement,
                               BeginTransactionStatement, CommitStatement, RollbackStatement, SqlStatement>;

// Splits a batch into statements in order. Throws SqlError (102 "Incorrect syntax near '...'.") when a
// statement bakrest handles itself is malformed; nothing in the batch runs then.
std::vector<Statement> parse_batch(std::string_view batch);

// What rewriting needs to know about the session at the moment a statement runs.
struct RewriteContext {
  std::string current_database;  // DB_NAME()
  int spid = 0;                  // @@SPID
  int trancount = 0;             // @@TRANCOUNT
  std::string version;           // @@VERSION
  std::string server_name;       // @@SERVERNAME
};

struct RewrittenSql {
  std::string sql;                     // SQLite SQL
  std::vector<std::string> databases;  // databases named by multi-part names, each to be attached under
                                       // attachment_schema(name) (the current one is "main", msdb "msdb")
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
