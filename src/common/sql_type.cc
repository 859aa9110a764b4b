#include "common/sql_type.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/clock.h"
#include "common/error.h"
#include "common/text.h"

namespace bakrest {
namespace {

using Base = SqlType::Base;

struct Known {
  const char* name;
  Base base;
  bool unicode;
};

// Every type name bakrest accepts, with the base type it has. Synonyms map to SQL Server's own name.
constexpr Known kTypes[] = {
    {"bit", Base::kBit, false},
    {"tinyint", Base::kTinyInt, false},
    {"smallint", Base::kSmallInt, false},
    {"int", Base::kInt, false},
    {"integer", Base::kInt, false},
    {"bigint", Base::kBigInt, false},
    {"real", Base::kReal, false},
    {"float", Base::kFloat, false},
    {"double precision", Base::kFloat, false},
    {"decimal", Base::kDecimal, false},
    {"dec", Base::kDecimal, false},
    {"numeric", Base::kDecimal, false},
    {"money", Base::kMoney, false},
    {"smallmoney", Base::kSmallMoney, false},
    {"char", Base::kChar, false},
    {"character", Base::kChar, false},
    {"nchar", Base::kChar, true},
    {"varchar", Base::kVarChar, false},
    {"nvarchar", Base::kVarChar, true},
    {"text", Base::kVarChar, false},
    {"ntext", Base::kVarChar, true},
    {"sysname", Base::kVarChar, true},
    {"binary", Base::kBinary, false},
    {"varbinary", Base::kVarBinary, false},
    {"image", Base::kVarBinary, false},
    {"rowversion", Base::kBinary, false},
    {"timestamp", Base::kBinary, false},
    {"date", Base::kDate, false},
    {"time", Base::kTime, false},
    {"datetime", Base::kDateTime, false},
    {"smalldatetime", Base::kSmallDateTime, false},
    {"datetime2", Base::kDateTime2, false},
    {"datetimeoffset", Base::kDateTimeOffset, false},
    {"uniqueidentifier", Base::kUniqueIdentifier, false},
    {"sql_variant", Base::kSqlVariant, false},
};

SqlError syntax_error_near(std::string_view near) {
  return SqlError(102, 15, "Incorrect syntax near '" + std::string(near) + "'.");
}

SqlError unknown_type(std::string_view text) {
  return SqlError(2715, 16,
                  "Column, parameter, or variable #1: Cannot find data type " + std::string(text) + ".");
}

SqlError conversion_failed(const std::string& what, const Value& value, const SqlType& type) {
  std::string shown;
  if (auto* s = std::get_if<std::string>(&value)) shown = *s;
  return SqlError(245, 16,
                  "Conversion failed when converting the " + what + " value '" + shown + "' to data type " +
                      type.name + ".");
}

SqlError overflow(const SqlType& type) {
  return SqlError(8115, 16,
                  "Arithmetic overflow error converting expression to data type " + type.name + ".");
}

SqlError not_allowed(const char* from, const SqlType& type) {
  return SqlError(
      529, 16,
      std::string("Explicit conversion from data type ") + from + " to " + type.name + " is not allowed.");
}

std::optional<int64_t> parse_integer(std::string_view text) {
  text = trim_space(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t i = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return i;
}

const char* kind_name(const Value& v) {
  if (std::holds_alternative<std::string>(v)) return "varchar";
  if (std::holds_alternative<Bytes>(v)) return "varbinary";
  if (std::holds_alternative<double>(v)) return "float";
  return "int";
}

int64_t integer_limit(Base base, bool upper) {
  switch (base) {
    case Base::kTinyInt:
      return upper ? 255 : 0;
    case Base::kSmallInt:
      return upper ? INT16_MAX : INT16_MIN;
    case Base::kInt:
      return upper ? INT32_MAX : INT32_MIN;
    default:
      return upper ? INT64_MAX : INT64_MIN;
  }
}

Value to_integer(const Value& value, const SqlType& type) {
  int64_t lo = integer_limit(type.base, false), hi = integer_limit(type.base, true);
  auto check = [&](int64_t i) -> Value {
    if (i < lo || i > hi) throw overflow(type);
    return i;
  };
  if (auto* i = std::get_if<int64_t>(&value)) return check(*i);
  if (auto* b = std::get_if<bool>(&value)) return check(*b ? 1 : 0);
  if (auto* d = std::get_if<double>(&value)) {
    double t = std::trunc(*d);
    if (!(t >= static_cast<double>(lo) && t <= static_cast<double>(hi))) throw overflow(type);
    return static_cast<int64_t>(t);
  }
  if (auto* s = std::get_if<std::string>(&value)) {
    if (auto i = parse_integer(*s)) return check(*i);
    throw conversion_failed("varchar", value, type);
  }
  if (auto* b = std::get_if<Bytes>(&value)) {
    // Binary to integer: the last bytes, big-endian, as SQL Server reads them.
    uint64_t u = 0;
    size_t width = type.base == Base::kTinyInt    ? 1
                   : type.base == Base::kSmallInt ? 2
                   : type.base == Base::kInt      ? 4
                                                  : 8;
    size_t start = b->size() > width ? b->size() - width : 0;
    for (size_t k = start; k < b->size(); ++k) u = (u << 8) | (*b)[k];
    if (width == 8) return static_cast<int64_t>(u);
    if (type.base == Base::kTinyInt) return static_cast<int64_t>(u & 0xFF);
    if (type.base == Base::kSmallInt) return static_cast<int64_t>(static_cast<int16_t>(u & 0xFFFF));
    return static_cast<int64_t>(static_cast<int32_t>(u & 0xFFFFFFFF));
  }
  throw not_allowed(kind_name(value), type);
}

Value to_bit(const Value& value, const SqlType& type) {
  if (auto* i = std::get_if<int64_t>(&value)) return int64_t{*i != 0};
  if (auto* b = std::get_if<bool>(&value)) return int64_t{*b};
  if (auto* d = std::get_if<double>(&value)) return int64_t{*d != 0};
  if (auto* s = std::get_if<std::string>(&value)) {
    std::string t = ascii_lower(std::string(trim_space(*s)));
    if (t == "true") return int64_t{1};
    if (t == "false") return int64_t{0};
    if (auto d = parse_finite_double(t)) return int64_t{*d != 0};
    throw conversion_failed("varchar", value, type);
  }
  throw not_allowed(kind_name(value), type);
}

// DECIMAL, NUMERIC, MONEY, SMALLMONEY: rounded to the scale, checked against the precision.
Value to_exact(const Value& value, const SqlType& type) {
  double d = 0;
  if (auto* i = std::get_if<int64_t>(&value)) {
    d = static_cast<double>(*i);
  } else if (auto* b = std::get_if<bool>(&value)) {
    d = *b ? 1 : 0;
  } else if (auto* f = std::get_if<double>(&value)) {
    d = *f;
  } else if (auto* s = std::get_if<std::string>(&value)) {
    auto parsed = parse_finite_double(*s);
    if (!parsed) {
      throw SqlError(8114, 16, "Error converting data type varchar to " + type.name + ".");
    }
    d = *parsed;
  } else {
    throw not_allowed(kind_name(value), type);
  }
  int scale = type.base == Base::kDecimal ? type.scale : 4;
  double factor = std::pow(10.0, scale);
  double rounded = std::round(d * factor) / factor;
  double limit = type.base == Base::kDecimal ? std::pow(10.0, type.precision - type.scale)
                 : type.base == Base::kMoney ? 922337203685477.5807
                                             : 214748.3647;
  if (std::fabs(rounded) >= limit && !(type.base != Base::kDecimal && std::fabs(rounded) == limit)) {
    throw SqlError(8115, 16,
                   "Arithmetic overflow error converting " + std::string(kind_name(value)) +
                       " to data type " + type.name + ".");
  }
  // Integers that fit stay integers, so DECIMAL(10,0) of 5 is 5 and not 5.0.
  if (scale == 0 && std::fabs(rounded) < 9.0e15) return static_cast<int64_t>(rounded);
  return rounded;
}

Value to_float(const Value& value, const SqlType& type) {
  double d = 0;
  if (auto* i = std::get_if<int64_t>(&value)) {
    d = static_cast<double>(*i);
  } else if (auto* b = std::get_if<bool>(&value)) {
    d = *b ? 1 : 0;
  } else if (auto* f = std::get_if<double>(&value)) {
    d = *f;
  } else if (auto* s = std::get_if<std::string>(&value)) {
    auto parsed = parse_finite_double(*s);
    if (!parsed) throw SqlError(8114, 16, "Error converting data type varchar to " + type.name + ".");
    d = *parsed;
  } else {
    throw not_allowed(kind_name(value), type);
  }
  if (type.base == Base::kReal) d = static_cast<double>(static_cast<float>(d));
  return d;
}

std::string number_text(const Value& value) {
  if (auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&value)) return *b ? "1" : "0";
  if (auto* d = std::get_if<double>(&value)) return fmt::format("{}", *d);
  return {};
}

size_t utf8_characters(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// The first `characters` characters of s.
std::string cut_characters(const std::string& s, size_t characters) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == characters) return s.substr(0, i);
      ++n;
    }
  }
  return s;
}

