#include "sql/builtins.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "common/clock.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/ids.h"
#include "common/sql_type.h"
#include "common/sqlite.h"
#include "common/text.h"
#include "common/utf8.h"

namespace bakrest::sql {
namespace {

using Args = sqlite3_value**;

const BuiltinSource& source_of(sqlite3_context* context) {
  return *static_cast<const BuiltinSource*>(sqlite3_user_data(context));
}

bool is_null_arg(sqlite3_value* v) { return sqlite3_value_type(v) == SQLITE_NULL; }

std::string text_arg(sqlite3_value* v) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
  return text ? std::string(text, static_cast<size_t>(sqlite3_value_bytes(v))) : std::string();
}

void result_text(sqlite3_context* context, const std::string& text) {
  sqlite3_result_text64(context, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

// Runs fn, turning a SqlError into the function's error.
template <class F>
void guarded(sqlite3_context* context, F&& fn) {
  try {
    fn();
  } catch (const SqlError& e) {
    sqlite::result_sql_error(context, e.message().number, e.message().severity, e.message().text);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

void define(sqlite3* db, const char* name, int args, void (*fn)(sqlite3_context*, int, Args),
            const void* data, bool deterministic = false) {
  int flags = SQLITE_UTF8 | (deterministic ? SQLITE_DETERMINISTIC : 0);
  int rc = sqlite3_create_function_v2(db, name, args, flags, const_cast<void*>(data), fn, nullptr, nullptr,
                                      nullptr);
  if (rc != SQLITE_OK) throw sqlite::Error(rc, std::string("cannot define function ") + name);
}

// --- characters ----------------------------------------------------------------------------------------

// The default collation is case-insensitive: compare ASCII letters without case.
char32_t fold(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// LEN: characters without trailing blanks.
void fn_len(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  if (sqlite3_value_type(argv[0]) == SQLITE_BLOB)
    return sqlite3_result_int64(context, sqlite3_value_bytes(argv[0]));
  std::u32string s = code_points(text_arg(argv[0]));
  while (!s.empty() && s.back() == U' ') s.pop_back();
  sqlite3_result_int64(context, static_cast<sqlite3_int64>(s.size()));
}

// DATALENGTH: bytes as SQL Server stores the value: NVARCHAR text is UTF-16, integers 4 or 8, floats 8.
void fn_datalength(sqlite3_context* context, int, Args argv) {
  switch (sqlite3_value_type(argv[0])) {
    case SQLITE_NULL:
      return sqlite3_result_null(context);
    case SQLITE_INTEGER: {
      int64_t i = sqlite3_value_int64(argv[0]);
      return sqlite3_result_int64(context, i >= INT32_MIN && i <= INT32_MAX ? 4 : 8);
    }
    case SQLITE_FLOAT:
      return sqlite3_result_int64(context, 8);
    case SQLITE_BLOB:
      return sqlite3_result_int64(context, sqlite3_value_bytes(argv[0]));
    default: {
      size_t units = 0;
      for (char32_t cp : code_points(text_arg(argv[0]))) units += cp >= 0x10000 ? 2 : 1;
      return sqlite3_result_int64(context, static_cast<sqlite3_int64>(units * 2));
    }
  }
}

// CHARINDEX(needle, haystack [, start]): 1-based, 0 when absent, without regard to case.
void fn_charindex(sqlite3_context* context, int argc, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1])) return sqlite3_result_null(context);
  std::u32string needle = code_points(text_arg(argv[0]));
  std::u32string hay = code_points(text_arg(argv[1]));
  int64_t start = argc > 2 && !is_null_arg(argv[2]) ? std::max<int64_t>(sqlite3_value_int64(argv[2]), 1) : 1;
  for (auto& c : needle) c = fold(c);
  for (auto& c : hay) c = fold(c);
  if (needle.empty()) return sqlite3_result_int64(context, 0);
  size_t at = hay.find(needle, static_cast<size_t>(start - 1));
  sqlite3_result_int64(context, at == std::u32string::npos ? 0 : static_cast<sqlite3_int64>(at + 1));
}

void fn_left(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1])) return sqlite3_result_null(context);
  int64_t n = sqlite3_value_int64(argv[1]);
  if (n < 0)
    return sqlite::result_sql_error(context, 536, 16,
                                    "Invalid length parameter passed to the left function.");
  std::u32string s = code_points(text_arg(argv[0]));
  result_text(context, to_utf8(s.substr(0, static_cast<size_t>(n))));
}

void fn_right(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1])) return sqlite3_result_null(context);
  int64_t n = sqlite3_value_int64(argv[1]);
  if (n < 0)
    return sqlite::result_sql_error(context, 536, 16,
                                    "Invalid length parameter passed to the right function.");
  std::u32string s = code_points(text_arg(argv[0]));
  size_t keep = std::min(s.size(), static_cast<size_t>(n));
  result_text(context, to_utf8(s.substr(s.size() - keep)));
}

void fn_replicate(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1])) return sqlite3_result_null(context);
  int64_t n = sqlite3_value_int64(argv[1]);
  if (n < 0) return sqlite3_result_null(context);
  std::string s = text_arg(argv[0]);
  if (static_cast<double>(s.size()) * static_cast<double>(n) > 1e9) {
    return sqlite::result_sql_error(context, 1121, 17, "REPLICATE would make a value of more than 1 GB.");
  }
  std::string out;
  out.reserve(s.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out += s;
  result_text(context, out);
}

void fn_space(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  int64_t n = sqlite3_value_int64(argv[0]);
  if (n < 0) return sqlite3_result_null(context);
  result_text(context, std::string(static_cast<size_t>(std::min<int64_t>(n, 8000)), ' '));
}

void fn_reverse(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  std::u32string s = code_points(text_arg(argv[0]));
  std::reverse(s.begin(), s.end());
  result_text(context, to_utf8(s));
}

