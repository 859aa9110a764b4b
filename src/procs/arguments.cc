#include "procs/arguments.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>

#include "common/error.h"
#include "common/text.h"

namespace bakrest::procs {

namespace {

// Reads 1..max_digits decimal digits at text[pos], advancing pos.
std::optional<int> read_number(std::string_view text, size_t& pos, size_t max_digits) {
  size_t start = pos;
  int n = 0;
  while (pos < text.size() && pos - start < max_digits && std::isdigit(static_cast<unsigned char>(text[pos])))
    n = n * 10 + (text[pos++] - '0');
  if (pos == start) return std::nullopt;
  return n;
}

bool take(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

struct TimeOfDay {
  int64_t micros = 0;
};

// "hh:mi[:ss[.fff]]" with an optional AM/PM, to the end of text.
std::optional<TimeOfDay> parse_time(std::string_view text) {
  size_t pos = 0;
  auto h = read_number(text, pos, 2);
  if (!h || !take(text, pos, ':')) return std::nullopt;
  auto mi = read_number(text, pos, 2);
  if (!mi) return std::nullopt;
  int s = 0;
  int64_t fraction = 0;
  if (take(text, pos, ':')) {
    auto sec = read_number(text, pos, 2);
    if (!sec) return std::nullopt;
    s = *sec;
    if (take(text, pos, '.')) {
      int64_t scale = 100000;
      size_t start = pos;
      for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos) {
        fraction += (text[pos] - '0') * scale;
        scale /= 10;
      }
      if (pos == start) return std::nullopt;
    }
  }
  while (pos < text.size() && text[pos] == ' ') ++pos;
  int hour = *h;
  std::string suffix(text.substr(pos));
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix == "AM" || suffix == "PM") {
    if (hour < 1 || hour > 12) return std::nullopt;
    hour = hour % 12 + (suffix == "PM" ? 12 : 0);
  } else if (!suffix.empty()) {
    return std::nullopt;
  }
  if (hour > 23 || *mi > 59 || s > 59) return std::nullopt;
  return TimeOfDay{((hour * 60 + *mi) * 60 + s) * int64_t{1000000} + fraction};
}

Value convert(const std::string& procedure, const ParamSpec& spec, const Value& value) {
  if (is_null(value)) return value;
  if (spec.type == ParamType::kDateTime) {
    if (std::holds_alternative<DateTime>(value)) return value;
    if (auto* s = std::get_if<std::string>(&value)) {
      if (auto t = parse_sql_datetime(*s)) return DateTime{*t};
      throw SqlError(241, 16, "Conversion failed when converting date and/or time from character string.");
    }
    // Only text and date/time values are taken: a number as a point in time is almost surely a mistake.
    const char* type = std::holds_alternative<bool>(value)     ? "bit"
                       : std::holds_alternative<double>(value) ? "float"
                       : std::holds_alternative<Bytes>(value)  ? "varbinary"
                                                               : "int";
    throw SqlError(206, 16, std::string("Operand type clash: ") + type + " is incompatible with datetime");
  }
  if (spec.type == ParamType::kString) {
    if (auto* s = std::get_if<std::string>(&value)) return *s;
    if (auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
    if (auto* b = std::get_if<bool>(&value)) return std::string(*b ? "1" : "0");
    throw SqlError(8114, 16,
                   "Error converting data type to nvarchar for parameter " + std::string(spec.name) +
                       " of procedure " + procedure + ".");
  }
  if (auto* i = std::get_if<int64_t>(&value)) return *i;
  if (auto* b = std::get_if<bool>(&value)) return int64_t{*b ? 1 : 0};
  if (auto* d = std::get_if<double>(&value)) {
    // Only whole numbers inside int64's range convert; the range check comes first (casting NaN or an
    // out-of-range double is undefined).
    if (*d >= -9.2e18 && *d <= 9.2e18 && *d == std::trunc(*d)) return static_cast<int64_t>(*d);
  }
  if (auto* s = std::get_if<std::string>(&value)) {
    std::string trimmed = *s;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
    size_t start = 0;
    while (start < trimmed.size() && std::isspace(static_cast<unsigned char>(trimmed[start]))) ++start;
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(trimmed.data() + start, trimmed.data() + trimmed.size(), parsed);
    if (ec == std::errc() && end == trimmed.data() + trimmed.size() && start < trimmed.size()) return parsed;
    throw SqlError(8114, 16, "Error converting data type varchar to int.");
  }
  throw SqlError(8114, 16, "Error converting data type to int for parameter " + std::string(spec.name) + ".");
}

}  // namespace

Arguments::Arguments(const std::string& procedure, const std::vector<ParamSpec>& specs,
                     const ProcCall& call) {
  size_t positional = 0;
  bool named_seen = false;
  for (const auto& arg : call.args) {
    const ParamSpec* spec = nullptr;
    if (arg.name.empty()) {
      if (named_seen) {
        throw SqlError(
            119, 15,
            "Must pass parameter number " + std::to_string(positional + 1) +
                " and subsequent parameters as '@name = value'. After the form '@name = value' has been "
                "used, all subsequent parameters must be passed in the form '@name = value'.");
      }
      if (positional >= specs.size()) {
        throw SqlError(8144, 16, "Procedure or function " + procedure + " has too many arguments specified.");
      }
      spec = &specs[positional++];
    } else {
      named_seen = true;
      std::string name = ascii_lower(arg.name[0] == '@' ? arg.name : "@" + arg.name);
      for (const auto& candidate : specs) {
        if (ascii_lower(candidate.name) == name) spec = &candidate;
      }
      if (!spec) throw SqlError(8145, 16, arg.name + " is not a parameter for procedure " + procedure + ".");
    }
    if (values_.count(ascii_lower(spec->name))) {
      throw SqlError(8143, 16, "Parameter '" + std::string(spec->name) + "' was supplied multiple times.");
    }
    values_[ascii_lower(spec->name)] = convert(procedure, *spec, arg.value);
  }
  for (const auto& spec : specs) {
    if (spec.required && !values_.count(ascii_lower(spec.name))) {
      throw SqlError(201, 16,
                     "Procedure or function '" + procedure + "' expects parameter '" + spec.name +
                         "', which was not supplied.");
    }
  }
}

std::optional<std::string> Arguments::string(const char* name) const {
  auto it = values_.find(ascii_lower(name));
  if (it == values_.end() || is_null(it->second)) return std::nullopt;
  return std::get<std::string>(it->second);
}

std::optional<int64_t> Arguments::integer(const char* name) const {
  auto it = values_.find(ascii_lower(name));
  if (it == values_.end() || is_null(it->second)) return std::nullopt;
  return std::get<int64_t>(it->second);
}

std::optional<int64_t> Arguments::datetime(const char* name) const {
  auto it = values_.find(ascii_lower(name));
  if (it == values_.end() || is_null(it->second)) return std::nullopt;
  return std::get<DateTime>(it->second).unix_micros;
}

bool Arguments::given(const char* name) const {
  auto it = values_.find(ascii_lower(name));
  return it != values_.end() && !is_null(it->second);
}

std::optional<int64_t> parse_sql_datetime(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  size_t pos = 0;
  int y = 0, m = 0, d = 0;
  bool iso = false;
  auto first = read_number(text, pos, 8);
  if (!first) return std::nullopt;
  if (pos == 8) {  // yyyymmdd
    y = *first / 10000, m = *first / 100 % 100, d = *first % 100;
  } else if (pos == 4 && take(text, pos, '-')) {  // yyyy-mm-dd
    auto month = read_number(text, pos, 2);
    if (!month || !take(text, pos, '-')) return std::nullopt;
    auto day = read_number(text, pos, 2);
    if (!day) return std::nullopt;
    y = *first, m = *month, d = *day;
    iso = true;
  } else if (pos <= 2 && take(text, pos, '/')) {  // mm/dd/yyyy, mm/dd/yy
    auto day = read_number(text, pos, 2);
    if (!day || !take(text, pos, '/')) return std::nullopt;
    size_t year_start = pos;
    auto year = read_number(text, pos, 4);
    if (!year || (pos - year_start != 2 && pos - year_start != 4)) return std::nullopt;
    // SQL Server's two digit year cutoff (2049): 00..49 are 20xx, 50..99 are 19xx.
    y = pos - year_start == 2 ? (*year < 50 ? 2000 + *year : 1900 + *year) : *year;
    m = *first, d = *day;
  } else {
    return std::nullopt;
  }
  TimeOfDay time;
  if (pos < text.size()) {
    bool separated = text[pos] == ' ' || (iso && text[pos] == 'T');
    if (!separated) return std::nullopt;
    ++pos;
    while (pos < text.size() && text[pos] == ' ') ++pos;
    auto parsed = parse_time(text.substr(pos));
    if (!parsed) return std::nullopt;
    time = *parsed;
  }
  using namespace std::chrono;
  year_month_day date{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || y < 1753 || y > 9999) return std::nullopt;
  return duration_cast<microseconds>(sys_days{date}.time_since_epoch()).count() + time.micros;
}

}  // namespace bakrest::procs