Value to_text(const Value& value, const SqlType& type) {
  std::string text;
  if (auto* s = std::get_if<std::string>(&value)) {
    text = *s;
  } else if (auto* b = std::get_if<Bytes>(&value)) {
    text.assign(b->begin(), b->end());  // binary to char: the bytes as characters, as SQL Server does
  } else if (auto* t = std::get_if<DateTime>(&value)) {
    text = format_datetime(t->unix_micros);
  } else {
    text = number_text(value);
    // A number too long for the type is an error, not a cut: 8115 for CHAR/VARCHAR (SQL Server shows '*'
    // for an int; an error is the safer of the two).
    if (type.length > 0 && text.size() > static_cast<size_t>(type.length)) throw overflow(type);
  }
  if (type.length > 0 && utf8_characters(text) > static_cast<size_t>(type.length)) {
    text = cut_characters(text, static_cast<size_t>(type.length));
  }
  if (type.base == Base::kChar && type.length > 0) {
    size_t have = utf8_characters(text);
    if (have < static_cast<size_t>(type.length)) text.append(static_cast<size_t>(type.length) - have, ' ');
  }
  return text;
}

Value to_binary(const Value& value, const SqlType& type) {
  Bytes out;
  if (auto* b = std::get_if<Bytes>(&value)) {
    out = *b;
  } else if (auto* s = std::get_if<std::string>(&value)) {
    out.assign(s->begin(), s->end());
  } else if (auto* i = std::get_if<int64_t>(&value)) {
    // An integer's bytes, big-endian, 4 of them for a value that fits an INT (its usual type), else 8.
    int width = (*i >= INT32_MIN && *i <= INT32_MAX) ? 4 : 8;
    for (int k = width - 1; k >= 0; --k) out.push_back(static_cast<uint8_t>(*i >> (8 * k)));
  } else if (auto* b2 = std::get_if<bool>(&value)) {
    out.push_back(*b2 ? 1 : 0);
  } else {
    throw not_allowed(kind_name(value), type);
  }
  if (type.length > 0 && out.size() > static_cast<size_t>(type.length))
    out.resize(static_cast<size_t>(type.length));
  if (type.base == Base::kBinary && type.length > 0 && out.size() < static_cast<size_t>(type.length)) {
    out.resize(static_cast<size_t>(type.length), 0);
  }
  return out;
}