// STUFF(s, start, length, insert)
void fn_stuff(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1]) || is_null_arg(argv[2]))
    return sqlite3_result_null(context);
  std::u32string s = code_points(text_arg(argv[0]));
  int64_t start = sqlite3_value_int64(argv[1]);
  int64_t length = sqlite3_value_int64(argv[2]);
  if (start < 1 || start > static_cast<int64_t>(s.size()) || length < 0) return sqlite3_result_null(context);
  std::u32string insert = is_null_arg(argv[3]) ? std::u32string() : code_points(text_arg(argv[3]));
  s.replace(static_cast<size_t>(start - 1), static_cast<size_t>(length), insert);
  result_text(context, to_utf8(s));
}

// CONCAT: NULLs are empty strings; numbers are their text.
void fn_concat(sqlite3_context* context, int argc, Args argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    if (!is_null_arg(argv[i])) out += text_arg(argv[i]);
  }
  result_text(context, out);
}

void fn_concat_ws(sqlite3_context* context, int argc, Args argv) {
  if (argc < 1 || is_null_arg(argv[0])) return sqlite3_result_null(context);
  std::string separator = text_arg(argv[0]);
  std::string out;
  bool first = true;
  for (int i = 1; i < argc; ++i) {
    if (is_null_arg(argv[i])) continue;
    if (!first) out += separator;
    out += text_arg(argv[i]);
    first = false;
  }
  result_text(context, out);
}

// QUOTENAME(s [, quote]): [s] with ] doubled (or the given quote character).
void fn_quotename(sqlite3_context* context, int argc, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  std::string s = text_arg(argv[0]);
  if (code_points(s).size() > 128) return sqlite3_result_null(context);
  char open = '[', close = ']';
  if (argc > 1 && !is_null_arg(argv[1])) {
    std::string q = text_arg(argv[1]);
    if (q == "'" || q == "\"") {
      open = close = q[0];
    } else if (q == "(" || q == ")") {
      open = '(', close = ')';
    } else if (q == "<" || q == ">") {
      open = '<', close = '>';
    } else if (q == "{" || q == "}") {
      open = '{', close = '}';
    } else if (q == "`") {
      open = close = '`';
    } else if (q != "[" && q != "]") {
      return sqlite3_result_null(context);
    }
  }
  std::string out(1, open);
  for (char c : s) {
    out += c;
    if (c == close) out += close;
  }
  out += close;
  result_text(context, out);
}

void fn_ascii(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  std::string s = text_arg(argv[0]);
  if (s.empty()) return sqlite3_result_null(context);
  sqlite3_result_int64(context, static_cast<unsigned char>(s[0]));
}

void fn_nchar(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  int64_t cp = sqlite3_value_int64(argv[0]);
  if (cp < 0 || cp > 0x10FFFF) return sqlite3_result_null(context);
  result_text(context, to_utf8(std::u32string(1, static_cast<char32_t>(cp))));
}

// LOG(x [, base]): natural by default (SQLite's log() is base 10).
void fn_log(sqlite3_context* context, int argc, Args argv) {
  if (is_null_arg(argv[0]) || (argc > 1 && is_null_arg(argv[1]))) return sqlite3_result_null(context);
  double x = sqlite3_value_double(argv[0]);
  if (x <= 0)
    return sqlite::result_sql_error(context, 3623, 16, "An invalid floating point operation occurred.");
  double r = std::log(x);
  if (argc > 1) {
    double base = sqlite3_value_double(argv[1]);
    if (base <= 0 || base == 1) {
      return sqlite::result_sql_error(context, 3623, 16, "An invalid floating point operation occurred.");
    }
    r /= std::log(base);
  }
  sqlite3_result_double(context, r);
}

// ROUND(x, n [, truncate]): n may be negative (ROUND(1234, -2) = 1200); integers stay integers.
void fn_round(sqlite3_context* context, int argc, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  int64_t n = argc > 1 && !is_null_arg(argv[1]) ? sqlite3_value_int64(argv[1]) : 0;
  bool truncate = argc > 2 && !is_null_arg(argv[2]) && sqlite3_value_int64(argv[2]) != 0;
  double factor = std::pow(10.0, static_cast<double>(n));
  double x = sqlite3_value_double(argv[0]);
  double r = truncate ? std::trunc(x * factor) / factor : std::round(x * factor) / factor;
  if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER && std::fabs(r) < 9.0e18) {
    return sqlite3_result_int64(context, static_cast<sqlite3_int64>(r));
  }
  sqlite3_result_double(context, r);
}

void fn_square(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  double x = sqlite3_value_double(argv[0]);
  sqlite3_result_double(context, x * x);
}

void fn_rand(sqlite3_context* context, int argc, Args argv) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  if (argc > 0 && !is_null_arg(argv[0])) engine.seed(static_cast<uint64_t>(sqlite3_value_int64(argv[0])));
  sqlite3_result_double(context, std::uniform_real_distribution<double>(0.0, 1.0)(engine));
}

