#include "common/sqlite.h"

#include <cstdio>
#include <type_traits>

#include "common/clock.h"

namespace bakrest::sqlite {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view context) {
  std::string what(context);
  what += ": ";
  what += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw Error(db ? sqlite3_extended_errcode(db) : rc, what);
}

}  // namespace

Database::Database(const std::filesystem::path& file, int flags, const char* vfs) {
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_URI, vfs);
  if (rc != SQLITE_OK) {
    std::string what =
        "cannot open " + file.string() + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(rc, what);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() { sqlite3_close_v2(db_); }

void Database::exec(std::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    std::string what = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw Error(sqlite3_extended_errcode(db_), what);
  }
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql); }

Statement::Statement(sqlite3* db, std::string_view sql) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "prepare");
}

Statement::Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::nullptr_t) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  // A default-made string_view has no data pointer, and SQLite takes a null pointer as NULL: give it "".
  sqlite3_bind_text64(stmt_, index, text.data() ? text.data() : "", text.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}
Statement& Statement::bind(int index, std::span<const uint8_t> blob) {
  // An empty blob must stay a blob, not become NULL, so give SQLite a valid pointer.
  static const uint8_t kEmpty = 0;
  sqlite3_bind_blob64(stmt_, index, blob.empty() ? &kEmpty : blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind(index, nullptr);
}

Statement& Statement::bind(int index, const Value& value) {
  bind_value(stmt_, index, value);
  return *this;
}

void bind_value(sqlite3_stmt* stmt, int index, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_bind_null(stmt, index);
        } else if constexpr (std::is_same_v<T, bool>) {
          sqlite3_bind_int64(stmt, index, v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_bind_int64(stmt, index, v);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_bind_double(stmt, index, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        } else if constexpr (std::is_same_v<T, Bytes>) {
          // An empty blob must stay a blob, not become NULL, so give SQLite a valid pointer.
          static const uint8_t kEmpty = 0;
          sqlite3_bind_blob64(stmt, index, v.empty() ? &kEmpty : v.data(), v.size(), SQLITE_TRANSIENT);
        } else if constexpr (std::is_same_v<T, DateTime>) {
          std::string text = format_datetime(v.unix_micros);
          sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        }
      },
      value);
}

void result_value(sqlite3_context* context, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          sqlite3_result_null(context);
        } else if constexpr (std::is_same_v<T, bool>) {
          sqlite3_result_int64(context, v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          sqlite3_result_int64(context, v);
        } else if constexpr (std::is_same_v<T, double>) {
          sqlite3_result_double(context, v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          sqlite3_result_text64(context, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        } else if constexpr (std::is_same_v<T, Bytes>) {
          static const uint8_t kEmpty = 0;
          sqlite3_result_blob64(context, v.empty() ? &kEmpty : v.data(), v.size(), SQLITE_TRANSIENT);
        } else if constexpr (std::is_same_v<T, DateTime>) {
          std::string text = format_datetime(v.unix_micros);
          sqlite3_result_text64(context, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        }
      },
      value);
}

Value value_of(sqlite3_value* value) {
  switch (sqlite3_value_type(value)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_value_int64(value));
    case SQLITE_FLOAT:
      return sqlite3_value_double(value);
    case SQLITE_TEXT:
      return std::string(reinterpret_cast<const char*>(sqlite3_value_text(value)),
                         static_cast<size_t>(sqlite3_value_bytes(value)));
    case SQLITE_BLOB: {
      const auto* data = static_cast<const uint8_t*>(sqlite3_value_blob(value));
      return data ? Bytes(data, data + sqlite3_value_bytes(value)) : Bytes{};
    }
    default:
      return std::monostate{};
  }
}

namespace {
constexpr char kCarried = '\x01';  // marks "<number> <severity> <text>" in a function's error message
}

void result_sql_error(sqlite3_context* context, int32_t number, uint8_t severity, const std::string& text) {
  std::string message =
      std::string(1, kCarried) + std::to_string(number) + " " + std::to_string(severity) + " " + text;
  sqlite3_result_error(context, message.c_str(), static_cast<int>(message.size()));
}

std::optional<CarriedError> sql_error_in(std::string_view sqlite_message) {
  size_t at = sqlite_message.find(kCarried);
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(sqlite_message.substr(at + 1));
  int number = 0, severity = 0, consumed = 0;
  if (std::sscanf(rest.c_str(), "%d %d %n", &number, &severity, &consumed) < 2) return std::nullopt;
  return CarriedError{number, static_cast<uint8_t>(severity), rest.substr(static_cast<size_t>(consumed))};
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(sqlite3_db_handle(stmt_), rc, "step");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::get_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::optional<std::string> Statement::get_optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return get_text(column);
}

Bytes Statement::get_blob(int column) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  int size = sqlite3_column_bytes(stmt_, column);
  return data ? Bytes(data, data + size) : Bytes{};
}

std::string file_uri(const std::filesystem::path& path, std::string_view query) {
  std::string uri = "file:";
  for (char c : path.string()) {
    if (c == '%' || c == '?' || c == '#' || c == ' ') {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(c));
      uri += escaped;
    } else {
      uri += c;
    }
  }
  if (!query.empty()) uri += "?" + std::string(query);
  return uri;
}

}  // namespace bakrest::sqlite