// A date or time string in the forms T-SQL reads with DATEFORMAT mdy: ISO ("2010-01-02", "2010-01-02
// 10:11:12.345", 'T' between), "20100102" with an optional time, "01/02/2010" with an optional time.
std::optional<int64_t> parse_date_text(std::string_view raw) {
  std::string text(trim_space(raw));
  if (auto t = parse_datetime(text)) return t;
  // yyyymmdd [time]
  if (text.size() >= 8 &&
      std::all_of(text.begin(), text.begin() + 8,
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
      (text.size() == 8 || text[8] == ' ' || text[8] == 'T')) {
    std::string iso = text.substr(0, 4) + "-" + text.substr(4, 2) + "-" + text.substr(6, 2) + text.substr(8);
    return parse_datetime(iso);
  }
  // mm/dd/yyyy [time]
  int m = 0, d = 0, y = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%2d/%2d/%4d%n", &m, &d, &y, &consumed) == 3) {
    std::string iso =
        fmt::format("{:04d}-{:02d}-{:02d}", y, m, d) + text.substr(static_cast<size_t>(consumed));
    return parse_datetime(iso);
  }
  return std::nullopt;
}

// Times are counted here in ticks of 100 ns, DATETIME2's and TIME's finest unit: microseconds (what
// parse_datetime() reads) and the seventh fraction digit where the text has one.
constexpr int64_t kTicksPerSecond = 10'000'000;
constexpr int64_t kDayTicks = 86400 * kTicksPerSecond;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// "hh:mm:ss.fffffff" with `digits` fraction digits (none when 0).
std::string time_text(int64_t ticks_of_day, int digits) {
  int64_t seconds = ticks_of_day / kTicksPerSecond;
  std::string out = fmt::format("{:02d}:{:02d}:{:02d}", seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (digits > 0) {
    std::string fraction = fmt::format("{:07d}", ticks_of_day % kTicksPerSecond);
    out += "." + fraction.substr(0, static_cast<size_t>(digits));
  }
  return out;
}

// Rounds ticks to `digits` fraction digits.
int64_t round_ticks(int64_t ticks, int digits) {
  int64_t unit = 1;
  for (int i = digits; i < 7; ++i) unit *= 10;
  return floor_div(ticks + unit / 2, unit) * unit;
}

// The seventh fraction digit of "...:SS.fffffff" (microseconds hold the first six), in ticks.
int64_t seventh_digit(std::string_view text) {
  size_t colon = text.rfind(':');
  size_t point = colon == std::string_view::npos ? std::string_view::npos : text.find('.', colon);
  if (point == std::string_view::npos || point + 7 >= text.size()) return 0;
  char c = text[point + 7];
  return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : 0;
}

Value to_date_or_time(const Value& value, const SqlType& type) {
  std::optional<int64_t> ticks;
  std::string offset;  // DATETIMEOFFSET keeps the offset it was given
  if (auto* t = std::get_if<DateTime>(&value)) {
    ticks = t->unix_micros * 10;
  } else if (auto* s = std::get_if<std::string>(&value)) {
    std::string text(trim_space(*s));
    if (type.base == Base::kDateTimeOffset && text.size() > 6 &&
        (text[text.size() - 6] == '+' || text[text.size() - 6] == '-') && text[text.size() - 3] == ':') {
      offset = text.substr(text.size() - 6);
      text = std::string(trim_space(text.substr(0, text.size() - 6)));
    }
    if (auto micros = parse_date_text(text)) ticks = *micros * 10 + seventh_digit(text);
    if (!ticks && type.base == Base::kTime) {
      // A time alone: on 1900-01-01, as SQL Server reads one.
      if (auto micros = parse_datetime("1900-01-01 " + text)) ticks = *micros * 10 + seventh_digit(text);
    }
    if (!ticks) {
      throw SqlError(241, 16, "Conversion failed when converting date and/or time from character string.");
    }
  } else if (std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value)) {
    // A number is days since 1900-01-01 for DATETIME and SMALLDATETIME; the newer types refuse it.
    if (type.base != Base::kDateTime && type.base != Base::kSmallDateTime)
      throw not_allowed(kind_name(value), type);
    double days = std::holds_alternative<int64_t>(value) ? static_cast<double>(std::get<int64_t>(value))
                                                         : std::get<double>(value);
    constexpr int64_t k1900 = -2208988800LL * kTicksPerSecond;
    ticks = k1900 + static_cast<int64_t>(std::llround(days * static_cast<double>(kDayTicks)));
  } else {
    throw not_allowed(kind_name(value), type);
  }
  int64_t t = *ticks;
  int64_t day_start = floor_div(t, kDayTicks) * kDayTicks;
  auto date_of = [](int64_t start) { return format_datetime(start / 10).substr(0, 10); };
  switch (type.base) {
    case Base::kDate:
      return date_of(day_start);
    case Base::kTime:
      return time_text(round_ticks(t - day_start, type.scale) % kDayTicks, type.scale);
    case Base::kSmallDateTime: {
      int64_t minutes = floor_div(t + 30 * kTicksPerSecond, 60 * kTicksPerSecond) * 60 * kTicksPerSecond;
      return format_datetime(minutes / 10).substr(0, 16) + ":00";
    }
    case Base::kDateTime: {
      // DATETIME counts 1/300 s: .000, .003, .007, ...
      int64_t ms = floor_div(t, 10000);
      int64_t count = floor_div(ms * 3 + 5, 10);          // 1/300 s, rounded
      int64_t rounded_ms = floor_div(count * 10 + 1, 3);  // floored: times before 1970 are negative
      return format_datetime(rounded_ms * 1000);
    }
    case Base::kDateTime2:
    case Base::kDateTimeOffset: {
      int64_t rounded = round_ticks(t - day_start, type.scale) + day_start;
      int64_t start = floor_div(rounded, kDayTicks) * kDayTicks;
      std::string text = date_of(start) + " " + time_text(rounded - start, type.scale);
      if (type.base == Base::kDateTimeOffset) text += " " + (offset.empty() ? std::string("+00:00") : offset);
      return text;
    }
    default:
      return Value();
  }
}