// HASHBYTES('SHA2_256' | 'SHA2_512' | 'SHA1' | 'MD5', value): NVARCHAR text hashes as UTF-16, as on SQL
// Server.
void fn_hashbytes(sqlite3_context* context, int, Args argv) {
  if (is_null_arg(argv[0]) || is_null_arg(argv[1])) return sqlite3_result_null(context);
  std::string algorithm = ascii_lower(text_arg(argv[0]));
  Bytes data;
  if (sqlite3_value_type(argv[1]) == SQLITE_BLOB) {
    Value v = sqlite::value_of(argv[1]);
    data = std::get<Bytes>(v);
  } else {
    for (char32_t cp : code_points(text_arg(argv[1]))) {
      auto push = [&](uint16_t unit) {
        data.push_back(static_cast<uint8_t>(unit));
        data.push_back(static_cast<uint8_t>(unit >> 8));
      };
      if (cp >= 0x10000) {
        cp -= 0x10000;
        push(static_cast<uint16_t>(0xD800 + (cp >> 10)));
        push(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
      } else {
        push(static_cast<uint16_t>(cp));
      }
    }
  }
  Bytes out;
  if (algorithm == "sha2_256") {
    auto d = sha256(data);
    out.assign(d.begin(), d.end());
  } else if (algorithm == "md5") {
    Md5 digest;
    digest.update(data);
    auto d = digest.finish();
    out.assign(d.begin(), d.end());
  } else {
    return sqlite::result_sql_error(
        context, 40517, 16,
        "HASHBYTES supports SHA2_256 and MD5 in bakrest; '" + text_arg(argv[0]) + "' is not supported yet.");
  }
  sqlite3_result_blob64(context, out.data(), out.size(), SQLITE_TRANSIENT);
}

// --- conversions ---------------------------------------------------------------------------------------

// The type named by a constant argument, parsed once per statement (SQLite keeps it as auxiliary data).
const SqlType& type_arg(sqlite3_context* context, Args argv, int index) {
  if (auto* cached = static_cast<SqlType*>(sqlite3_get_auxdata(context, index))) return *cached;
  auto type = std::make_unique<SqlType>(parse_type(text_arg(argv[index])));
  SqlType* raw = type.release();
  sqlite3_set_auxdata(context, index, raw, [](void* p) { delete static_cast<SqlType*>(p); });
  // SQLite may drop the data at once (a non-constant argument); then parse again for this call.
  if (auto* kept = static_cast<SqlType*>(sqlite3_get_auxdata(context, index))) return *kept;
  thread_local SqlType scratch;
  scratch = parse_type(text_arg(argv[index]));
  return scratch;
}

// bakrest_cast(value, 'type'): CAST(value AS type).
void fn_cast(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    const SqlType& type = type_arg(context, argv, 1);
    sqlite::result_value(context, convert(sqlite::value_of(argv[0]), type));
  });
}

// bakrest_try_cast(value, 'type'): NULL where CAST fails.
void fn_try_cast(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    const SqlType& type = type_arg(context, argv, 1);
    try {
      sqlite::result_value(context, convert(sqlite::value_of(argv[0]), type));
    } catch (const SqlError&) {
      sqlite3_result_null(context);
    }
  });
}

std::string hex_of(const Bytes& b, bool prefix) {
  std::string out = prefix ? "0x" : "";
  for (uint8_t byte : b) out += fmt::format("{:02X}", byte);
  return out;
}

Value convert_with_style(const Value& value, const SqlType& type, std::optional<int64_t> style) {
  bool to_text = type.base == SqlType::Base::kChar || type.base == SqlType::Base::kVarChar;
  bool to_binary = type.base == SqlType::Base::kBinary || type.base == SqlType::Base::kVarBinary;
  if (style && to_text) {
    if (auto* b = std::get_if<Bytes>(&value); b && (*style == 1 || *style == 2)) {
      return convert(Value(hex_of(*b, *style == 1)), type);
    }
    if (auto* s = std::get_if<std::string>(&value)) {
      // A date or time in the style asked for; other text is itself.
      Value as_date;
      try {
        as_date = convert(value, parse_type("datetime2"));
      } catch (const SqlError&) {
      }
      if (auto* d = std::get_if<std::string>(&as_date); d && (*style != 0 || s->size() >= 10)) {
        if (auto micros = parse_datetime(*d)) {
          if (auto text = format_date_style(*micros, static_cast<int>(*style)))
            return convert(Value(*text), type);
          throw SqlError(281, 16,
                         std::to_string(*style) +
                             " is not a valid style number when converting from "
                             "datetime to a character string.");
        }
      }
    }
  }
  if (style && to_binary && (*style == 1 || *style == 2)) {
    if (auto* s = std::get_if<std::string>(&value)) {
      std::string hex = *s;
      if (*style == 1) {
        if (hex.rfind("0x", 0) != 0 && hex.rfind("0X", 0) != 0) {
          throw SqlError(8114, 16, "Error converting data type varchar to varbinary.");
        }
        hex = hex.substr(2);
      }
      if (hex.size() % 2 != 0) throw SqlError(8114, 16, "Error converting data type varchar to varbinary.");
      Bytes out;
      for (size_t i = 0; i < hex.size(); i += 2) {
        unsigned byte = 0;
        if (std::sscanf(hex.substr(i, 2).c_str(), "%2x", &byte) != 1) {
          throw SqlError(8114, 16, "Error converting data type varchar to varbinary.");
        }
        out.push_back(static_cast<uint8_t>(byte));
      }
      return convert(Value(out), type);
    }
  }
  return convert(value, type);
}

// bakrest_convert('type', value [, style]): CONVERT(type, value [, style]).
void fn_convert(sqlite3_context* context, int argc, Args argv) {
  guarded(context, [&] {
    const SqlType& type = type_arg(context, argv, 0);
    std::optional<int64_t> style;
    if (argc > 2 && !is_null_arg(argv[2])) style = sqlite3_value_int64(argv[2]);
    sqlite::result_value(context, convert_with_style(sqlite::value_of(argv[1]), type, style));
  });
}

void fn_try_convert(sqlite3_context* context, int argc, Args argv) {
  guarded(context, [&] {
    const SqlType& type = type_arg(context, argv, 0);
    std::optional<int64_t> style;
    if (argc > 2 && !is_null_arg(argv[2])) style = sqlite3_value_int64(argv[2]);
    try {
      sqlite::result_value(context, convert_with_style(sqlite::value_of(argv[1]), type, style));
    } catch (const SqlError&) {
      sqlite3_result_null(context);
    }
  });
}

