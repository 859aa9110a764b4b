// Lenient conversions of a Value to what a result column's type can carry, so a backend that hands
// over an int for an NVARCHAR column (or text for an INT column) still produces a sensible row.
// nullopt means NULL: the value is NULL or has no representation in the target type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/value.h"

namespace bakrest::server {

std::optional<bool> value_to_bit(const Value& v);
std::optional<int64_t> value_to_int(const Value& v, int64_t min, int64_t max);
std::optional<double> value_to_float(const Value& v);
std::optional<std::string> value_to_text(const Value& v);
std::optional<Bytes> value_to_binary(const Value& v);
std::optional<DateTime> value_to_datetime(const Value& v);

}  // namespace bakrest::server
