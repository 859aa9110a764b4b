#include "server/sql_datetime.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace bakrest::server {
namespace {

namespace chr = std::chrono;

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kUnixDaysFrom1900 = 25567;    // 1900-01-01 .. 1970-01-01
constexpr int64_t kUnixDaysFromYear1 = 719162;  // 0001-01-01 .. 1970-01-01
constexpr int64_t kDatetimeMinDays = -53690;    // 1753-01-01 relative to 1900-01-01
constexpr int64_t kDatetimeMaxDays = 2958463;   // 9999-12-31 relative to 1900-01-01
constexpr int64_t kYear1MaxDays = 3652058;      // 9999-12-31 relative to 0001-01-01
constexpr int64_t kTicksPerDay = 300LL * 86400;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t pow10(int n) {
  int64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

}  // namespace

SqlDateTime to_sql_datetime(DateTime t) {
  int64_t day = floor_div(t.unix_micros, kMicrosPerDay);
  int64_t micros = t.unix_micros - day * kMicrosPerDay;
  int64_t days = day + kUnixDaysFrom1900;
  int64_t ticks = (micros * 3 + 5000) / 10000;  // rounded to 1/300 s
  if (ticks >= kTicksPerDay) {
    ++days;
    ticks = 0;
  }
  if (days < kDatetimeMinDays) return {static_cast<int32_t>(kDatetimeMinDays), 0};
  if (days > kDatetimeMaxDays)
    return {static_cast<int32_t>(kDatetimeMaxDays), static_cast<uint32_t>(kTicksPerDay - 1)};
  return {static_cast<int32_t>(days), static_cast<uint32_t>(ticks)};
}

DateTime from_sql_datetime(SqlDateTime v) {
  // A client can send any 32-bit day count; far outside DATETIME's range it would overflow the microseconds.
  int64_t days = std::clamp<int64_t>(v.days, kDatetimeMinDays, kDatetimeMaxDays);
  int64_t ticks = std::min<int64_t>(v.ticks, kTicksPerDay - 1);
  int64_t micros = (ticks * 10000 + 1) / 3;  // ticks are 3.33 ms; round to the nearest microsecond
  return DateTime{(days - kUnixDaysFrom1900) * kMicrosPerDay + micros};
}

SqlDateTime2 to_sql_datetime2(DateTime t, int scale) {
  int64_t day = floor_div(t.unix_micros, kMicrosPerDay);
  int64_t micros = t.unix_micros - day * kMicrosPerDay;
  int64_t days = day + kUnixDaysFromYear1;
  if (days < 0) return {0, 0};
  int64_t units_per_day = 86400 * pow10(scale);
  if (days > kYear1MaxDays)
    return {static_cast<uint32_t>(kYear1MaxDays), static_cast<uint64_t>(units_per_day - 1)};
  int64_t time = scale >= 6 ? micros * pow10(scale - 6) : micros / pow10(6 - scale);
  return {static_cast<uint32_t>(days), static_cast<uint64_t>(time)};
}

DateTime from_sql_datetime2(SqlDateTime2 v, int scale) {
  scale = std::clamp(scale, 0, 7);
  int64_t time = static_cast<int64_t>(std::min<uint64_t>(v.time, 86400ULL * 10'000'000));
  int64_t micros = scale >= 6 ? time / pow10(scale - 6) : time * pow10(6 - scale);
  return DateTime{(int64_t{v.days} - kUnixDaysFromYear1) * kMicrosPerDay + micros};
}

std::string format_datetime(DateTime t) {
  int64_t day = floor_div(t.unix_micros, kMicrosPerDay);
  int64_t micros = t.unix_micros - day * kMicrosPerDay;
  chr::year_month_day ymd{chr::sys_days{chr::days{day}}};
  int64_t seconds = micros / 1'000'000;
  std::string out = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (int64_t fraction = micros % 1'000'000; fraction != 0) {
    std::string digits = fmt::format("{:06}", fraction);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.' + digits;
  }
  return out;
}

std::optional<DateTime> parse_datetime(std::string_view text) {
  size_t pos = 0;
  auto number = [&](size_t digits) -> std::optional<int> {
    if (pos + digits > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < digits; ++i) {
      char c = text[pos + i];
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    pos += digits;
    return v;
  };
  auto expect = [&](char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  while (pos < text.size() && text[pos] == ' ') ++pos;
  auto year = number(4);
  if (!year || !expect('-')) return std::nullopt;
  auto month = number(2);
  if (!month || !expect('-')) return std::nullopt;
  auto day = number(2);
  if (!day) return std::nullopt;
  chr::year_month_day ymd{chr::year{*year}, chr::month{static_cast<unsigned>(*month)},
                          chr::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  int64_t micros = 0;
  if (expect(' ') || expect('T')) {
    auto hour = number(2);
    if (!hour || !expect(':')) return std::nullopt;
    auto minute = number(2);
    if (!minute || *hour > 23 || *minute > 59) return std::nullopt;
    int second = 0;
    if (expect(':')) {
      auto s = number(2);
      if (!s || *s > 59) return std::nullopt;
      second = *s;
    }
    micros = ((*hour * 60LL + *minute) * 60 + second) * 1'000'000;
    if (expect('.')) {
      int64_t scale = 100'000;
      size_t start = pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        micros += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  expect('Z');
  while (pos < text.size() && text[pos] == ' ') ++pos;
  if (pos != text.size()) return std::nullopt;
  int64_t days = chr::sys_days{ymd}.time_since_epoch().count();
  return DateTime{days * kMicrosPerDay + micros};
}

}  // namespace bakrest::server