Value to_guid(const Value& value, const SqlType& type) {
  if (auto* s = std::get_if<std::string>(&value)) {
    std::string text(trim_space(*s));
    if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
    bool ok = text.size() == 36;
    for (size_t i = 0; ok && i < text.size(); ++i) {
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      ok = dash ? text[i] == '-' : std::isxdigit(static_cast<unsigned char>(text[i])) != 0;
    }
    if (!ok) {
      throw SqlError(8169, 16,
                     "Conversion failed when converting from a character string to uniqueidentifier.");
    }
    text = ascii_upper(text);
    return text;
  }
  if (auto* b = std::get_if<Bytes>(&value)) {
    if (b->size() < 16) throw not_allowed("varbinary", type);
    // Bytes in SQL Server's order: the first three groups little-endian.
    const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    std::string out;
    for (int i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
      out += fmt::format("{:02X}", (*b)[static_cast<size_t>(order[i])]);
    }
    return out;
  }
  throw not_allowed(kind_name(value), type);
}

}  // namespace

std::string SqlType::spelled() const {
  switch (base) {
    case Base::kDecimal:
      return fmt::format("{}({},{})", name, precision, scale);
    case Base::kChar:
    case Base::kVarChar:
    case Base::kBinary:
    case Base::kVarBinary:
      if (name == "text" || name == "ntext" || name == "image" || name == "sysname") return name;
      return length < 0 ? name + "(max)" : fmt::format("{}({})", name, length);
    case Base::kTime:
    case Base::kDateTime2:
    case Base::kDateTimeOffset:
      return fmt::format("{}({})", name, scale);
    default:
      return name;
  }
}

