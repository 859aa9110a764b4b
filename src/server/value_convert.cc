#include "server/value_convert.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/text.h"
#include "server/sql_datetime.h"

namespace bakrest::server {
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace

std::optional<bool> value_to_bit(const Value& v) {
  return std::visit(Overload{
                        [](std::monostate) -> std::optional<bool> { return std::nullopt; },
                        [](bool b) -> std::optional<bool> { return b; },
                        [](int64_t i) -> std::optional<bool> { return i != 0; },
                        [](double d) -> std::optional<bool> { return d != 0; },
                        [](const std::string& s) -> std::optional<bool> {
                          std::string_view t = trim_space(s);
                          if (t == "true" || t == "TRUE" || t == "True") return true;
                          if (t == "false" || t == "FALSE" || t == "False") return false;
                          if (auto d = parse_finite_double(t)) return *d != 0;
                          return std::nullopt;
                        },
                        [](const Bytes&) -> std::optional<bool> { return std::nullopt; },
                        [](DateTime) -> std::optional<bool> { return std::nullopt; },
                    },
                    v);
}

std::optional<int64_t> value_to_int(const Value& v, int64_t min, int64_t max) {
  auto in_range = [&](int64_t i) -> std::optional<int64_t> {
    if (i < min || i > max) return std::nullopt;
    return i;
  };
  auto from_double = [&](double d) -> std::optional<int64_t> {
    d = std::trunc(d);
    // Doubles at and beyond 2^63 do not convert; compare against the limits as doubles first.
    if (!(d >= static_cast<double>(min) && d < -static_cast<double>(INT64_MIN))) return std::nullopt;
    return in_range(static_cast<int64_t>(d));
  };
  return std::visit(Overload{
                        [](std::monostate) -> std::optional<int64_t> { return std::nullopt; },
                        [&](bool b) -> std::optional<int64_t> { return in_range(b ? 1 : 0); },
                        [&](int64_t i) -> std::optional<int64_t> { return in_range(i); },
                        [&](double d) -> std::optional<int64_t> { return from_double(d); },
                        [&](const std::string& s) -> std::optional<int64_t> {
                          std::string_view t = trim_space(s);
                          int64_t i = 0;
                          auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
                          if (ec == std::errc() && end == t.data() + t.size()) return in_range(i);
                          if (auto d = parse_finite_double(t)) return from_double(*d);
                          return std::nullopt;
                        },
                        [](const Bytes&) -> std::optional<int64_t> { return std::nullopt; },
                        [](DateTime) -> std::optional<int64_t> { return std::nullopt; },
                    },
                    v);
}

std::optional<double> value_to_float(const Value& v) {
  return std::visit(Overload{
                        [](std::monostate) -> std::optional<double> { return std::nullopt; },
                        [](bool b) -> std::optional<double> { return b ? 1.0 : 0.0; },
                        [](int64_t i) -> std::optional<double> { return static_cast<double>(i); },
                        [](double d) -> std::optional<double> { return d; },
                        [](const std::string& s) -> std::optional<double> { return parse_finite_double(s); },
                        [](const Bytes&) -> std::optional<double> { return std::nullopt; },
                        [](DateTime) -> std::optional<double> { return std::nullopt; },
                    },
                    v);
}

std::optional<std::string> value_to_text(const Value& v) {
  return std::visit(Overload{
                        [](std::monostate) -> std::optional<std::string> { return std::nullopt; },
                        [](bool b) -> std::optional<std::string> { return b ? "1" : "0"; },
                        [](int64_t i) -> std::optional<std::string> { return std::to_string(i); },
                        [](double d) -> std::optional<std::string> { return fmt::format("{}", d); },
                        [](const std::string& s) -> std::optional<std::string> { return s; },
                        [](const Bytes& b) -> std::optional<std::string> {
                          std::string hex = "0x";
                          for (uint8_t byte : b) hex += fmt::format("{:02X}", byte);
                          return hex;
                        },
                        [](DateTime t) -> std::optional<std::string> { return format_datetime(t); },
                    },
                    v);
}

std::optional<Bytes> value_to_binary(const Value& v) {
  return std::visit(
      Overload{
          [](std::monostate) -> std::optional<Bytes> { return std::nullopt; },
          [](bool b) -> std::optional<Bytes> { return Bytes{static_cast<uint8_t>(b ? 1 : 0)}; },
          [](int64_t i) -> std::optional<Bytes> {
            Bytes out(8);  // big-endian, as CAST(bigint AS varbinary) gives
            for (int k = 0; k < 8; ++k) out[k] = static_cast<uint8_t>(i >> (56 - 8 * k));
            return out;
          },
          [](double) -> std::optional<Bytes> { return std::nullopt; },
          [](const std::string& s) -> std::optional<Bytes> { return Bytes(s.begin(), s.end()); },
          [](const Bytes& b) -> std::optional<Bytes> { return b; },
          [](DateTime) -> std::optional<Bytes> { return std::nullopt; },
      },
      v);
}

std::optional<DateTime> value_to_datetime(const Value& v) {
  if (auto* t = std::get_if<DateTime>(&v)) return *t;
  if (auto* s = std::get_if<std::string>(&v)) return parse_datetime(*s);
  return std::nullopt;
}

std::optional<__int128> value_to_scaled(const Value& v, int scale) {
  constexpr __int128 kMax =
      static_cast<__int128>(10000000000000000000ULL) * 10000000000000000000ULL;  // 10^38
  if (auto* i = std::get_if<int64_t>(&v)) {
    __int128 out = *i;
    for (int k = 0; k < scale; ++k) {
      out *= 10;
      if (out >= kMax || out <= -kMax) return std::nullopt;
    }
    return out;
  }
  if (auto* b = std::get_if<bool>(&v)) return value_to_scaled(Value(int64_t{*b ? 1 : 0}), scale);
  std::string text;
  if (auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) return std::nullopt;
    // The double's shortest round-trip digits, so 1.1 is 1.1 and not 1.100000000000000088...
    text = fmt::format("{}", *d);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    text = std::string(trim_space(*s));
  } else {
    return std::nullopt;
  }
  // [sign] digits [. digits] [e[sign]digits]
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::string digits;
  int point = -1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '.' && point < 0) {
      point = static_cast<int>(digits.size());
    } else {
      break;
    }
  }
  if (digits.empty()) return std::nullopt;
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    auto [end, ec] = std::from_chars(text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0),
                                     text.data() + text.size(), exponent);
    if (ec != std::errc() || end != text.data() + text.size() || exponent > 400 || exponent < -400)
      return std::nullopt;
    i = text.size();
  }
  if (i != text.size()) return std::nullopt;
  // The digits hold the value times 10^(digits after the point); shift to the wanted scale.
  int fraction = point < 0 ? 0 : static_cast<int>(digits.size()) - point;
  int shift = scale - fraction + exponent;
  __int128 out = 0;
  int keep = static_cast<int>(digits.size()) + std::min(shift, 0);
  for (int k = 0; k < keep; ++k) {
    out = out * 10 + (digits[static_cast<size_t>(k)] - '0');
    if (out >= kMax) return std::nullopt;
  }
  if (shift < 0 && keep >= 0 && keep < static_cast<int>(digits.size()) &&
      digits[static_cast<size_t>(keep)] >= '5')
    ++out;
  for (int k = 0; k < shift; ++k) {
    out *= 10;
    if (out >= kMax) return std::nullopt;
  }
  return negative ? -out : out;
}

