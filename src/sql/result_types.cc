#include "sql/result_types.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/clock.h"
#include "common/error.h"
#include "common/sql_type.h"
#include "common/text.h"

namespace bakrest::sql {

namespace {

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

bool all_fit(const std::vector<Value*>& values, int64_t min, int64_t max) {
  return std::all_of(values.begin(), values.end(), [&](const Value* v) {
    auto* i = std::get_if<int64_t>(v);
    return !i || (*i >= min && *i <= max);
  });
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

// Text of no declared length: NVARCHAR(4000) when every value fits, else NVARCHAR(MAX).
Column text_column(const std::string& name, std::vector<Value*>& values) {
  size_t longest = 0;
  for (Value* v : values) {
    if (is_null(*v)) continue;
    if (!std::holds_alternative<std::string>(*v)) *v = to_text(*v);
    longest = std::max(longest, utf16_length(std::get<std::string>(*v)));
  }
  if (longest > 4000) return {name, ColumnType::kNVarCharMax, 0};
  return {name, ColumnType::kNVarChar, 4000};
}

// Whether every value reads as the declared type, so that column can carry them (SQLite lets a column hold
// any value; a value that does not fit sends the column by its values instead).
bool values_fit(const Column& column, std::vector<Value*>& values) {
  for (Value* v : values) {
    if (is_null(*v)) continue;
    try {
      conform(*v, column);
    } catch (const SqlError&) {
      return false;
    }
  }
  return true;
}

// The declared type as a SqlType, or nullopt when it is none bakrest knows (SQLite takes any name). A
// character or binary type without a length is (MAX): bakrest writes NVARCHAR(MAX) columns that way.
std::optional<SqlType> declared_sql_type(const std::string& declared) {
  if (declared.empty()) return std::nullopt;
  std::string d = ascii_lower(declared);
  if (d == "text" || d == "blob") return std::nullopt;  // SQLite's own names: typed by their values
  try {
    SqlType type = parse_type(declared);
    bool sized = type.base == SqlType::Base::kChar || type.base == SqlType::Base::kVarChar ||
                 type.base == SqlType::Base::kBinary || type.base == SqlType::Base::kVarBinary;
    if (sized && declared.find('(') == std::string::npos && type.name != "sysname") type.length = -1;
    return type;
  } catch (const SqlError&) {
    return std::nullopt;
  }
}

Column choose_from_values(const std::string& name, std::vector<Value*>& values) {
  if (all_are<int64_t>(values)) {
    bool big = !all_fit(values, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    return {name, big ? ColumnType::kBigInt : ColumnType::kInt, 0};
  }
  if (all_numeric(values)) {
    for (Value* v : values) {
      if (auto* i = std::get_if<int64_t>(v)) *v = static_cast<double>(*i);
    }
    return {name, ColumnType::kFloat, 0};
  }
  if (all_are<Bytes>(values)) {
    size_t longest = 0;
    for (Value* v : values) {
      if (auto* b = std::get_if<Bytes>(v)) longest = std::max(longest, b->size());
    }
    if (longest > 8000) return {name, ColumnType::kVarBinaryMax, 0};
    return {name, ColumnType::kVarBinary, 8000};
  }
  return text_column(name, values);
}

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
  if (auto type = declared_sql_type(declared_type)) {
    Column column = column_for(*type, name);
    // SQLite's INTEGER PRIMARY KEY (an IDENTITY column) holds 64-bit values; INT is what SQL Server has,
    // and BIGINT when the values need it.
    if (column.type == ColumnType::kInt && !more_rows_follow &&
        !all_fit(values, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()) &&
        ascii_lower(declared_type) == "integer") {
      column.type = ColumnType::kBigInt;
    }
    if (values_fit(column, values)) return column;
  }
  Column column = choose_from_values(name, values);
  if (!more_rows_follow) return column;
  // Rows not seen yet must fit too: take the widest type of the kind.
  if (column.type == ColumnType::kInt) column.type = ColumnType::kBigInt;
  if (column.type == ColumnType::kNVarChar) column = Column{name, ColumnType::kNVarCharMax, 0};
  if (column.type == ColumnType::kVarBinary) column = Column{name, ColumnType::kVarBinaryMax, 0};
  return column;
}

void conform(Value& value, const Column& column) {
  if (is_null(value)) return;
  auto fail = [&](const char* type) {
    throw SqlError(
        245, 16,
        "Conversion failed when converting the value '" + to_text(value) + "' to data type " + type + ".");
  };
  auto integer = [&](const char* type, int64_t min, int64_t max) {
    if (auto* b = std::get_if<bool>(&value)) value = int64_t{*b ? 1 : 0};
    auto* i = std::get_if<int64_t>(&value);
    if (!i) fail(type);
    if (*i < min || *i > max) {
      throw SqlError(
          8115, 16,
          std::string("Arithmetic overflow error converting expression to data type ") + type + ".");
    }
  };
  auto numeric = [&](const char* type) {
    if (auto* b = std::get_if<bool>(&value)) value = int64_t{*b ? 1 : 0};
    if (!std::holds_alternative<int64_t>(value) && !std::holds_alternative<double>(value)) fail(type);
  };
  // DATETIME and SMALLDATETIME become DateTime values; the newer types stay text in their canonical form,
  // which keeps DATETIME2's and TIME's seventh fraction digit.
  auto datetime = [&](const SqlType& type, bool as_datetime) {
    if (std::holds_alternative<DateTime>(value)) return;
    if (!std::holds_alternative<std::string>(value)) {
      throw SqlError(241, 16, "Conversion failed when converting date and/or time from character string.");
    }
    value = convert(value, type);  // throws 241 for text that is no date
    if (!as_datetime) return;
    if (auto micros = parse_datetime(std::get<std::string>(value))) value = DateTime{*micros};
  };
  switch (column.type) {
    case ColumnType::kBit:
      if (auto* i = std::get_if<int64_t>(&value); i && (*i == 0 || *i == 1)) value = *i != 0;
      if (!std::holds_alternative<bool>(value)) fail("bit");
      return;
    case ColumnType::kTinyInt:
      integer("tinyint", 0, 255);
      return;
    case ColumnType::kSmallInt:
      integer("smallint", INT16_MIN, INT16_MAX);
      return;
    case ColumnType::kInt:
      integer("int", INT32_MIN, INT32_MAX);
      return;
    case ColumnType::kBigInt:
      integer("bigint", INT64_MIN, INT64_MAX);
      return;
    case ColumnType::kReal:
    case ColumnType::kFloat:
      numeric("float");
      if (auto* i = std::get_if<int64_t>(&value)) value = static_cast<double>(*i);
      return;
    case ColumnType::kDecimal:
    case ColumnType::kMoney:
    case ColumnType::kSmallMoney: {
      const char* type = column.type == ColumnType::kDecimal ? "numeric" : "money";
      numeric(type);
      // SQLite keeps these as 64-bit floats, so a value can be outside the type (stored by something other
      // than bakrest's conversions) or round just past its end: MONEY's largest value, 922337203685477.5807,
      // is the float 922337203685477.625. The first is an error; the float of an end is sent as that end.
      double d = std::holds_alternative<double>(value) ? std::get<double>(value)
                                                       : static_cast<double>(std::get<int64_t>(value));
      int precision = column.precision == 0 ? 18 : column.precision;
      int scale = column.scale < 0 ? 0 : column.scale;
      bool over = false;
      if (column.type == ColumnType::kDecimal) {
        over = std::fabs(d) >= std::pow(10.0, precision - scale);
      } else if (column.type == ColumnType::kMoney) {
        over = d > 922337203685477.5807 || d < -922337203685477.5808;
      } else {
        over = d > 214748.3647 || d < -214748.3648;
      }
      if (over || std::isnan(d)) {
        throw SqlError(
            8115, 16,
            std::string("Arithmetic overflow error converting expression to data type ") + type + ".");
      }
      return;
    }
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
    case ColumnType::kDate:
      datetime(parse_type("date"), false);
      return;
    case ColumnType::kTime:
      datetime(parse_type("time"), false);
      return;
    case ColumnType::kSmallDateTime:
    case ColumnType::kDateTime:
      datetime(parse_type("datetime2"), true);
      return;
    case ColumnType::kDateTime2:
      datetime(parse_type("datetime2"), false);
      return;
    case ColumnType::kDateTimeOffset:
      datetime(parse_type("datetimeoffset"), false);
      return;
    case ColumnType::kUniqueIdentifier:
      if (!std::holds_alternative<std::string>(value) && !std::holds_alternative<Bytes>(value))
        fail("uniqueidentifier");
      value = convert(value, parse_type("uniqueidentifier"));
      return;
  }
}

}  // namespace bakrest::sql