void fn_isnumeric(sqlite3_context* context, int, Args argv) {
  int type = sqlite3_value_type(argv[0]);
  if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) return sqlite3_result_int64(context, 1);
  if (type != SQLITE_TEXT) return sqlite3_result_int64(context, 0);
  std::string s = text_arg(argv[0]);
  char* end = nullptr;
  std::string trimmed = s;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.pop_back();
  size_t start = trimmed.find_first_not_of(' ');
  if (start == std::string::npos) return sqlite3_result_int64(context, 0);
  trimmed = trimmed.substr(start);
  std::strtod(trimmed.c_str(), &end);
  sqlite3_result_int64(context, end == trimmed.c_str() + trimmed.size() ? 1 : 0);
}

// --- dates and times -----------------------------------------------------------------------------------

constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 86400 * kSecond;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A date argument in microseconds since 1970 (UTC), read as T-SQL reads dates; throws 241.
int64_t date_arg(sqlite3_value* v) {
  Value converted = convert(sqlite::value_of(v), parse_type("datetime2"));
  auto micros = parse_datetime(std::get<std::string>(converted));
  if (!micros)
    throw SqlError(241, 16, "Conversion failed when converting date and/or time from character string.");
  return *micros;
}

bool is_date_only(sqlite3_value* v) {
  if (sqlite3_value_type(v) != SQLITE_TEXT) return false;
  std::string s = text_arg(v);
  return s.size() == 10 && s[4] == '-' && s[7] == '-';
}

// The canonical datepart for a name or abbreviation (DATEADD(dd, ...)); throws 155 for an unknown one.
std::string datepart(const std::string& raw) {
  std::string p = ascii_lower(raw);
  static const std::pair<const char*, const char*> kParts[] = {
      {"year", "year"},
      {"yy", "year"},
      {"yyyy", "year"},
      {"quarter", "quarter"},
      {"qq", "quarter"},
      {"q", "quarter"},
      {"month", "month"},
      {"mm", "month"},
      {"m", "month"},
      {"dayofyear", "dayofyear"},
      {"dy", "dayofyear"},
      {"y", "dayofyear"},
      {"day", "day"},
      {"dd", "day"},
      {"d", "day"},
      {"week", "week"},
      {"wk", "week"},
      {"ww", "week"},
      {"weekday", "weekday"},
      {"dw", "weekday"},
      {"w", "weekday"},
      {"hour", "hour"},
      {"hh", "hour"},
      {"minute", "minute"},
      {"mi", "minute"},
      {"n", "minute"},
      {"second", "second"},
      {"ss", "second"},
      {"s", "second"},
      {"millisecond", "millisecond"},
      {"ms", "millisecond"},
      {"microsecond", "microsecond"},
      {"mcs", "microsecond"},
      {"nanosecond", "nanosecond"},
      {"ns", "nanosecond"},
      {"iso_week", "iso_week"},
      {"isowk", "iso_week"},
      {"isoww", "iso_week"},
      {"tzoffset", "tzoffset"},
      {"tz", "tzoffset"},
  };
  for (const auto& [name, canonical] : kParts) {
    if (p == name) return canonical;
  }
  throw SqlError(155, 15, "'" + raw + "' is not a recognized datepart option.");
}

struct Civil {
  int year;
  unsigned month, day;
  int64_t time;  // microseconds since midnight
};

Civil civil(int64_t micros) {
  using namespace std::chrono;
  int64_t day_start = floor_div(micros, kDay) * kDay;
  sys_days days{std::chrono::days{floor_div(micros, kDay)}};
  year_month_day ymd{days};
  return Civil{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()), micros - day_start};
}

int64_t from_civil(int year, int month, int day, int64_t time) {
  using namespace std::chrono;
  // Normalise the month, then clamp the day to the month's length (DATEADD(month, 1, '2020-01-31') is Feb
  // 29).
  int y = year + floor_div(month - 1, 12);
  int m = static_cast<int>(month - 1 - floor_div(month - 1, 12) * 12) + 1;
  year_month_day last{std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(m)} /
                      std::chrono::last};
  unsigned d = std::min(static_cast<unsigned>(day), static_cast<unsigned>(last.day()));
  sys_days days{std::chrono::year{y} / std::chrono::month{static_cast<unsigned>(m)} / std::chrono::day{d}};
  return days.time_since_epoch().count() * kDay + time;
}

int64_t weekday_of(int64_t micros) {       // 1 = Sunday (DATEFIRST 7)
  int64_t days = floor_div(micros, kDay);  // 1970-01-01 was a Thursday
  return (days + 4) % 7 + 1 + ((days + 4) % 7 < 0 ? 7 : 0);
}

std::string date_text(int64_t micros, bool date_only) {
  std::string text = format_datetime(micros);
  return date_only ? text.substr(0, 10) : text;
}

void fn_dateadd(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[1]) || is_null_arg(argv[2])) return sqlite3_result_null(context);
    std::string part = datepart(text_arg(argv[0]));
    int64_t n = sqlite3_value_int64(argv[1]);
    int64_t t = date_arg(argv[2]);
    bool date_only = is_date_only(argv[2]);
    Civil c = civil(t);
    int64_t out = t;
    if (part == "year") {
      out = from_civil(c.year + static_cast<int>(n), static_cast<int>(c.month), static_cast<int>(c.day),
                       c.time);
    } else if (part == "quarter" || part == "month") {
      int64_t months = part == "quarter" ? n * 3 : n;
      out = from_civil(c.year, static_cast<int>(c.month + months), static_cast<int>(c.day), c.time);
    } else if (part == "day" || part == "dayofyear" || part == "weekday") {
      out = t + n * kDay;
    } else if (part == "week") {
      out = t + n * 7 * kDay;
    } else if (part == "hour") {
      out = t + n * 3600 * kSecond;
      date_only = false;
    } else if (part == "minute") {
      out = t + n * 60 * kSecond;
      date_only = false;
    } else if (part == "second") {
      out = t + n * kSecond;
      date_only = false;
    } else if (part == "millisecond") {
      out = t + n * 1000;
      date_only = false;
    } else if (part == "microsecond") {
      out = t + n;
      date_only = false;
    } else if (part == "nanosecond") {
      out = t + n / 1000;
      date_only = false;
    } else {
      throw SqlError(9810, 16, "The datepart " + part + " is not supported by date function dateadd.");
    }
    result_text(context, date_text(out, date_only));
  });
}

