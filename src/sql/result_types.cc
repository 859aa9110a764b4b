#include "sql/result_types.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>

#include "common/clock.h"
#include "common/error.h"
#include "common/text.h"

namespace bakrest::sql {

namespace {

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

template <typename T>
bool all_are(const std::vector<Value*>& values) {
  return std::all_of(values.begin(), values.end(),
                     [](const Value* v) { return is_null(*v) || std::holds_alternative<T>(*v); });
}

bool all_numeric(const std::vector<Value*>& values) {
  return std::all_of(values.begin(), values.end(), [](const Value* v) {
    return is_null(*v) || std::holds_alternative<int64_t>(*v) || std::holds_alternative<double>(*v);
  });
}

bool all_fit_int32(const std::vector<Value*>& values) {
  return std::all_of(values.begin(), values.end(), [](const Value* v) {
    auto* i = std::get_if<int64_t>(v);
    return !i || (*i >= std::numeric_limits<int32_t>::min() && *i <= std::numeric_limits<int32_t>::max());
  });
}

// The n in a declared type like NVARCHAR(100), or 0. UNIQUEIDENTIFIER (msdb's GUID columns, stored as
// text because TDS rows carry no GUID type here) is 36 characters.
uint32_t declared_length(const std::string& declared) {
  if (declared == "UNIQUEIDENTIFIER") return 36;
  auto open = declared.find('(');
  if (open == std::string::npos) return 0;
  unsigned long n = std::strtoul(declared.c_str() + open + 1, nullptr, 10);
  return static_cast<uint32_t>(std::min<unsigned long>(n, 1u << 30));
}

std::string to_text(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", *d);
    return buffer;
  }
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* b = std::get_if<Bytes>(&v)) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out = "0x";
    for (uint8_t byte : *b) {
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
    return out;
  }
  return {};
}

Column text_column(const std::string& name, const std::string& declared, std::vector<Value*>& values) {
  size_t longest = 0;
  for (Value* v : values) {
    if (is_null(*v)) continue;
    if (!std::holds_alternative<std::string>(*v)) *v = to_text(*v);
    longest = std::max(longest, utf16_length(std::get<std::string>(*v)));
  }
  if (longest > 4000) return {name, ColumnType::kNVarCharMax, 0};
  uint32_t length = declared_length(declared);
  if (length == 0 || length > 4000 || length < longest) length = 4000;
  return {name, ColumnType::kNVarChar, length};
}

bool convert_datetimes(std::vector<Value*>& values) {
  std::vector<std::optional<int64_t>> parsed;
  for (Value* v : values) {
    if (is_null(*v)) {
      parsed.emplace_back(0);
      continue;
    }
    auto* s = std::get_if<std::string>(v);
    if (!s) return false;
    auto t = parse_datetime(*s);
    if (!t) return false;
    parsed.push_back(t);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!is_null(*values[i])) *values[i] = DateTime{*parsed[i]};
  }
  return true;
}

Column choose_from_values(const std::string& name, const std::string& declared_type,
                          std::vector<Value*>& values);

}  // namespace

Value read_sqlite_value(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, column));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, column);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
      return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, column));
      return data ? Bytes(data, data + sqlite3_column_bytes(stmt, column)) : Bytes{};
    }
    default:
      return std::monostate{};
  }
}

size_t utf16_length(const std::string& utf8) {
  size_t units = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) != 0x80) units += (c >= 0xF0) ? 2 : 1;
  }
  return units;
}

Column choose_column(const std::string& name, const std::string& declared_type, std::vector<Value*>& values,
                     bool more_rows_follow) {
  Column column = choose_from_values(name, declared_type, values);
  if (!more_rows_follow) return column;
  // Rows not seen yet must fit too: keep what the declaration promises, else take the widest type.
  std::string d = ascii_upper(declared_type);
  std::string base = d.substr(0, d.find('('));
  bool declared_int = base == "INT" || base == "INTEGER" || base == "SMALLINT" || base == "TINYINT";
  uint32_t length = declared_length(d);
  if (column.type == ColumnType::kInt && !declared_int) column.type = ColumnType::kBigInt;
  if (column.type == ColumnType::kNVarChar) {
    column = length >= 1 && length <= 4000 && (contains(d, "CHAR") || d == "UNIQUEIDENTIFIER")
                 ? Column{name, ColumnType::kNVarChar, length}
                 : Column{name, ColumnType::kNVarCharMax, 0};
  }
  if (column.type == ColumnType::kVarBinary) {
    column = length >= 1 && length <= 8000 && contains(d, "BINARY")
                 ? Column{name, ColumnType::kVarBinary, length}
                 : Column{name, ColumnType::kVarBinaryMax, 0};
  }
  return column;
}

