// A thin RAII layer over the SQLite C API, shared by msdb, the engine and the SQL executor.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/value.h"

namespace bakrest::sqlite {

// A SQLite failure. code() is the (extended) SQLite result code.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Statement;

class Database {
 public:
  // flags: SQLITE_OPEN_* (URI filenames are always enabled). vfs: a registered VFS name, or the default.
  Database(const std::filesystem::path& file, int flags, const char* vfs = nullptr);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Database& operator=(Database&&) = delete;

  sqlite3* handle() const { return db_; }
  // Runs one or more statements that return no rows.
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, std::span<const uint8_t> blob);
  Statement& bind(int index, const Value& value);
  Statement& bind(int index, const std::optional<std::string>& text);

  // Returns true while a row is available.
  bool step();
  // Steps to completion, for statements that return no rows.
  void run();
  void reset();

  int column_count() const { return sqlite3_column_count(stmt_); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t get_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double get_double(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string get_text(int column) const;
  std::optional<std::string> get_optional_text(int column) const;
  Bytes get_blob(int column) const;

  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// A file: URI for path, with '%', '?', '#' and ' ' escaped, followed by query (e.g. "mode=ro") if not empty.
std::string file_uri(const std::filesystem::path& path, std::string_view query = {});

// Binds a Value to a parameter of a raw statement (for statements the caller prepares itself).
// DateTime is bound as text, the form SQLite's date functions read.
void bind_value(sqlite3_stmt* stmt, int index, const Value& value);

// The result of an application-defined function from a Value (DateTime as text, like bind_value).
void result_value(sqlite3_context* context, const Value& value);
// An argument of an application-defined function as a Value (NULL, integer, double, text or blob).
Value value_of(sqlite3_value* value);

// An application-defined function fails with a SQL Server error: SQLite carries the number and severity
// in the error's text, and sql_error_in() reads them back, so the client sees error 245, not 'step: ...'.
void result_sql_error(sqlite3_context* context, int32_t number, uint8_t severity, const std::string& text);
struct CarriedError {
  int32_t number;
  uint8_t severity;
  std::string text;
};
std::optional<CarriedError> sql_error_in(std::string_view sqlite_message);

// Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back if fn throws.
template <typename Fn>
auto with_transaction(Database& db, Fn&& fn) {
  db.exec("BEGIN IMMEDIATE");
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      db.exec("COMMIT");
    } else {
      auto result = fn();
      db.exec("COMMIT");
      return result;
    }
  } catch (...) {
    sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace bakrest::sqlite
