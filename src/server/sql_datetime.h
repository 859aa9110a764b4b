// Conversions between bakrest's DateTime (microseconds since the Unix epoch) and SQL Server's date
// encodings, plus the text forms used when a date meets a text column or a text value meets a date.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/value.h"

namespace bakrest::server {

// DATETIME: days since 1900-01-01 and 1/300-second ticks since midnight. Out-of-range values are
// clamped to DATETIME's range (1753-01-01 .. 9999-12-31 23:59:59.997), both ways.
struct SqlDateTime {
  int32_t days = 0;
  uint32_t ticks = 0;
};
SqlDateTime to_sql_datetime(DateTime t);
DateTime from_sql_datetime(SqlDateTime v);

// DATETIME2/DATE: days since 0001-01-01 and time since midnight in units of 10^-scale seconds.
struct SqlDateTime2 {
  uint32_t days = 0;
  uint64_t time = 0;
};
SqlDateTime2 to_sql_datetime2(DateTime t, int scale);  // clamped to 0001-01-01 .. 9999-12-31
DateTime from_sql_datetime2(SqlDateTime2 v, int scale);

// "YYYY-MM-DD HH:MM:SS" with a fraction only when it is not zero.
std::string format_datetime(DateTime t);
// Accepts "YYYY-MM-DD", optionally followed by ' ' or 'T', "HH:MM[:SS[.fraction]]" and a 'Z'.
std::optional<DateTime> parse_datetime(std::string_view text);

}  // namespace bakrest::server
