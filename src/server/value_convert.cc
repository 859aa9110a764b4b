#include "server/value_convert.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "server/sql_datetime.h"

namespace bakrest::server {
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<double> parse_double(std::string_view text) {
  std::string s(trim(text));
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

std::optional<bool> value_to_bit(const Value& v) {
  return std::visit(Overload{
                        [](std::monostate) -> std::optional<bool> { return std::nullopt; },
                        [](bool b) -> std::optional<bool> { return b; },
                        [](int64_t i) -> std::optional<bool> { return i != 0; },
                        [](double d) -> std::optional<bool> { return d != 0; },
                        [](const std::string& s) -> std::optional<bool> {
                          std::string_view t = trim(s);
                          if (t == "true" || t == "TRUE" || t == "True") return true;
                          if (t == "false" || t == "FALSE" || t == "False") return false;
                          if (auto d = parse_double(t)) return *d != 0;
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
                          std::string_view t = trim(s);
                          int64_t i = 0;
                          auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
                          if (ec == std::errc() && end == t.data() + t.size()) return in_range(i);
                          if (auto d = parse_double(t)) return from_double(*d);
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
                        [](const std::string& s) -> std::optional<double> { return parse_double(s); },
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

}  // namespace bakrest::server