std::optional<int64_t> value_to_time_of_day(const Value& v) {
  if (auto* t = std::get_if<DateTime>(&v)) {
    constexpr int64_t kDay = 86400LL * 1000000;
    return ((t->unix_micros % kDay) + kDay) % kDay;
  }
  const auto* s = std::get_if<std::string>(&v);
  if (!s) return std::nullopt;
  std::string_view text = trim_space(*s);
  // A date and time: its time of day.
  if (text.size() > 10 && text[4] == '-') {
    auto t = parse_datetime(text);
    return t ? value_to_time_of_day(Value(*t)) : std::nullopt;
  }
  int h = 0, m = 0, sec = 0;
  int consumed = 0;
  std::string owned(text);
  int fields = std::sscanf(owned.c_str(), "%2d:%2d%n:%2d%n", &h, &m, &consumed, &sec, &consumed);
  if (fields < 2 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return std::nullopt;
  size_t pos = static_cast<size_t>(consumed);
  int64_t fraction = 0;
  if (fields == 3 && pos < owned.size() && owned[pos] == '.') {
    int64_t unit = 100000;
    for (++pos; pos < owned.size() && std::isdigit(static_cast<unsigned char>(owned[pos])); ++pos) {
      fraction += (owned[pos] - '0') * unit;
      unit /= 10;
    }
  }
  if (pos != owned.size()) return std::nullopt;
  return (int64_t{h} * 3600 + m * 60 + sec) * 1000000 + fraction;
}

namespace {

// The seven fraction digits of a time of day in text ("15.1234567" gives 1234567), as 100 ns units.
int64_t fraction_100ns(std::string_view fraction) {
  int64_t units = 0, scale = 1000000;
  for (char c : fraction) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || scale == 0) break;
    units += (c - '0') * scale;
    scale /= 10;
  }
  return units;
}