// DATEDIFF counts the boundaries of the datepart crossed between the two dates.
int64_t datediff(const std::string& part, int64_t a, int64_t b) {
  Civil ca = civil(a), cb = civil(b);
  if (part == "year") return cb.year - ca.year;
  if (part == "quarter") return (cb.year * 4 + (cb.month - 1) / 3) - (ca.year * 4 + (ca.month - 1) / 3);
  if (part == "month") return (int64_t{cb.year} * 12 + cb.month) - (int64_t{ca.year} * 12 + ca.month);
  if (part == "day" || part == "dayofyear" || part == "weekday")
    return floor_div(b, kDay) - floor_div(a, kDay);
  if (part == "week") return floor_div(floor_div(b, kDay) + 4, 7) - floor_div(floor_div(a, kDay) + 4, 7);
  if (part == "hour") return floor_div(b, 3600 * kSecond) - floor_div(a, 3600 * kSecond);
  if (part == "minute") return floor_div(b, 60 * kSecond) - floor_div(a, 60 * kSecond);
  if (part == "second") return floor_div(b, kSecond) - floor_div(a, kSecond);
  if (part == "millisecond") return floor_div(b, 1000) - floor_div(a, 1000);
  if (part == "microsecond") return b - a;
  if (part == "nanosecond") return (b - a) * 1000;
  throw SqlError(9810, 16, "The datepart " + part + " is not supported by date function datediff.");
}

void fn_datediff(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[1]) || is_null_arg(argv[2])) return sqlite3_result_null(context);
    std::string part = datepart(text_arg(argv[0]));
    int64_t d = datediff(part, date_arg(argv[1]), date_arg(argv[2]));
    if (sqlite3_user_data(context) == nullptr && (d > INT32_MAX || d < INT32_MIN)) {
      throw SqlError(535, 16,
                     "The datediff function resulted in an overflow. The number of dateparts separating two "
                     "date/time instances is too large. Try to use datediff with a less precise datepart.");
    }
    sqlite3_result_int64(context, d);
  });
}

int64_t datepart_value(const std::string& part, int64_t t) {
  Civil c = civil(t);
  if (part == "year") return c.year;
  if (part == "quarter") return (c.month - 1) / 3 + 1;
  if (part == "month") return c.month;
  if (part == "day") return c.day;
  if (part == "dayofyear") return floor_div(t, kDay) - floor_div(from_civil(c.year, 1, 1, 0), kDay) + 1;
  if (part == "weekday") return weekday_of(t);
  if (part == "week") {
    int64_t jan1 = from_civil(c.year, 1, 1, 0);
    return (datepart_value("dayofyear", t) - 1 + weekday_of(jan1) - 1) / 7 + 1;
  }
  if (part == "iso_week") {
    // ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday.
    int64_t days = floor_div(t, kDay);
    int64_t monday_based = (days + 3) % 7;  // 0 = Monday
    if (monday_based < 0) monday_based += 7;
    int64_t thursday = days - monday_based + 3;
    Civil ct = civil(thursday * kDay);
    int64_t first = floor_div(from_civil(ct.year, 1, 1, 0), kDay);
    return (thursday - first) / 7 + 1;
  }
  if (part == "hour") return c.time / (3600 * kSecond);
  if (part == "minute") return c.time / (60 * kSecond) % 60;
  if (part == "second") return c.time / kSecond % 60;
  if (part == "millisecond") return c.time / 1000 % 1000;
  if (part == "microsecond") return c.time % kSecond;
  if (part == "nanosecond") return c.time % kSecond * 1000;
  if (part == "tzoffset") return 0;
  throw SqlError(9810, 16, "The datepart " + part + " is not supported by date function datepart.");
}

void fn_datepart(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[1])) return sqlite3_result_null(context);
    sqlite3_result_int64(context, datepart_value(datepart(text_arg(argv[0])), date_arg(argv[1])));
  });
}

const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};
const char* const kWeekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

void fn_datename(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[1])) return sqlite3_result_null(context);
    std::string part = datepart(text_arg(argv[0]));
    int64_t t = date_arg(argv[1]);
    if (part == "month") return result_text(context, kMonths[civil(t).month - 1]);
    if (part == "weekday") return result_text(context, kWeekdays[weekday_of(t) - 1]);
    result_text(context, std::to_string(datepart_value(part, t)));
  });
}

void fn_year_month_day(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[0])) return sqlite3_result_null(context);
    const char* part = static_cast<const char*>(sqlite3_user_data(context));
    sqlite3_result_int64(context, datepart_value(part, date_arg(argv[0])));
  });
}

void fn_eomonth(sqlite3_context* context, int argc, Args argv) {
  guarded(context, [&] {
    if (is_null_arg(argv[0])) return sqlite3_result_null(context);
    Civil c = civil(date_arg(argv[0]));
    int64_t months = argc > 1 && !is_null_arg(argv[1]) ? sqlite3_value_int64(argv[1]) : 0;
    int64_t first_of_next = from_civil(c.year, static_cast<int>(c.month + months + 1), 1, 0);
    result_text(context, date_text(first_of_next - kDay, true));
  });
}

