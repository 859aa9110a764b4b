// Wall-clock time as bakrest stores and shows it: microseconds since the Unix epoch, UTC.
#pragma once

#include <chrono>
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

// An expiration sent by a service ("2026-12-07T01:00:00Z", the Z optional) as a system_clock time; nullopt
// for text that does not read or a time system_clock cannot hold (it counts nanoseconds: years 1678..2261).
std::optional<std::chrono::system_clock::time_point> parse_expiration(std::string_view text);

}  // namespace bakrest