// Splits "....SS.fffffff" at its fraction point: the text before, and the digits after.
std::pair<std::string, std::string> split_fraction(std::string_view text) {
  size_t colon = text.rfind(':');
  size_t point = colon == std::string_view::npos ? std::string_view::npos : text.find('.', colon);
  if (point == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, point)), std::string(text.substr(point + 1))};
}

// 100 ns units since midnight (at most one day less one unit) at a scale, rounded.
uint64_t units_at(int64_t ticks_100ns, int scale) {
  int64_t divisor = 1;
  for (int i = scale; i < 7; ++i) divisor *= 10;
  int64_t per_day = 864'000'000'000 / divisor;
  int64_t units = (ticks_100ns + divisor / 2) / divisor;
  return static_cast<uint64_t>(std::min(units, per_day - 1));
}

}  // namespace

std::optional<SqlDateTime2> value_to_datetime2(const Value& v, int scale) {
  if (auto* t = std::get_if<DateTime>(&v)) return to_sql_datetime2(*t, scale);
  const auto* s = std::get_if<std::string>(&v);
  if (!s) return std::nullopt;
  auto [whole, fraction] = split_fraction(trim_space(*s));
  auto seconds = parse_datetime(whole);
  if (!seconds) return std::nullopt;
  SqlDateTime2 day = to_sql_datetime2(DateTime{seconds->unix_micros}, 7);  // days; time in 100 ns at scale 7
  day.time = units_at(static_cast<int64_t>(day.time) + fraction_100ns(fraction), scale);
  return day;
}

std::optional<uint64_t> value_to_time_units(const Value& v, int scale) {
  if (auto* s = std::get_if<std::string>(&v)) {
    auto [whole, fraction] = split_fraction(trim_space(*s));
    auto micros = value_to_time_of_day(Value(whole));
    if (!micros) return std::nullopt;
    return units_at(*micros * 10 + fraction_100ns(fraction), scale);
  }
  auto micros = value_to_time_of_day(v);
  if (!micros) return std::nullopt;
  return units_at(*micros * 10, scale);
}

std::optional<DateTimeOffsetValue> value_to_datetimeoffset(const Value& v) {
  if (auto* t = std::get_if<DateTime>(&v)) return DateTimeOffsetValue{*t, 0};
  const auto* s = std::get_if<std::string>(&v);
  if (!s) return std::nullopt;
  std::string text(trim_space(*s));
  int offset = 0;
  // A trailing [+|-]HH:MM (after a space or straight after the time) or Z is the offset.
  if (!text.empty() && (text.back() == 'Z' || text.back() == 'z')) {
    text.pop_back();
  } else if (text.size() > 6 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-') &&
             text[text.size() - 3] == ':') {
    int hh = std::atoi(text.substr(text.size() - 5, 2).c_str());
    int mm = std::atoi(text.substr(text.size() - 2, 2).c_str());
    if (hh > 14 || mm > 59) return std::nullopt;
    offset = (hh * 60 + mm) * (text[text.size() - 6] == '-' ? -1 : 1);
    text.resize(text.size() - 6);
  }
  std::string local(trim_space(text));
  auto t = parse_datetime(local);
  if (!t) return std::nullopt;
  return DateTimeOffsetValue{DateTime{t->unix_micros - int64_t{offset} * 60 * 1000000}, offset};
}

std::optional<std::array<uint8_t, 16>> value_to_guid(const Value& v) {
  std::array<uint8_t, 16> out{};
  if (auto* b = std::get_if<Bytes>(&v)) {
    if (b->size() != 16) return std::nullopt;
    std::copy(b->begin(), b->end(), out.begin());
    return out;
  }
  const auto* s = std::get_if<std::string>(&v);
  if (!s) return std::nullopt;
  std::string hex;
  std::string_view text = trim_space(*s);
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (text[i] == '-')) return std::nullopt;
    if (!dash) {
      if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      hex += text[i];
    }
  }
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 16; ++i)
    bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  // Data1 (4 bytes), Data2 and Data3 (2 each) are little-endian on the wire; Data4 as written.
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < 16; ++i) out[i] = bytes[static_cast<size_t>(order[i])];
  return out;
}

}  // namespace bakrest::server
