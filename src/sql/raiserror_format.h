// RAISERROR's message text: a printf-like format and up to 20 arguments, formatted as SQL Server formats
// them.
//
//   % [flags] [width] [.precision] [h | l | I64] type
//
// flags: '-' (left-align), '+' (sign), '0' (zero-pad), '#' (0x / 0 prefix for x, X, o), ' ' (space before a
// positive number); width and precision: a number or '*' (taken from the next argument); type: d or i
// (signed), u (unsigned), o (octal), x or X (hex), s (string). Without I64 the integer types are 32-bit, as
// in SQL Server (%u of -1 is 4294967295). "%%" is a percent sign. A specification with no argument left, or
// with a NULL argument, prints "(null)". The text is cut to 2,047 characters, ending in "...".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"

namespace bakrest::sql {

inline constexpr size_t kMaxRaiserrorArguments = 20;
inline constexpr size_t kMaxRaiserrorMessage = 2047;

// Throws SqlError 2787 `Invalid format specification: '%...'.` for a specification SQL Server does not
// know, and 2786 `The data type of substitution parameter N does not match the expected type of the format
// specification.` when an argument is not of its specification's kind (an integer for d, i, u, o, x, X and
// '*'; text for s).
std::string format_raiserror(std::string_view format, const std::vector<Value>& arguments);

}  // namespace bakrest::sql
