#include "common/clock.h"

#include <cctype>
#include <chrono>
#include <cstdio>

namespace bakrest {

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_datetime(int64_t unix_micros) {
  using namespace std::chrono;
  sys_time<microseconds> t{microseconds{unix_micros}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<milliseconds>(t - day)};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u %02d:%02d:%02d.%03d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buffer;
}

std::optional<int64_t> parse_datetime(std::string_view text) {
  using namespace std::chrono;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::string owned(text);
  for (auto& c : owned) {
    if (c == 'T') c = ' ';
  }
  // Every field is unsigned: reject a sign where a number starts (scanf's %d would take it).
  for (size_t i = 0; i < owned.size(); ++i) {
    bool sign = owned[i] == '-' || owned[i] == '+';
    bool after_digit = i > 0 && std::isdigit(static_cast<unsigned char>(owned[i - 1]));
    if (sign && !(owned[i] == '-' && after_digit && i < 10)) return std::nullopt;
  }
  int consumed = 0;
  int fields = std::sscanf(owned.c_str(), "%4d-%2d-%2d%n %2d:%2d%n:%2d%n", &y, &mo, &d, &consumed, &h, &mi,
                           &consumed, &s, &consumed);
  if (fields != 3 && fields != 5 && fields != 6) return std::nullopt;
  int64_t fraction_micros = 0;
  size_t pos = static_cast<size_t>(consumed);
  if (fields == 6 && pos < owned.size() && owned[pos] == '.') {
    int64_t scale = 100000;
    for (++pos; pos < owned.size() && owned[pos] >= '0' && owned[pos] <= '9'; ++pos) {
      fraction_micros += (owned[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos != owned.size()) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
  return duration_cast<microseconds>(t.time_since_epoch()).count() + fraction_micros;
}

std::optional<std::chrono::system_clock::time_point> parse_expiration(std::string_view text) {
  if (text.ends_with('Z')) text.remove_suffix(1);
  auto micros = parse_datetime(text);
  using Micros = std::chrono::microseconds;
  constexpr auto kLimit =
      std::chrono::duration_cast<Micros>(std::chrono::system_clock::duration::max()).count();
  if (!micros || *micros >= kLimit || *micros <= -kLimit) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(Micros(*micros)));
}

}  // namespace bakrest
