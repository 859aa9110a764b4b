// The metadata functions that go with the catalog views and share their object ids: OBJECT_ID, OBJECT_NAME,
// OBJECT_SCHEMA_NAME, OBJECTPROPERTY, COL_NAME, COLUMNPROPERTY, TYPE_NAME, TYPE_ID and IDENT_CURRENT.
#include <string>
#include <vector>

#include "catalog/schema_model.h"
#include "catalog/view_sets.h"
#include "common/sqlite.h"
#include "common/text.h"

namespace bakrest::catalog {
namespace {

using Args = sqlite3_value**;

std::string text_arg(sqlite3_value* v) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
  return text ? std::string(text, static_cast<size_t>(sqlite3_value_bytes(v))) : std::string();
}

// "db.schema.name", "[dbo].[t]", "t": the parts without brackets or quotes, the object's name last.
std::vector<std::string> name_parts(const std::string& text) {
  std::vector<std::string> parts{""};
  char close = 0;
  for (char c : text) {
    if (close) {
      if (c == close) {
        close = 0;
      } else {
        parts.back() += c;
      }
    } else if (c == '[') {
      close = ']';
    } else if (c == '"') {
      close = '"';
    } else if (c == '.') {
      parts.emplace_back();
    } else if (c != ' ') {
      parts.back() += c;
    }
  }
  return parts;
}

struct Found {
  int64_t object_id;
  std::string name;
  std::string type;  // U, V, TR, PK, UQ, F
  const TableModel* table = nullptr;
};

std::vector<Found> all_objects(const SchemaModel& model) {
  std::vector<Found> out;
  for (const auto& t : model.tables) {
    out.push_back({t.object_id, t.name, t.view ? "V" : "U", &t});
    if (t.primary_key_object_id) out.push_back({*t.primary_key_object_id, t.indexes.front().name, "PK", &t});
    for (const auto& index : t.indexes) {
      if (index.unique_constraint) out.push_back({object_id_of("UQ", index.name), index.name, "UQ", &t});
    }
    for (const auto& fk : t.foreign_keys) out.push_back({fk.object_id, fk.name, "F", &t});
  }
  for (const auto& trigger : model.triggers) out.push_back({trigger.object_id, trigger.name, "TR", nullptr});
  return out;
}

// The SQLite schema a database part names, or nullopt when it is not the current database.
std::optional<std::string> schema_for(sqlite3_context* context, const std::vector<std::string>& parts) {
  if (!parts.back().empty() && parts.back()[0] == '#') {
    // #t and tempdb..#t: the session's temporary tables.
    if (parts.size() >= 3 && ascii_lower(parts[parts.size() - 3]) != "tempdb") return std::nullopt;
    std::string schema = temp_schema(parts.back());
    // Attached only once the session has named a temporary table (sql::Session); before that there is none.
    if (sqlite3_txn_state(sqlite3_context_db_handle(context), schema.c_str()) < 0) return std::nullopt;
    return schema;
  }
  if (parts.size() < 3 || parts[parts.size() - 3].empty()) return "main";
  const auto* source = static_cast<const CatalogSource*>(sqlite3_user_data(context));
  if (ascii_lower(parts[parts.size() - 3]) == ascii_lower(source->database_name("main"))) return "main";
  return std::nullopt;
}

void fn_object_id(sqlite3_context* context, int argc, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  std::vector<std::string> parts = name_parts(text_arg(argv[0]));
  if (parts.size() > 4 || parts.back().empty()) return sqlite3_result_null(context);
  if (parts.size() >= 2 && !parts[parts.size() - 2].empty() &&
      ascii_lower(parts[parts.size() - 2]) != "dbo") {
    return sqlite3_result_null(context);  // every object bakrest has is in dbo
  }
  auto schema = schema_for(context, parts);
  if (!schema) return sqlite3_result_null(context);
  std::string type =
      argc > 1 && sqlite3_value_type(argv[1]) != SQLITE_NULL ? ascii_upper(text_arg(argv[1])) : "";
  while (!type.empty() && type.back() == ' ') type.pop_back();
  try {
    SchemaModel model = read_schema(sqlite3_context_db_handle(context), *schema);
    for (const auto& o : all_objects(model)) {
      if (ascii_lower(o.name) == ascii_lower(parts.back()) && (type.empty() || type == o.type)) {
        return sqlite3_result_int64(context, o.object_id);
      }
    }
  } catch (const std::exception& e) {
    return sqlite3_result_error(context, e.what(), -1);
  }
  sqlite3_result_null(context);
}

// The object with an id in the current database, or nullopt.
std::optional<Found> find_by_id(sqlite3_context* context, int64_t id, SchemaModel& model) {
  model = read_schema(sqlite3_context_db_handle(context), "main");
  for (const auto& o : all_objects(model)) {
    if (o.object_id == id) return o;
  }
  return std::nullopt;
}

void fn_object_name(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  SchemaModel model;
  try {
    auto o = find_by_id(context, sqlite3_value_int64(argv[0]), model);
    if (!o) return sqlite3_result_null(context);
    sqlite3_result_text(context, o->name.c_str(), -1, SQLITE_TRANSIENT);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

void fn_object_schema_name(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  SchemaModel model;
  try {
    if (!find_by_id(context, sqlite3_value_int64(argv[0]), model)) return sqlite3_result_null(context);
    sqlite3_result_text(context, "dbo", -1, SQLITE_STATIC);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

void fn_objectproperty(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  SchemaModel model;
  try {
    auto o = find_by_id(context, sqlite3_value_int64(argv[0]), model);
    if (!o) return sqlite3_result_null(context);
    std::string p = ascii_lower(text_arg(argv[1]));
    auto yes = [&](bool b) { sqlite3_result_int64(context, b ? 1 : 0); };
    if (p == "isusertable" || p == "istable") return yes(o->type == "U");
    if (p == "isview") return yes(o->type == "V");
    if (p == "istrigger") return yes(o->type == "TR");
    if (p == "isprimarykey") return yes(o->type == "PK");
    if (p == "isforeignkey") return yes(o->type == "F");
    if (p == "isconstraint") return yes(o->type == "PK" || o->type == "F" || o->type == "UQ");
    if (p == "isprocedure" || p == "isscalarfunction" || p == "istablefunction" || p == "ismsshipped" ||
        p == "issystemtable") {
      return yes(false);
    }
    if (p == "ownerid" || p == "schemaid") return sqlite3_result_int64(context, 1);
    if (p == "tablehasprimarykey") return yes(o->table && o->table->primary_key_object_id.has_value());
    if (p == "tablehasidentity") {
      bool identity = false;
      if (o->table) {
        for (const auto& c : o->table->columns) identity = identity || c.identity;
      }
      return yes(identity);
    }
    sqlite3_result_null(context);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

const ColumnModel* column_of(const Found& o, sqlite3_value* column) {
  if (!o.table) return nullptr;
  for (const auto& c : o.table->columns) {
    if (sqlite3_value_type(column) == SQLITE_INTEGER ? c.column_id == sqlite3_value_int64(column)
                                                     : ascii_lower(c.name) == ascii_lower(text_arg(column))) {
      return &c;
    }
  }
  return nullptr;
}

void fn_col_name(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    return sqlite3_result_null(context);
  }
  SchemaModel model;
  try {
    auto o = find_by_id(context, sqlite3_value_int64(argv[0]), model);
    const ColumnModel* c = o ? column_of(*o, argv[1]) : nullptr;
    if (!c) return sqlite3_result_null(context);
    sqlite3_result_text(context, c->name.c_str(), -1, SQLITE_TRANSIENT);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

void fn_columnproperty(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  SchemaModel model;
  try {
    auto o = find_by_id(context, sqlite3_value_int64(argv[0]), model);
    const ColumnModel* c = o ? column_of(*o, argv[1]) : nullptr;
    if (!c) return sqlite3_result_null(context);
    std::string p = ascii_lower(text_arg(argv[2]));
    if (p == "isidentity") return sqlite3_result_int64(context, c->identity ? 1 : 0);
    if (p == "allowsnull") return sqlite3_result_int64(context, c->nullable ? 1 : 0);
    if (p == "columnid") return sqlite3_result_int64(context, c->column_id);
    if (p == "iscomputed" || p == "isrowguidcol" || p == "isfulltextindexed")
      return sqlite3_result_int64(context, 0);
    if (p == "precision") {
      bool sized = c->type.base == SqlType::Base::kChar || c->type.base == SqlType::Base::kVarChar ||
                   c->type.base == SqlType::Base::kBinary || c->type.base == SqlType::Base::kVarBinary;
      return sqlite3_result_int64(context, sized ? c->type.length : type_precision(c->type));
    }
    if (p == "scale") return sqlite3_result_int64(context, type_scale(c->type));
    sqlite3_result_null(context);
  } catch (const std::exception& e) {
    sqlite3_result_error(context, e.what(), -1);
  }
}

void fn_type_name(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  int64_t id = sqlite3_value_int64(argv[0]);
  for (const auto& t : builtin_types()) {
    if (t.user_id == id) return sqlite3_result_text(context, t.name, -1, SQLITE_STATIC);
  }
  sqlite3_result_null(context);
}

void fn_type_id(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  std::string name = ascii_lower(name_parts(text_arg(argv[0])).back());
  for (const auto& t : builtin_types()) {
    if (name == t.name) return sqlite3_result_int64(context, t.user_id);
  }
  sqlite3_result_null(context);
}

// IDENT_CURRENT('t'): the last identity value SQLite handed out for the table (sqlite_sequence).
void fn_ident_current(sqlite3_context* context, int, Args argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  std::string name = name_parts(text_arg(argv[0])).back();
  sqlite3* db = sqlite3_context_db_handle(context);
  sqlite3_stmt* stmt = nullptr;
  // sqlite_sequence exists only once a table with AUTOINCREMENT has been made.
  if (sqlite3_prepare_v2(db, "SELECT seq FROM main.sqlite_sequence WHERE name = ?1 COLLATE NOCASE", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite3_result_null(context);
  }
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    sqlite3_result_int64(context, sqlite3_column_int64(stmt, 0));
  } else {
    sqlite3_result_null(context);
  }
  sqlite3_finalize(stmt);
}

void define(sqlite3* db, const char* name, int args, void (*fn)(sqlite3_context*, int, Args),
            const void* data) {
  int rc = sqlite3_create_function_v2(db, name, args, SQLITE_UTF8, const_cast<void*>(data), fn, nullptr,
                                      nullptr, nullptr);
  if (rc != SQLITE_OK) throw sqlite::Error(rc, std::string("cannot define function ") + name);
}

}  // namespace

void install_functions(sqlite3* db, const CatalogSource& source) {
  const void* s = &source;
  define(db, "object_id", 1, fn_object_id, s);
  define(db, "object_id", 2, fn_object_id, s);
  define(db, "object_name", 1, fn_object_name, s);
  define(db, "object_name", 2, fn_object_name, s);
  define(db, "object_schema_name", 1, fn_object_schema_name, s);
  define(db, "object_schema_name", 2, fn_object_schema_name, s);
  define(db, "objectproperty", 2, fn_objectproperty, s);
  define(db, "col_name", 2, fn_col_name, s);
  define(db, "columnproperty", 3, fn_columnproperty, s);
  define(db, "type_name", 1, fn_type_name, s);
  define(db, "type_id", 1, fn_type_id, s);
  define(db, "ident_current", 1, fn_ident_current, s);
}

}  // namespace bakrest::catalog
