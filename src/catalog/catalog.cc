#include "catalog/catalog.h"

#include <memory>
#include <string>

#include "catalog/view_sets.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite.h"
#include "common/text.h"

namespace bakrest::catalog {
namespace {

std::string table_name(const ViewDefinition& view) {
  return "bakrest_" + ascii_lower(view.schema) + "_" + ascii_lower(view.name);
}

// What a module registration carries: the view and the session that reads it.
struct ModuleData {
  const ViewDefinition* view;
  const CatalogSource* source;
};

struct Table : sqlite3_vtab {
  const ModuleData* data = nullptr;
  sqlite3* db = nullptr;
};

struct Cursor : sqlite3_vtab_cursor {
  std::vector<Row> rows;
  size_t at = 0;
  std::string schema;
};

// The hidden argument column comes after the view's own columns.
int hidden_column(const ViewDefinition& view) { return static_cast<int>(view.columns.size()); }

int connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char** error) {
  const auto* data = static_cast<const ModuleData*>(aux);
  std::string ddl = "CREATE TABLE x(";
  for (const ViewColumn& column : data->view->columns) {
    // SQLite reads no (MAX); a bare NVARCHAR is how bakrest declares one (sql/result_types.cc reads it back).
    std::string type = column.type;
    if (auto at = type.find("(MAX)"); at != std::string::npos) type.erase(at);
    ddl += "\"" + column.name + "\" " + type + ", ";
  }
  ddl += "schema_name HIDDEN TEXT)";
  int rc = sqlite3_declare_vtab(db, ddl.c_str());
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("catalog view %s: %s", data->view->name.c_str(), sqlite3_errmsg(db));
    return rc;
  }
  auto table = std::make_unique<Table>();
  table->data = data;
  table->db = db;
  *out = table.release();
  return SQLITE_OK;
}

int disconnect(sqlite3_vtab* table) {
  delete static_cast<Table*>(table);  // made by connect() with make_unique and released to SQLite
  return SQLITE_OK;
}

int best_index(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  const auto* table = static_cast<Table*>(vtab);
  int hidden = hidden_column(*table->data->view);
  info->idxNum = 0;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn != hidden || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c.usable) return SQLITE_CONSTRAINT;  // the argument must be known before the view is read
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    info->idxNum = 1;
  }
  info->estimatedCost = 1000;
  return SQLITE_OK;
}

int open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  *out = std::make_unique<Cursor>().release();
  return SQLITE_OK;
}

int close(sqlite3_vtab_cursor* cursor) {
  delete static_cast<Cursor*>(cursor);  // made by open() with make_unique
  return SQLITE_OK;
}

int filter(sqlite3_vtab_cursor* base, int index, const char*, int argc, sqlite3_value** argv) {
  auto* cursor = static_cast<Cursor*>(base);
  const auto* table = static_cast<Table*>(base->pVtab);
  cursor->schema = "main";
  if (index == 1 && argc >= 1 && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    cursor->schema = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  }
  cursor->at = 0;
  try {
    ViewContext context{table->db, cursor->schema, table->data->source};
    cursor->rows = table->data->view->rows(context);
  } catch (const std::exception& e) {
    sqlite3_free(base->pVtab->zErrMsg);
    base->pVtab->zErrMsg = sqlite3_mprintf("%s", e.what());
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

int next(sqlite3_vtab_cursor* base) {
  ++static_cast<Cursor*>(base)->at;
  return SQLITE_OK;
}

int eof(sqlite3_vtab_cursor* base) {
  auto* cursor = static_cast<Cursor*>(base);
  return cursor->at >= cursor->rows.size();
}

int column(sqlite3_vtab_cursor* base, sqlite3_context* context, int index) {
  auto* cursor = static_cast<Cursor*>(base);
  const Row& row = cursor->rows[cursor->at];
  if (index == hidden_column(*static_cast<Table*>(base->pVtab)->data->view)) {
    sqlite3_result_text(context, cursor->schema.c_str(), -1, SQLITE_TRANSIENT);
  } else if (index >= 0 && static_cast<size_t>(index) < row.size()) {
    sqlite::result_value(context, row[static_cast<size_t>(index)]);
  } else {
    sqlite3_result_null(context);
  }
  return SQLITE_OK;
}

int rowid(sqlite3_vtab_cursor* base, sqlite3_int64* out) {
  *out = static_cast<sqlite3_int64>(static_cast<Cursor*>(base)->at);
  return SQLITE_OK;
}

const sqlite3_module kModule = [] {
  sqlite3_module m{};
  m.iVersion = 1;
  m.xCreate = nullptr;  // eponymous only: the view exists by its name, no CREATE VIRTUAL TABLE
  m.xConnect = connect;
  m.xBestIndex = best_index;
  m.xDisconnect = disconnect;
  m.xDestroy = disconnect;
  m.xOpen = open;
  m.xClose = close;
  m.xFilter = filter;
  m.xNext = next;
  m.xEof = eof;
  m.xColumn = column;
  m.xRowid = rowid;
  return m;
}();

std::vector<ViewDefinition> all_views() {
  std::vector<ViewDefinition> out;
  add_session_views(out);
  add_object_views(out);
  add_information_schema_views(out);
  return out;
}

}  // namespace

const std::vector<ViewDefinition>& views() {
  static const std::vector<ViewDefinition> all = all_views();
  return all;
}

void install(sqlite3* db, const CatalogSource& source) {
  for (const ViewDefinition& view : views()) {
    auto data = std::make_unique<ModuleData>(ModuleData{&view, &source});
    int rc = sqlite3_create_module_v2(db, table_name(view).c_str(), &kModule, data.get(),
                                      [](void* p) { delete static_cast<ModuleData*>(p); });
    // SQLite owns the data from here, also when registering failed (it calls the destructor then).
    data.release();
    if (rc != SQLITE_OK) throw sqlite::Error(rc, "catalog view " + view.name + ": " + sqlite3_errmsg(db));
  }
  install_functions(db, source);
}

std::optional<std::string> view_table(std::string_view schema, std::string_view name) {
  for (const ViewDefinition& view : views()) {
    if (ascii_lower(std::string(schema)) == ascii_lower(view.schema) &&
        ascii_lower(std::string(name)) == ascii_lower(view.name)) {
      return table_name(view);
    }
  }
  return std::nullopt;
}

std::string temp_schema(std::string_view table) {
  // A single quote is in no database's name (engine/database_name.cc).
  return table.rfind("##", 0) == 0 ? "'global_temp" : "'temp";
}

bool is_catalog_schema(std::string_view schema) {
  std::string s = ascii_lower(std::string(schema));
  return s == "sys" || s == "information_schema";
}

}  // namespace bakrest::catalog
