// Values and column descriptions that cross layers: SQLite results, procedure arguments, TDS rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bakrest {

using Bytes = std::vector<uint8_t>;

// A point in time, microseconds since 1970-01-01 00:00:00 in the instance's time zone (UTC by default).
struct DateTime {
  int64_t unix_micros = 0;
  bool operator==(const DateTime&) const = default;
};

// NULL is std::monostate. Text is UTF-8.
using Value = std::variant<std::monostate, bool, int64_t, double, std::string, Bytes, DateTime>;

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// The SQL Server types bakrest sends in result sets (always as nullable "N" types on the wire). Date and
// time types need TDS 7.3; older clients get them as text, as SQL Server sends them to down-level clients.
enum class ColumnType {
  kBit,               // BITN
  kTinyInt,           // INTN(1)
  kSmallInt,          // INTN(2)
  kInt,               // INTN(4)
  kBigInt,            // INTN(8)
  kReal,              // FLTN(4)
  kFloat,             // FLTN(8)
  kDecimal,           // DECIMALN(precision, scale)
  kMoney,             // MONEYN(8)
  kSmallMoney,        // MONEYN(4)
  kNVarChar,          // NVARCHAR(max_length) with max_length in characters, 1..4000
  kNVarCharMax,       // NVARCHAR(MAX)
  kVarBinary,         // VARBINARY(max_length) with max_length in bytes, 1..8000
  kVarBinaryMax,      // VARBINARY(MAX)
  kDate,              // DATEN
  kTime,              // TIMEN(scale)
  kSmallDateTime,     // DATETIMN(4)
  kDateTime,          // DATETIMN(8)
  kDateTime2,         // DATETIME2N(scale)
  kDateTimeOffset,    // DATETIMEOFFSETN(scale)
  kUniqueIdentifier,  // GUID
};

struct Column {
  std::string name;
  ColumnType type = ColumnType::kNVarCharMax;
  uint32_t max_length = 0;  // only for kNVarChar and kVarBinary
  uint8_t precision = 0;    // kDecimal: 1..38 (0: 18)
  int8_t scale = -1;        // kDecimal: digits after the point; kTime, kDateTime2, kDateTimeOffset: 0..7;
                            // -1: the type's default (0 for kDecimal, 7 for the time types)
};

}  // namespace bakrest