void fn_datefromparts(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    for (int i = 0; i < 3; ++i) {
      if (is_null_arg(argv[i])) return sqlite3_result_null(context);
    }
    std::string text = fmt::format("{:04d}-{:02d}-{:02d}", sqlite3_value_int64(argv[0]),
                                   sqlite3_value_int64(argv[1]), sqlite3_value_int64(argv[2]));
    if (!parse_datetime(text))
      throw SqlError(
          289, 16, "Cannot construct data type date, some of the arguments have values which are not valid.");
    result_text(context, text);
  });
}

void fn_datetimefromparts(sqlite3_context* context, int, Args argv) {
  guarded(context, [&] {
    for (int i = 0; i < 7; ++i) {
      if (is_null_arg(argv[i])) return sqlite3_result_null(context);
    }
    std::string text =
        fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:03d}", sqlite3_value_int64(argv[0]),
                    sqlite3_value_int64(argv[1]), sqlite3_value_int64(argv[2]), sqlite3_value_int64(argv[3]),
                    sqlite3_value_int64(argv[4]), sqlite3_value_int64(argv[5]), sqlite3_value_int64(argv[6]));
    if (!parse_datetime(text))
      throw SqlError(
          289, 16,
          "Cannot construct data type datetime, some of the arguments have values which are not valid.");
    result_text(context, text);
  });
}

void fn_isdate(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return sqlite3_result_int64(context, 0);
  try {
    date_arg(argv[0]);
    sqlite3_result_int64(context, 1);
  } catch (const SqlError&) {
    sqlite3_result_int64(context, 0);
  }
}

void fn_now_utc(sqlite3_context* context, int, Args) { result_text(context, format_datetime(now_micros())); }

void fn_sysdatetimeoffset(sqlite3_context* context, int, Args) {
  result_text(context, format_datetime(now_micros()) + " +00:00");
}

// --- identity --------------------------------------------------------------------------------------------

void fn_newid(sqlite3_context* context, int, Args) {
  result_text(context, ascii_upper(guid_to_string(random_guid())));
}

// --- the session and the server -----------------------------------------------------------------------

void fn_login(sqlite3_context* context, int argc, Args argv) {
  if (argc > 0 && !is_null_arg(argv[0])) return sqlite3_result_null(context);  // SUSER_NAME(id): not ours
  result_text(context, source_of(context).login_name());
}

// USER_NAME(): the database user; every login is dbo in its databases (RDS's master user is db_owner).
void fn_user_name(sqlite3_context* context, int argc, Args argv) {
  if (argc > 0 && !is_null_arg(argv[0]) && sqlite3_value_int64(argv[0]) != 1)
    return sqlite3_result_null(context);
  result_text(context, "dbo");
}

void fn_user_id(sqlite3_context* context, int argc, Args argv) {
  if (argc > 0 && !is_null_arg(argv[0]) && ascii_lower(text_arg(argv[0])) != "dbo")
    return sqlite3_result_null(context);
  sqlite3_result_int64(context, 1);
}

void fn_host_name(sqlite3_context* context, int, Args) {
  result_text(context, source_of(context).client_host_name());
}
void fn_app_name(sqlite3_context* context, int, Args) {
  result_text(context, source_of(context).client_program_name());
}

// SCHEMA_NAME([id]): every object lives in dbo (1); sys is 4, INFORMATION_SCHEMA 3, guest 2.
void fn_schema_name(sqlite3_context* context, int argc, Args argv) {
  if (argc == 0 || is_null_arg(argv[0])) return result_text(context, argc == 0 ? "dbo" : "");
  switch (sqlite3_value_int64(argv[0])) {
    case 1:
      return result_text(context, "dbo");
    case 2:
      return result_text(context, "guest");
    case 3:
      return result_text(context, "INFORMATION_SCHEMA");
    case 4:
      return result_text(context, "sys");
    default:
      return sqlite3_result_null(context);
  }
}

void fn_schema_id(sqlite3_context* context, int argc, Args argv) {
  if (argc == 0) return sqlite3_result_int64(context, 1);
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  std::string name = ascii_lower(text_arg(argv[0]));
  if (name == "dbo") return sqlite3_result_int64(context, 1);
  if (name == "guest") return sqlite3_result_int64(context, 2);
  if (name == "information_schema") return sqlite3_result_int64(context, 3);
  if (name == "sys") return sqlite3_result_int64(context, 4);
  sqlite3_result_null(context);
}

void fn_db_id(sqlite3_context* context, int argc, Args argv) {
  const BuiltinSource& s = source_of(context);
  std::string name = argc == 0 ? s.current_database_name() : is_null_arg(argv[0]) ? "" : text_arg(argv[0]);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  auto id = s.database_id_of(name);
  if (!id) return sqlite3_result_null(context);
  sqlite3_result_int64(context, *id);
}

void fn_db_name(sqlite3_context* context, int argc, Args argv) {
  const BuiltinSource& s = source_of(context);
  if (argc == 0) return result_text(context, s.current_database_name());
  if (is_null_arg(argv[0])) return sqlite3_result_null(context);
  auto name = s.database_name_of(sqlite3_value_int64(argv[0]));
  if (!name) return sqlite3_result_null(context);
  result_text(context, *name);
}

void fn_xact_state(sqlite3_context* context, int, Args) {
  sqlite3_result_int64(context, source_of(context).open_transactions() > 0 ? 1 : 0);
}

