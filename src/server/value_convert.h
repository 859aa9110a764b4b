// Lenient conversions of a Value to what a result column's type can carry, so a backend that hands
// over an int for an NVARCHAR column (or text for an INT column) still produces a sensible row.
// nullopt means NULL: the value is NULL or has no representation in the target type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/value.h"
#include "server/sql_datetime.h"

namespace bakrest::server {

std::optional<bool> value_to_bit(const Value& v);
std::optional<int64_t> value_to_int(const Value& v, int64_t min, int64_t max);
std::optional<double> value_to_float(const Value& v);
std::optional<std::string> value_to_text(const Value& v);
std::optional<Bytes> value_to_binary(const Value& v);
std::optional<DateTime> value_to_datetime(const Value& v);

// A DECIMAL or MONEY value as an integer count of 10^-scale units, rounded half away from zero (text is read
// exactly, digit by digit); nullopt when it has more than 38 digits.
std::optional<__int128> value_to_scaled(const Value& v, int scale);
// TIME: microseconds since midnight, from "HH:MM[:SS[.fraction]]" or a DateTime's time of day.
std::optional<int64_t> value_to_time_of_day(const Value& v);
// DATETIME2 and TIME at a scale (0..7 fraction digits): text keeps all seven digits it has ("...15.1234567"),
// which microseconds would not.
std::optional<SqlDateTime2> value_to_datetime2(const Value& v, int scale);
std::optional<uint64_t> value_to_time_units(const Value& v, int scale);
// DATETIMEOFFSET: "YYYY-MM-DD HH:MM:SS[.fraction] [+|-]HH:MM" (no offset: +00:00), or a DateTime (UTC).
struct DateTimeOffsetValue {
  DateTime utc;
  int offset_minutes = 0;
};
std::optional<DateTimeOffsetValue> value_to_datetimeoffset(const Value& v);
// UNIQUEIDENTIFIER in TDS byte order (the first three groups little-endian), from its text form or 16 bytes.
std::optional<std::array<uint8_t, 16>> value_to_guid(const Value& v);

}  // namespace bakrest::server
