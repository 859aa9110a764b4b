#include "procs/arguments.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "common/error.h"
#include "common/text.h"

namespace bakrest::procs {

namespace {

Value convert(const std::string& procedure, const ParamSpec& spec, const Value& value) {
  if (is_null(value)) return value;
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

bool Arguments::given(const char* name) const {
  auto it = values_.find(ascii_lower(name));
  return it != values_.end() && !is_null(it->second);
}

}  // namespace bakrest::procs