void fn_serverproperty(sqlite3_context* context, int, Args argv) {
  const BuiltinSource& s = source_of(context);
  const ProductVersion& p = s.product();
  std::string name = ascii_lower(text_arg(argv[0]));
  auto text = [&](const std::string& v) { result_text(context, v); };
  auto number = [&](int64_t v) { sqlite3_result_int64(context, v); };
  if (name == "productversion") return text(p.product_version());
  if (name == "productmajorversion") return text(std::to_string(p.major));
  if (name == "productminorversion") return text(std::to_string(p.minor));
  if (name == "productbuild") return text(std::to_string(p.build));
  if (name == "productbuildtype") return sqlite3_result_null(context);
  if (name == "productlevel") return text("RTM");
  if (name == "productupdatelevel" || name == "productupdatereference") return sqlite3_result_null(context);
  if (name == "edition") return text(p.edition_text());
  if (name == "editionid") return number(p.edition_id());
  if (name == "engineedition") return number(p.engine_edition());
  if (name == "servername" || name == "machinename" || name == "computernamephysicalnetbios")
    return text(s.server_name());
  if (name == "instancename") return sqlite3_result_null(context);
  if (name == "collation") return text("SQL_Latin1_General_CP1_CI_AS");
  if (name == "collationid") return number(872468488);
  if (name == "lcid") return number(1033);
  if (name == "sqlcharset") return number(1);
  if (name == "sqlcharsetname") return text("iso_1");
  if (name == "sqlsortorder") return number(52);
  if (name == "sqlsortordername") return text("nocase_iso");
  if (name == "comparisonstyle") return number(196609);
  if (name == "processid") return number(::getpid());
  if (name == "isclustered" || name == "ishadrenabled" || name == "isfulltextinstalled" ||
      name == "isintegratedsecurityonly" || name == "issingleuser" || name == "ispolybaseinstalled" ||
      name == "isxtpsupported" || name == "isadvancedanalyticsinstalled" ||
      name == "isexternalauthenticationonly" || name == "islocaldb") {
    return number(0);
  }
  if (name == "hadrmanagerstatus" || name == "filestreamconfiguredlevel" ||
      name == "filestreameffectivelevel" || name == "filestreamsharename" || name == "buildclrversion" ||
      name == "resourcelastupdatedatetime" || name == "resourceversion") {
    return sqlite3_result_null(context);
  }
  sqlite3_result_null(context);  // SQL Server's answer for a property it does not know
}

void fn_connectionproperty(sqlite3_context* context, int, Args argv) {
  const ConnectionInfo& c = source_of(context).client_connection();
  std::string name = ascii_lower(text_arg(argv[0]));
  if (name == "net_transport") return result_text(context, "TCP");
  if (name == "protocol_type") return result_text(context, "TSQL");
  if (name == "auth_scheme") return result_text(context, "SQL");
  if (name == "local_net_address") return result_text(context, c.local_address);
  if (name == "local_tcp_port") return sqlite3_result_int64(context, c.local_port);
  if (name == "client_net_address") return result_text(context, c.client_address);
  if (name == "physical_net_transport") return result_text(context, "TCP");
  sqlite3_result_null(context);
}

}  // namespace

std::optional<std::string> format_date_style(int64_t micros, int style) {
  Civil c = civil(micros);
  int hour = static_cast<int>(c.time / (3600 * kSecond));
  int minute = static_cast<int>(c.time / (60 * kSecond) % 60);
  int second = static_cast<int>(c.time / kSecond % 60);
  int ms = static_cast<int>(c.time / 1000 % 1000);
  int yy = c.year % 100;
  const char* mon = kMonths[c.month - 1];
  auto ampm = [&](bool with_seconds) {
    int h12 = hour % 12 == 0 ? 12 : hour % 12;
    std::string t = with_seconds ? fmt::format("{:2d}:{:02d}:{:02d}:{:03d}", h12, minute, second, ms)
                                 : fmt::format("{:2d}:{:02d}", h12, minute);
    return t + (hour < 12 ? "AM" : "PM");
  };
  switch (style) {
    case 0:
    case 100:
      return fmt::format("{:.3} {:2d} {:04d} {}", mon, c.day, c.year, ampm(false));
    case 1:
      return fmt::format("{:02d}/{:02d}/{:02d}", c.month, c.day, yy);
    case 101:
      return fmt::format("{:02d}/{:02d}/{:04d}", c.month, c.day, c.year);
    case 2:
      return fmt::format("{:02d}.{:02d}.{:02d}", yy, c.month, c.day);
    case 102:
      return fmt::format("{:04d}.{:02d}.{:02d}", c.year, c.month, c.day);
    case 3:
      return fmt::format("{:02d}/{:02d}/{:02d}", c.day, c.month, yy);
    case 103:
      return fmt::format("{:02d}/{:02d}/{:04d}", c.day, c.month, c.year);
    case 4:
      return fmt::format("{:02d}.{:02d}.{:02d}", c.day, c.month, yy);
    case 104:
      return fmt::format("{:02d}.{:02d}.{:04d}", c.day, c.month, c.year);
    case 5:
      return fmt::format("{:02d}-{:02d}-{:02d}", c.day, c.month, yy);
    case 105:
      return fmt::format("{:02d}-{:02d}-{:04d}", c.day, c.month, c.year);
    case 8:
    case 108:
    case 24:
      return fmt::format("{:02d}:{:02d}:{:02d}", hour, minute, second);
    case 9:
    case 109:
      return fmt::format("{:.3} {:2d} {:04d} {}", mon, c.day, c.year, ampm(true));
    case 10:
      return fmt::format("{:02d}-{:02d}-{:02d}", c.month, c.day, yy);
    case 110:
      return fmt::format("{:02d}-{:02d}-{:04d}", c.month, c.day, c.year);
    case 11:
      return fmt::format("{:02d}/{:02d}/{:02d}", yy, c.month, c.day);
    case 111:
      return fmt::format("{:04d}/{:02d}/{:02d}", c.year, c.month, c.day);
    case 12:
      return fmt::format("{:02d}{:02d}{:02d}", yy, c.month, c.day);
    case 112:
      return fmt::format("{:04d}{:02d}{:02d}", c.year, c.month, c.day);
    case 14:
    case 114:
      return fmt::format("{:02d}:{:02d}:{:02d}:{:03d}", hour, minute, second, ms);
    case 20:
    case 120:
      return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", c.year, c.month, c.day, hour, minute,
                         second);
    case 21:
    case 25:
    case 121:
      return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:03d}", c.year, c.month, c.day, hour,
                         minute, second, ms);
    case 23:
      return fmt::format("{:04d}-{:02d}-{:02d}", c.year, c.month, c.day);
    case 126:
    case 127:
      return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}", c.year, c.month, c.day, hour,
                         minute, second, ms);
    default:
      return std::nullopt;
  }
}