void conform(Value& value, const Column& column) {
  if (is_null(value)) return;
  auto fail = [&](const char* type) {
    throw SqlError(
        245, 16,
        "Conversion failed when converting the value '" + to_text(value) + "' to data type " + type + ".");
  };
  switch (column.type) {
    case ColumnType::kBit:
      if (auto* i = std::get_if<int64_t>(&value); i && (*i == 0 || *i == 1)) value = *i != 0;
      if (!std::holds_alternative<bool>(value)) fail("bit");
      return;
    case ColumnType::kInt:
      if (!std::holds_alternative<int64_t>(value)) fail("int");
      if (!all_fit_int32({&value}))
        throw SqlError(8115, 16, "Arithmetic overflow error converting expression to data type int.");
      return;
    case ColumnType::kBigInt:
      if (!std::holds_alternative<int64_t>(value)) fail("bigint");
      return;
    case ColumnType::kFloat:
      if (auto* i = std::get_if<int64_t>(&value)) value = static_cast<double>(*i);
      if (!std::holds_alternative<double>(value)) fail("float");
      return;
    case ColumnType::kNVarChar:
    case ColumnType::kNVarCharMax:
      if (!std::holds_alternative<std::string>(value)) value = to_text(value);
      if (column.type == ColumnType::kNVarChar &&
          utf16_length(std::get<std::string>(value)) > column.max_length) {
        throw SqlError(8152, 16, "String or binary data would be truncated.");
      }
      return;
    case ColumnType::kVarBinary:
    case ColumnType::kVarBinaryMax:
      if (!std::holds_alternative<Bytes>(value)) fail("varbinary");
      if (column.type == ColumnType::kVarBinary && std::get<Bytes>(value).size() > column.max_length) {
        throw SqlError(8152, 16, "String or binary data would be truncated.");
      }
      return;
    case ColumnType::kDateTime:
    case ColumnType::kDateTime2: {
      auto* text = std::get_if<std::string>(&value);
      auto parsed = text ? parse_datetime(*text) : std::nullopt;
      if (!parsed)
        throw SqlError(241, 16, "Conversion failed when converting date and/or time from character string.");
      value = DateTime{*parsed};
      return;
    }
  }
}

namespace {

Column choose_from_values(const std::string& name, const std::string& declared_type,
                          std::vector<Value*>& values) {
  std::string d = ascii_upper(declared_type);
  if (contains(d, "DATETIME2") && convert_datetimes(values)) return {name, ColumnType::kDateTime2, 0};
  if ((contains(d, "DATETIME") || d == "DATE" || contains(d, "TIMESTAMP")) && convert_datetimes(values)) {
    return {name, ColumnType::kDateTime, 0};
  }
  if (d == "BIT" && all_are<int64_t>(values) && std::all_of(values.begin(), values.end(), [](const Value* v) {
        auto* i = std::get_if<int64_t>(v);
        return !i || *i == 0 || *i == 1;
      })) {
    for (Value* v : values) {
      if (auto* i = std::get_if<int64_t>(v)) *v = *i != 0;
    }
    return {name, ColumnType::kBit, 0};
  }
  bool integer_declared = contains(d, "INT");
  bool float_declared = contains(d, "REAL") || contains(d, "FLOA") || contains(d, "DOUB") ||
                        contains(d, "DEC") || contains(d, "NUMERIC") || contains(d, "MONEY");
  bool binary_declared = contains(d, "BLOB") || contains(d, "BINARY") || contains(d, "IMAGE");
  bool undeclared = d.empty();

  // Integers stay integers whatever the declared type (NUMERIC affinity keeps DECIMAL(20,0) values exact).
  if ((integer_declared || float_declared || undeclared) && all_are<int64_t>(values)) {
    bool big = contains(d, "BIGINT") || !all_fit_int32(values);
    return {name, big ? ColumnType::kBigInt : ColumnType::kInt, 0};
  }
  if ((float_declared || integer_declared || undeclared) && all_numeric(values)) {
    for (Value* v : values) {
      if (auto* i = std::get_if<int64_t>(v)) *v = static_cast<double>(*i);
    }
    return {name, ColumnType::kFloat, 0};
  }
  if ((binary_declared || undeclared) && all_are<Bytes>(values)) {
    size_t longest = 0;
    for (Value* v : values) {
      if (auto* b = std::get_if<Bytes>(v)) longest = std::max(longest, b->size());
    }
    if (longest > 8000) return {name, ColumnType::kVarBinaryMax, 0};
    return {name, ColumnType::kVarBinary, 8000};
  }
  // Text, and anything whose values disagree with the declared type, goes as NVARCHAR.
  return text_column(name, d, values);
}

}  // namespace
}  // namespace bakrest::sql
