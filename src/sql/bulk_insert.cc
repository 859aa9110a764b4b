// INSERT BULK and the BULK LOAD message that follows it (docs/COMPATIBILITY.md, "Bulk load").
//
// INSERT BULK checks that the table and every column it lists exist and keeps the statement; the next bulk
// load consumes it. Its rows map to the listed columns by position and are converted to the types the table's
// columns have (as CAST would, but a value too long for its column is an error, never cut), then inserted
// with one prepared INSERT inside one transaction (a savepoint of the session's open one): all of them, or
// after any error none. Columns the list leaves out get their defaults; so do NULLs sent for a column that
// has a default, unless KEEP_NULLS. SQLite always checks constraints and fires triggers, so CHECK_CONSTRAINTS
// and FIRE_TRIGGERS are honoured, and their absence changes nothing; TABLOCK, ROWS_PER_BATCH,
// KILOBYTES_PER_BATCH and ORDER are hints bakrest has no use for.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sql_type.h"
#include "common/text.h"
#include "engine/database_name.h"
#include "sql/result_types.h"
#include "sql/session.h"
#include "sql/token_util.h"

namespace bakrest::sql {
namespace {

constexpr const char* kSavepoint = "bakrest_bulk_load";
constexpr uint64_t kAttentionEvery = 1024;  // rows between looks at the client's ATTENTION

// Where the table an INSERT BULK names lives.
struct Location {
  bool temporary = false;  // a #temporary or ##global table: the session's temporary databases first
  std::string attach;      // another database to attach first; empty for the current one
  std::string schema;      // the SQLite schema: "main" or the attachment
  std::string table;
  std::string written;  // the name as the statement wrote it, for errors
};

// One listed column of the target table.
struct TargetColumn {
  std::string name;                        // as the table spells it
  std::optional<SqlType> type;             // nullopt: a type bakrest does not know; values go in as they come
  std::optional<std::string> default_sql;  // SQLite's text of the column's DEFAULT
};

struct Target {
  std::string schema;
  std::string table;
  std::vector<TargetColumn> columns;  // in the order INSERT BULK lists them
};

Location locate(const std::vector<std::string>& parts, const std::string& current_database) {
  Location where;
  for (size_t i = 0; i < parts.size(); ++i) where.written += (i > 0 ? "." : "") + parts[i];
  where.table = parts.back();
  where.schema = "main";
  // #t, tempdb..#t, tempdb.dbo.#t: the temporary databases, whatever the current one.
  if (where.table.size() > 1 && where.table[0] == '#' &&
      (parts.size() == 1 || (parts.size() == 3 && engine::database_name_key(parts[0]) == "tempdb"))) {
    where.temporary = true;
    where.schema = catalog::temp_schema(where.table);
    return where;
  }
  if (parts.size() >= 2) {
    const std::string& schema = parts[parts.size() - 2];
    if (!schema.empty() && ascii_lower(schema) != "dbo")
      throw SqlError(208, 16, "Invalid object name '" + where.written + "'.");
  }
  if (parts.size() == 3) {
    std::string key = engine::database_name_key(parts[0]);
    if (key == "msdb") {
      where.schema = "msdb";
    } else if (key != engine::database_name_key(current_database)) {
      where.attach = parts[0];
      where.schema = ascii_lower(attachment_schema(parts[0]));
    }
  }
  return where;
}

// The declared type of a table column as T-SQL reads it; a character or binary type without a length is
// (MAX), as bakrest writes NVARCHAR(MAX) columns. nullopt for SQLite's own names and types bakrest does not
// know.
std::optional<SqlType> declared_type(const std::string& declared) {
  std::string d = ascii_lower(declared);
  if (d.empty() || d == "text" || d == "blob") return std::nullopt;
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

Target read_target(sqlite::Database& db, const Location& where, const InsertBulkStatement& statement) {
  Target target;
  target.schema = where.schema;
  auto find = db.prepare("SELECT name FROM " + quote_identifier(where.schema) +
                         ".sqlite_schema WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE");
  find.bind(1, where.table);
  if (!find.step()) throw SqlError(208, 16, "Invalid object name '" + where.written + "'.");
  target.table = find.get_text(0);

  struct TableColumn {
    std::string name;
    std::string declared;
    std::optional<std::string> default_sql;
    int64_t hidden = 0;
  };
  std::vector<TableColumn> table;
  auto info = db.prepare("SELECT name, type, dflt_value, hidden FROM pragma_table_xinfo(?1, ?2)");
  info.bind(1, target.table);
  info.bind(2, where.schema);
  while (info.step())
    table.push_back({info.get_text(0), info.get_text(1), info.get_optional_text(2), info.get_int(3)});

  std::vector<std::string> seen;
  for (const auto& listed : statement.columns) {
    std::string key = ascii_lower(listed.name);
    for (const auto& s : seen) {
      if (s == key) {
        throw SqlError(
            264, 16,
            "The column name '" + listed.name +
                "' is specified more than once in the SET clause or column list of an INSERT. A "
                "column cannot be assigned more than one value in the same clause. Modify the clause "
                "to make sure that a column is updated only once.");
      }
    }
    seen.push_back(key);
    const TableColumn* column = nullptr;
    for (const auto& c : table) {
      if (ascii_lower(c.name) == key) column = &c;
    }
    if (!column) throw SqlError(207, 16, "Invalid column name '" + listed.name + "'.");
    if (column->hidden == 2 || column->hidden == 3) {
      throw SqlError(271, 16,
                     "The column \"" + column->name +
                         "\" cannot be modified because it is either a computed column or is the result of a "
                         "UNION operator.");
    }
    target.columns.push_back({column->name, declared_type(column->declared), column->default_sql});
  }
  return target;
}

// INSERT INTO schema.table (columns) VALUES (?1, ...); without KEEP_NULLS a NULL for a column with a default
// takes the default.
std::string insert_sql(const Target& target, bool keep_nulls) {
  std::string names;
  std::string values;
  for (size_t i = 0; i < target.columns.size(); ++i) {
    const TargetColumn& c = target.columns[i];
    std::string parameter = "?" + std::to_string(i + 1);
    names += (i > 0 ? ", " : "") + quote_identifier(c.name);
    values += i > 0 ? ", " : "";
    values +=
        c.default_sql && !keep_nulls ? "COALESCE(" + parameter + ", (" + *c.default_sql + "))" : parameter;
  }
  return "INSERT INTO " + quote_identifier(target.schema) + "." + quote_identifier(target.table) + " (" +
         names + ") VALUES (" + values + ")";
}

bool is_text(SqlType::Base base) { return base == SqlType::Base::kChar || base == SqlType::Base::kVarChar; }
bool is_binary(SqlType::Base base) {
  return base == SqlType::Base::kBinary || base == SqlType::Base::kVarBinary;
}
bool is_date_or_time(SqlType::Base base) {
  return base == SqlType::Base::kDate || base == SqlType::Base::kTime || base == SqlType::Base::kDateTime ||
         base == SqlType::Base::kSmallDateTime || base == SqlType::Base::kDateTime2 ||
         base == SqlType::Base::kDateTimeOffset;
}
bool is_approximate_or_integer(SqlType::Base base) {
  return base == SqlType::Base::kBit || base == SqlType::Base::kTinyInt || base == SqlType::Base::kSmallInt ||
         base == SqlType::Base::kInt || base == SqlType::Base::kBigInt || base == SqlType::Base::kReal ||
         base == SqlType::Base::kFloat;
}

SqlError conversion_error(const SqlError& e, uint64_t row, size_t colid, const std::string& name) {
  bool overflow = e.message().number == 8115;
  return SqlError(
      overflow ? 4867 : 4864, 16,
      fmt::format("Bulk load data conversion error ({}) for row {}, column {} ({}). {}",
                  overflow ? "overflow" : "type mismatch or invalid character for the specified codepage",
                  row, colid, name, e.message().text));
}

SqlError too_long(uint64_t row, size_t colid, const TargetColumn& column, size_t length) {
  return SqlError(
      4815, 16,
      fmt::format("Received an invalid column length from the bcp client for colid {}. (Row {}: a "
                  "value of {} for column '{}', which is {}.)",
                  colid, row, length, column.name, column.type->spelled()));
}

// A value the client sent for `source`, as the table's column keeps it.
Value to_column(Value value, const Column& source, const TargetColumn& target, uint64_t row, size_t colid) {
  if (is_null(value) || !target.type) return value;
  const SqlType& type = *target.type;
  try {
    if (auto* text = std::get_if<std::string>(&value)) {
      // The exact decimal text of a DECIMAL or MONEY too long for a double: as a number for the number types.
      bool exact = source.type == ColumnType::kDecimal || source.type == ColumnType::kMoney ||
                   source.type == ColumnType::kSmallMoney;
      // DATETIMEOFFSET to another date or time type keeps the local date and time; TIME to a date and time
      // is on 1900-01-01, as SQL Server has them.
      if (exact && is_approximate_or_integer(type.base)) {
        value = std::strtod(text->c_str(), nullptr);
      } else if (source.type == ColumnType::kDateTimeOffset && is_date_or_time(type.base) &&
                 type.base != SqlType::Base::kDateTimeOffset) {
        value = text->substr(0, text->rfind(' '));
      } else if (source.type == ColumnType::kTime && is_date_or_time(type.base) &&
                 type.base != SqlType::Base::kTime && type.base != SqlType::Base::kDate) {
        value = "1900-01-01 " + *text;
      }
    }
    if (is_text(type.base) && type.length > 0) {
      auto limit = static_cast<size_t>(type.length);
      // The common case, text for a VARCHAR / NVARCHAR column, needs no conversion.
      if (type.base == SqlType::Base::kVarChar && std::holds_alternative<std::string>(value)) {
        size_t length = utf16_length(std::get<std::string>(value));
        if (length > limit) throw too_long(row, colid, target, length);
        return value;
      }
      SqlType unbounded = type;
      unbounded.length = -1;
      Value full = convert(value, unbounded);
      size_t length = utf16_length(std::get<std::string>(full));
      if (length > limit) throw too_long(row, colid, target, length);
      return convert(full, type);  // CHAR: padded
    }
    if (is_binary(type.base) && type.length > 0) {
      SqlType unbounded = type;
      unbounded.length = -1;
      Value full = std::holds_alternative<Bytes>(value) ? std::move(value) : convert(value, unbounded);
      size_t length = std::get<Bytes>(full).size();
      if (length > static_cast<size_t>(type.length)) throw too_long(row, colid, target, length);
      return type.base == SqlType::Base::kBinary ? convert(full, type) : full;
    }
    return convert(value, type);
  } catch (const SqlError& e) {
    if (e.message().number == 4815) throw;
    throw conversion_error(e, row, colid, target.name);
  }
}

}  // namespace

void Session::insert_bulk(const InsertBulkStatement& statement, ResultSink& sink) {
  Location where = locate(statement.table, current_database());
  if (where.temporary) use_temporary_tables();
  if (!where.attach.empty()) attach({where.attach});
  read_target(connection_->db(), where, statement);  // 208, 207, 264, 271 now rather than after the data
  insert_bulk_ = statement;
  rowcount_ = 0;
  sink.done(std::nullopt);
}

void Session::bulk_load(BulkRows& rows, ResultSink& sink) {
  const auto started = std::chrono::steady_clock::now();
  publish_state(true);
  struct Idle {
    Session& session;
    ~Idle() { session.publish_state(false); }
  } idle{*this};
  {
    std::lock_guard lock(wait_mutex_);
    interrupted_ = false;
  }
  // The INSERT BULK is used up by this load, whatever becomes of it.
  std::optional<InsertBulkStatement> statement = std::move(insert_bulk_);
  insert_bulk_.reset();

  bool savepoint = false;  // inside the session's transaction: undo to here on failure
  bool begun = false;      // a transaction of the load's own
  uint64_t count = 0;
  auto fail = [&](Message m) {
    spdlog::info("session {}: bulk load failed with {}: {}", spid_, m.number, m.text);
    last_error_ = m.number;
    rowcount_ = 0;
    // SET XACT_ABORT ON: an error rolls back the whole transaction.
    if (options_.xact_abort && connection_->db().in_transaction())
      sqlite3_exec(connection_->db().handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    if (!connection_->db().in_transaction()) {
      trancount_ = 0;
      transaction_name_.clear();
      savepoints_.clear();
    }
    // The client may still be sending rows: the reply answers the whole load, so it waits for the rest.
    rows.discard_rest();
    sink.message(m);
    sink.done(std::nullopt);
  };
  auto undo = [&] {
    sqlite3* db = connection_->db().handle();
    if (savepoint) {
      sqlite3_exec(db, ("ROLLBACK TO " + std::string(kSavepoint) + "; RELEASE " + kSavepoint).c_str(),
                   nullptr, nullptr, nullptr);
    } else if (begun) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    savepoint = begun = false;
  };
  try {
    if (!statement) {
      throw SqlError(50000, 16,
                     "A bulk load must follow an INSERT BULK statement on the same connection, and none is "
                     "pending (each INSERT BULK is used up by the bulk load after it).");
    }
    const std::vector<Column>& columns = rows.columns();
    Location where = locate(statement->table, current_database());
    if (where.temporary) use_temporary_tables();
    if (!where.attach.empty()) attach({where.attach});
    Target target = read_target(connection_->db(), where, *statement);
    if (!columns.empty() && columns.size() != target.columns.size()) {
      throw SqlError(
          50000, 16,
          fmt::format("The bulk load describes {} columns, but its INSERT BULK statement lists {}: the "
                      "data must have one column for each listed column, in the same order.",
                      columns.size(), target.columns.size()));
    }
    sqlite::Database& database = connection_->db();
    sqlite3* db = database.handle();
    if (options_.implicit_transactions && trancount() == 0) begin_transaction();
    auto insert = database.prepare(insert_sql(target, statement->keep_nulls));
    sqlite3_stmt* stmt = insert.handle();
    // A transaction that has only read holds a snapshot SQLite may not let it write from: it starts over as a
    // writer now, as its first write would make it after a refusal.
    if (sqlite3_txn_state(db, nullptr) == SQLITE_TXN_READ) restart_for_write(stmt);
    if (database.in_transaction()) {
      database.exec("SAVEPOINT " + std::string(kSavepoint));
      savepoint = true;
    } else {
      database.exec("BEGIN IMMEDIATE");
      begun = true;
    }
    std::vector<Value> row;
    while (rows.next(row)) {
      ++count;
      if (count % kAttentionEvery == 0 && sink.attention()) break;
      if (row.size() != target.columns.size()) {
        throw SqlError(50000, 16,
                       fmt::format("Row {} of the bulk load has {} values for {} columns.", count, row.size(),
                                   target.columns.size()));
      }
      for (size_t c = 0; c < row.size(); ++c) {
        Value value = to_column(std::move(row[c]), columns[c], target.columns[c], count, c + 1);
        sqlite::bind_value(stmt, static_cast<int>(c) + 1, value);
      }
      int rc = sqlite3_step(stmt);
      sqlite3_reset(stmt);
      if (rc != SQLITE_DONE) {
        if (rc == SQLITE_INTERRUPT && sink.attention()) break;
        SqlError e = explain(sqlite::Error(sqlite3_extended_errcode(db), sqlite3_errmsg(db)));
        Message m = e.message();
        m.text += fmt::format(" (Row {} of the bulk load.)", count);
        throw SqlError(m);
      }
    }
    if (sink.attention()) {
      // ATTENTION: the load is cancelled, as SQL Server cancels it; the server acknowledges it.
      undo();
      spdlog::info("session {}: bulk load into {} cancelled after {} rows", spid_, where.written, count);
      return;
    }
    if (savepoint) {
      database.exec("RELEASE " + std::string(kSavepoint));
      savepoint = false;
    } else {
      database.exec("COMMIT");
      begun = false;
    }
    spdlog::info(
        "session {}: bulk load of {} rows into {} in {} ms", spid_, count, where.written,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count());
    rowcount_ = static_cast<int64_t>(count);
    last_error_ = 0;
    sink.done(count);
  } catch (const SqlError& e) {
    undo();
    fail(e.message());
  } catch (const sqlite::Error& e) {
    undo();
    fail(explain(e).message());
  } catch (...) {
    undo();  // malformed data (the server reports it) or worse: nothing of the load stays
    throw;
  }
}

}  // namespace bakrest::sql
