// Choosing SQL Server column types for SQLite results, which carry a declared type at best and a storage
// class per value at worst. Rows are buffered first so every value can be checked against the choice.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "common/value.h"

namespace bakrest::sql {

// A value as SQLite returned it (monostate, int64_t, double, std::string or Bytes).
Value read_sqlite_value(sqlite3_stmt* stmt, int column);

// The column type for a declared type (may be empty) and the column's values, and the values converted
// to it (e.g. DATETIME text to DateTime, INT 0/1 to bool for BIT). With more_rows_follow, the values are
// only the first rows: lengths and integer widths are then chosen for any value (NVARCHAR(MAX), BIGINT).
Column choose_column(const std::string& name, const std::string& declared_type, std::vector<Value*>& values,
                     bool more_rows_follow = false);

// Converts a value of a later row to a column chosen from the first rows. Throws SqlError 245 or 241, as
// SQL Server does, for a value that has no such conversion (SQLite lets a column hold any type).
void conform(Value& value, const Column& column);

// Length in UTF-16 code units, which is how NVARCHAR lengths count.
size_t utf16_length(const std::string& utf8);

}  // namespace bakrest::sql
