// Wall-clock time as bakrest stores and shows it: microseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bakrest {

int64_t now_micros();

// "YYYY-MM-DD HH:MM:SS.fff" — the text form msdb stores and SQLite's date functions read.
std::string format_datetime(int64_t unix_micros);

// Reads "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.fraction]]" (a 'T' may replace the space).
std::optional<int64_t> parse_datetime(std::string_view text);

}  // namespace bakrest