void install_builtins(sqlite3* db, const BuiltinSource& source) {
  const void* s = &source;
  // Conversions (the rewriter's names for CAST, CONVERT, TRY_CAST, TRY_CONVERT).
  define(db, "bakrest_cast", 2, fn_cast, nullptr, true);
  define(db, "bakrest_try_cast", 2, fn_try_cast, nullptr, true);
  define(db, "bakrest_convert", 2, fn_convert, nullptr, true);
  define(db, "bakrest_convert", 3, fn_convert, nullptr, true);
  define(db, "bakrest_try_convert", 2, fn_try_convert, nullptr, true);
  define(db, "bakrest_try_convert", 3, fn_try_convert, nullptr, true);
  define(db, "isnumeric", 1, fn_isnumeric, nullptr, true);
  // Strings.
  define(db, "len", 1, fn_len, nullptr, true);
  define(db, "datalength", 1, fn_datalength, nullptr, true);
  define(db, "charindex", 2, fn_charindex, nullptr, true);
  define(db, "charindex", 3, fn_charindex, nullptr, true);
  define(db, "bakrest_left", 2, fn_left, nullptr, true);
  define(db, "bakrest_right", 2, fn_right, nullptr, true);
  define(db, "replicate", 2, fn_replicate, nullptr, true);
  define(db, "space", 1, fn_space, nullptr, true);
  define(db, "reverse", 1, fn_reverse, nullptr, true);
  define(db, "stuff", 4, fn_stuff, nullptr, true);
  define(db, "concat", -1, fn_concat, nullptr, true);
  define(db, "concat_ws", -1, fn_concat_ws, nullptr, true);
  define(db, "quotename", 1, fn_quotename, nullptr, true);
  define(db, "quotename", 2, fn_quotename, nullptr, true);
  define(db, "ascii", 1, fn_ascii, nullptr, true);
  define(db, "nchar", 1, fn_nchar, nullptr, true);
  // Arithmetic with T-SQL's meanings.
  define(db, "log", 1, fn_log, nullptr, true);
  define(db, "log", 2, fn_log, nullptr, true);
  define(db, "round", 2, fn_round, nullptr, true);
  define(db, "round", 3, fn_round, nullptr, true);
  define(db, "square", 1, fn_square, nullptr, true);
  define(db, "rand", 0, fn_rand, nullptr);
  define(db, "rand", 1, fn_rand, nullptr);
  define(db, "hashbytes", 2, fn_hashbytes, nullptr, true);
  // Dates and times.
  define(db, "dateadd", 3, fn_dateadd, nullptr, true);
  define(db, "datediff", 3, fn_datediff, nullptr, true);
  static const char kBig[] = "big";
  define(db, "datediff_big", 3, fn_datediff, kBig, true);
  define(db, "datepart", 2, fn_datepart, nullptr, true);
  define(db, "datename", 2, fn_datename, nullptr, true);
  static const char kYear[] = "year", kMonth[] = "month", kDayPart[] = "day";
  define(db, "year", 1, fn_year_month_day, kYear, true);
  define(db, "month", 1, fn_year_month_day, kMonth, true);
  define(db, "day", 1, fn_year_month_day, kDayPart, true);
  define(db, "eomonth", 1, fn_eomonth, nullptr, true);
  define(db, "eomonth", 2, fn_eomonth, nullptr, true);
  define(db, "datefromparts", 3, fn_datefromparts, nullptr, true);
  define(db, "datetimefromparts", 7, fn_datetimefromparts, nullptr, true);
  define(db, "isdate", 1, fn_isdate, nullptr, true);
  for (const char* name :
       {"getdate", "sysdatetime", "getutcdate", "sysutcdatetime", "current_timestamp_tsql"}) {
    define(db, name, 0, fn_now_utc, nullptr);  // the instance's time zone is UTC
  }
  define(db, "sysdatetimeoffset", 0, fn_sysdatetimeoffset, nullptr);
  define(db, "newid", 0, fn_newid, nullptr);
  define(db, "newsequentialid", 0, fn_newid, nullptr);
  // The session and the server.
  for (const char* name : {"suser_name", "suser_sname", "original_login", "bakrest_system_user"}) {
    define(db, name, 0, fn_login, s);
    define(db, name, 1, fn_login, s);
  }
  define(db, "user_name", 0, fn_user_name, s);
  define(db, "user_name", 1, fn_user_name, s);
  define(db, "user_id", 0, fn_user_id, s);
  define(db, "user_id", 1, fn_user_id, s);
  define(db, "host_name", 0, fn_host_name, s);
  define(db, "app_name", 0, fn_app_name, s);
  define(db, "schema_name", 0, fn_schema_name, s);
  define(db, "schema_name", 1, fn_schema_name, s);
  define(db, "schema_id", 0, fn_schema_id, s);
  define(db, "schema_id", 1, fn_schema_id, s);
  define(db, "db_id", 0, fn_db_id, s);
  define(db, "db_id", 1, fn_db_id, s);
  define(db, "db_name", 0, fn_db_name, s);
  define(db, "db_name", 1, fn_db_name, s);
  define(db, "xact_state", 0, fn_xact_state, s);
  define(db, "serverproperty", 1, fn_serverproperty, s);
  define(db, "connectionproperty", 1, fn_connectionproperty, s);
}

}  // namespace bakrest::sql