SqlType parse_type(std::string_view raw) {
  std::string text = ascii_lower(std::string(trim_space(raw)));
  // Arguments in parentheses, if any.
  std::string args;
  if (auto open = text.find('('); open != std::string::npos) {
    if (text.back() != ')') throw syntax_error_near(std::string(raw));
    args = text.substr(open + 1, text.size() - open - 2);
    text = std::string(trim_space(text.substr(0, open)));
  }
  // Spaces inside the name: "double precision", "national character varying" are not worth more.
  std::string name;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!name.empty() && name.back() != ' ') name += ' ';
    } else {
      name += c;
    }
  }
  if (name.rfind("sys.", 0) == 0) name = name.substr(4);
  if (name.rfind("dbo.", 0) == 0) name = name.substr(4);
  const Known* known = nullptr;
  for (const Known& k : kTypes) {
    if (name == k.name) known = &k;
  }
  if (!known) throw unknown_type(raw);
  SqlType type;
  type.base = known->base;
  type.unicode = known->unicode;
  type.name = name == "integer"                             ? "int"
              : name == "double precision"                  ? "float"
              : name == "dec"                               ? "decimal"
              : name == "character"                         ? "char"
              : name == "rowversion" || name == "timestamp" ? "binary"
                                                            : name;
  std::vector<std::string> parts;
  if (!args.empty()) {
    size_t start = 0;
    for (size_t comma = args.find(',');; comma = args.find(',', start)) {
      parts.emplace_back(
          trim_space(args.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  auto number = [&](size_t i) -> int64_t {
    if (i >= parts.size()) return -2;
    if (parts[i] == "max") return -1;
    auto n = parse_integer(parts[i]);
    if (!n || *n <= 0 || *n > 1'000'000) throw syntax_error_near(parts[i]);
    return *n;
  };
  switch (type.base) {
    case Base::kDecimal: {
      int64_t p = number(0), s = parts.size() > 1 ? number(1) : 0;
      if (parts.size() > 1 && parts[1] == "0") s = 0;
      if (p == -2) p = 18;
      if (p < 1 || p > 38) {
        throw SqlError(1002, 15, "Line 1: Specified scale " + std::to_string(p) + " is invalid.");
      }
      if (s < 0 || s > p) {
        throw SqlError(183, 15,
                       "The scale (" + std::to_string(s) +
                           ") for column, parameter or variable must be "
                           "within the range 0 to " +
                           std::to_string(p) + ".");
      }
      type.precision = static_cast<int>(p);
      type.scale = static_cast<int>(s);
      break;
    }
    case Base::kFloat:
      type.precision = parts.empty() ? 53 : static_cast<int>(number(0));
      if (type.precision < 1 || type.precision > 53) throw syntax_error_near(parts[0]);
      if (type.precision <= 24) {
        type.base = Base::kReal;
        type.name = "real";
      }
      break;
    case Base::kChar:
    case Base::kVarChar:
    case Base::kBinary:
    case Base::kVarBinary: {
      bool fixed_name =
          type.name == "text" || type.name == "ntext" || type.name == "image" || type.name == "sysname";
      if (fixed_name) {
        if (!parts.empty()) throw syntax_error_near(std::string(raw));
        type.length = type.name == "sysname" ? 128 : -1;
        break;
      }
      int64_t n = number(0);
      if (n == -2) n = type.base == Base::kChar || type.base == Base::kBinary ? 1 : 30;  // CAST's defaults
      if (n == -1 && (type.base == Base::kChar || type.base == Base::kBinary)) throw syntax_error_near("max");
      int64_t limit = (type.base == Base::kChar || type.base == Base::kVarChar) && type.unicode ? 4000 : 8000;
      if (n > limit) {
        throw SqlError(2717, 16,
                       "The size (" + std::to_string(n) + ") given to the type '" + type.name +
                           "' exceeds the maximum allowed (" + std::to_string(limit) + ").");
      }
      type.length = n;
      break;
    }
    case Base::kTime:
    case Base::kDateTime2:
    case Base::kDateTimeOffset: {
      int64_t s = parts.empty() ? 7 : (parts[0] == "0" ? 0 : number(0));
      if (s < 0 || s > 7) {
        throw SqlError(1002, 15, "Line 1: Specified scale " + std::to_string(s) + " is invalid.");
      }
      type.scale = static_cast<int>(s);
      break;
    }
    default:
      if (!parts.empty()) throw syntax_error_near(std::string(raw));
      break;
  }
  return type;
}

Value convert(const Value& value, const SqlType& type) {
  if (is_null(value)) return Value();
  switch (type.base) {
    case Base::kBit:
      return to_bit(value, type);
    case Base::kTinyInt:
    case Base::kSmallInt:
    case Base::kInt:
    case Base::kBigInt:
      return to_integer(value, type);
    case Base::kReal:
    case Base::kFloat:
      return to_float(value, type);
    case Base::kDecimal:
    case Base::kMoney:
    case Base::kSmallMoney:
      return to_exact(value, type);
    case Base::kChar:
    case Base::kVarChar:
      return to_text(value, type);
    case Base::kBinary:
    case Base::kVarBinary:
      return to_binary(value, type);
    case Base::kDate:
    case Base::kTime:
    case Base::kDateTime:
    case Base::kSmallDateTime:
    case Base::kDateTime2:
    case Base::kDateTimeOffset:
      return to_date_or_time(value, type);
    case Base::kUniqueIdentifier:
      return to_guid(value, type);
    case Base::kSqlVariant:
      return value;
  }
  return value;
}

Value convert_to_declared(const Value& value, const std::string& declared_type) {
  if (declared_type.empty()) return value;
  return convert(value, parse_type(declared_type));
}

Column column_for(const SqlType& type, std::string name) {
  Column c{std::move(name), ColumnType::kNVarCharMax, 0};
  switch (type.base) {
    case Base::kBit:
      c.type = ColumnType::kBit;
      break;
    case Base::kTinyInt:
      c.type = ColumnType::kTinyInt;
      break;
    case Base::kSmallInt:
      c.type = ColumnType::kSmallInt;
      break;
    case Base::kInt:
      c.type = ColumnType::kInt;
      break;
    case Base::kBigInt:
      c.type = ColumnType::kBigInt;
      break;
    case Base::kReal:
      c.type = ColumnType::kReal;
      break;
    case Base::kFloat:
      c.type = ColumnType::kFloat;
      break;
    case Base::kDecimal:
      c.type = ColumnType::kDecimal;
      c.precision = static_cast<uint8_t>(type.precision);
      c.scale = static_cast<int8_t>(type.scale);
      break;
    case Base::kMoney:
      c.type = ColumnType::kMoney;
      break;
    case Base::kSmallMoney:
      c.type = ColumnType::kSmallMoney;
      break;
    case Base::kChar:
    case Base::kVarChar:
      if (type.length > 0 && type.length <= 4000) {
        c.type = ColumnType::kNVarChar;
        c.max_length = static_cast<uint32_t>(type.length);
      }
      break;
    case Base::kBinary:
    case Base::kVarBinary:
      c.type = ColumnType::kVarBinaryMax;
      if (type.length > 0 && type.length <= 8000) {
        c.type = ColumnType::kVarBinary;
        c.max_length = static_cast<uint32_t>(type.length);
      }
      break;
    case Base::kDate:
      c.type = ColumnType::kDate;
      break;
    case Base::kTime:
      c.type = ColumnType::kTime;
      c.scale = static_cast<int8_t>(type.scale);
      break;
    case Base::kDateTime:
      c.type = ColumnType::kDateTime;
      break;
    case Base::kSmallDateTime:
      c.type = ColumnType::kSmallDateTime;
      break;
    case Base::kDateTime2:
      c.type = ColumnType::kDateTime2;
      c.scale = static_cast<int8_t>(type.scale);
      break;
    case Base::kDateTimeOffset:
      c.type = ColumnType::kDateTimeOffset;
      c.scale = static_cast<int8_t>(type.scale);
      break;
    case Base::kUniqueIdentifier:
      c.type = ColumnType::kUniqueIdentifier;
      break;
    case Base::kSqlVariant:
      break;
  }
  return c;
}

Column value_column(const Value& value) {
  if (auto* i = std::get_if<int64_t>(&value)) {
    return {"", (*i >= INT32_MIN && *i <= INT32_MAX) ? ColumnType::kInt : ColumnType::kBigInt, 0};
  }
  if (std::holds_alternative<bool>(value)) return {"", ColumnType::kBit, 0};
  if (std::holds_alternative<double>(value)) return {"", ColumnType::kFloat, 0};
  if (std::holds_alternative<Bytes>(value)) return {"", ColumnType::kVarBinaryMax, 0};
  if (std::holds_alternative<DateTime>(value)) return {"", ColumnType::kDateTime, 0};
  return {"", ColumnType::kNVarCharMax, 0};  // text, and NULL of no known type
}

}  // namespace bakrest
