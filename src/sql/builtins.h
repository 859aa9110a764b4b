// T-SQL's built-in functions, registered on each session connection as SQLite functions
// (docs/COMPATIBILITY.md, "Functions"): conversions (bakrest_cast, bakrest_convert, which the rewriter makes
// of CAST and CONVERT), dates (DATEADD, DATEDIFF, DATEPART, ...), strings with T-SQL's rules (LEN without
// trailing blanks, CHARINDEX, LEFT, RIGHT, ...), and the functions that describe the session and the server
// (SERVERPROPERTY, SUSER_SNAME, DB_ID, ...). A function that fails reports SQL Server's error
// (sqlite::result_sql_error).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/connection_info.h"
#include "common/product_version.h"

namespace bakrest::sql {

// What the functions need to know of the session calling them. The session implements it and must outlive
// every connection install_builtins() was called on. Called on the session's own thread only.
class BuiltinSource {
 public:
  virtual ~BuiltinSource() = default;
  virtual std::string login_name() const = 0;
  virtual std::string client_host_name() const = 0;
  virtual std::string client_program_name() const = 0;
  virtual int open_transactions() const = 0;
  virtual const ProductVersion& product() const = 0;
  virtual std::string server_name() const = 0;
  virtual std::string current_database_name() const = 0;
  // A database's id by name and name by id; nullopt when there is no such database.
  virtual std::optional<int64_t> database_id_of(const std::string& name) const = 0;
  virtual std::optional<std::string> database_name_of(int64_t id) const = 0;
  virtual const ConnectionInfo& client_connection() const = 0;
};

// Registers every function on the connection. Throws sqlite::Error.
void install_builtins(sqlite3* db, const BuiltinSource& source);

// CONVERT's date and time styles for a value as text: "2010-01-02 03:04:05.678" in style 120 is
// "2010-01-02 03:04:05". nullopt for a style bakrest does not know.
std::optional<std::string> format_date_style(int64_t unix_micros, int style);

}  // namespace bakrest::sql
