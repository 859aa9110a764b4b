// SQL Server's data types as bakrest meets them in DECLARE, CAST, CONVERT and sp_executesql's
// @params, and T-SQL's conversions of a value to one of them (docs/COMPATIBILITY.md, "Types").
//
// Values are held as SQLite holds them: integers (also BIT, as 0/1), doubles (FLOAT, REAL, and DECIMAL,
// NUMERIC, MONEY rounded to their scale), text (strings; dates and times in ISO form, "YYYY-MM-DD
// HH:MM:SS.fffffff"; UNIQUEIDENTIFIER as upper-case "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"), and blobs
// (BINARY, VARBINARY). The declared type then tells the TDS layer which type to send (column_for()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/value.h"

namespace bakrest {

struct SqlType {
  enum class Base {
    kBit,
    kTinyInt,
    kSmallInt,
    kInt,
    kBigInt,
    kReal,
    kFloat,
    kDecimal,  // DECIMAL and NUMERIC
    kMoney,
    kSmallMoney,
    kChar,       // CHAR and NCHAR: padded to the length
    kVarChar,    // VARCHAR, NVARCHAR, TEXT, NTEXT, SYSNAME
    kBinary,     // padded to the length
    kVarBinary,  // VARBINARY, IMAGE
    kDate,
    kTime,
    kDateTime,
    kSmallDateTime,
    kDateTime2,
    kDateTimeOffset,
    kUniqueIdentifier,
    kSqlVariant,
  };
  Base base = Base::kVarChar;
  bool unicode = true;  // NCHAR, NVARCHAR, NTEXT (and SYSNAME)
  int64_t length = 0;   // characters (or bytes for binary types); -1 for (MAX); 0 when not given
  int precision = 0;    // DECIMAL: 1..38; FLOAT: 1..53
  int scale = 0;        // DECIMAL: 0..precision; TIME, DATETIME2, DATETIMEOFFSET: 0..7 fractional digits
  std::string name;     // as SQL Server names it: "int", "nvarchar", "decimal", ...

  // "nvarchar(50)", "decimal(10,2)", "datetime2(7)", "varbinary(max)".
  std::string spelled() const;
};

// Reads a type name with its arguments, as written after AS in CAST or in a declaration ("INT",
// "NVARCHAR(MAX)", "decimal(10, 2)", "DOUBLE PRECISION"). Defaults follow SQL Server: DECIMAL is (18,0),
// VARCHAR in CAST is 30 characters, DATETIME2 has 7 digits. Throws SqlError 2715 ("Column, parameter, or
// variable #1: Cannot find data type X.") for an unknown type, 102 for a malformed one, and SQL Server's
// errors for lengths, precisions and scales out of range.
SqlType parse_type(std::string_view text);

// T-SQL's CAST(value AS type), with the value as SQLite holds it. Throws SqlError as SQL Server does: 245
// (a string that is no number), 241 (a string that is no date), 8115 (arithmetic overflow), 8114, 529
// (a conversion SQL Server does not allow, e.g. a date to an INT).
Value convert(const Value& value, const SqlType& type);

// A variable's assignment: the value converted to its declared type ("" or an unknown type: unchanged).
Value convert_to_declared(const Value& value, const std::string& declared_type);

// The result column for values of this type.
Column column_for(const SqlType& type, std::string name = {});

// The column for a single value of no declared type (an OUTPUT parameter whose type is unknown).
Column value_column(const Value& value);

}  // namespace bakrest
