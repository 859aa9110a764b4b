// SQL Server's catalog views on a session's SQLite connection (docs/COMPATIBILITY.md, "Catalog views").
//
// Each view is an eponymous SQLite virtual table ("bakrest_sys_tables" for sys.tables) whose columns carry
// SQL Server's names and declared types, so that drivers' metadata calls and ORMs' reflection read what they
// read from SQL Server, with SQL Server's types on the wire. A view over a database's objects reads the
// schema of the database it is asked about: the connection's main database, or an attached one named by the
// hidden `schema_name` argument (bakrest_sys_tables('otherdb') reads the attachment "otherdb").
//
// Rows are computed when a statement reads the view, from the database's own schema (sqlite_schema and
// SQLite's table-valued pragmas) and the instance's session directory: nothing is cached, so a view never
// disagrees with the schema it describes.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/session_directory.h"
#include "common/value.h"

namespace bakrest::catalog {

// What the views need from the session that reads them. Implemented by the session; it must outlive every
// connection install() was called on.
class CatalogSource {
 public:
  virtual ~CatalogSource() = default;
  virtual std::vector<SessionRow> sessions() const = 0;
  // The database an SQLite schema of the connection holds ("main" is the session's current database);
  // its name and database_id.
  virtual std::string database_name(const std::string& sqlite_schema) const = 0;
  virtual int64_t database_id(const std::string& sqlite_schema) const = 0;
  // When the database was created (microseconds since 1970): create_date of its objects, which SQLite does
  // not record.
  virtual int64_t database_created(const std::string& sqlite_schema) const = 0;
  // Every database of the instance, and the stored procedures of the current one.
  virtual std::vector<std::string> database_names() const = 0;
  virtual std::vector<std::string> procedure_names() const = 0;
};

// The columns of one view, in order.
struct ViewColumn {
  std::string name;
  std::string
      type;  // SQL Server's type as a column declaration spells it: "INT", "NVARCHAR(128)", "DATETIME"
};

// What a view's row generator reads.
struct ViewContext {
  sqlite3* db = nullptr;
  std::string schema;  // the SQLite schema to describe: "main" or an attachment
  const CatalogSource* source = nullptr;
};

using Row = std::vector<Value>;

struct ViewDefinition {
  std::string schema;  // "sys", "INFORMATION_SCHEMA"
  std::string name;    // "tables"
  std::vector<ViewColumn> columns;
  // The rows, each with one value per column (BIT as 0/1, DATETIME as DateTime). Throws sqlite::Error or
  // SqlError when the schema can't be read.
  std::function<std::vector<Row>(const ViewContext&)> rows;
};

// Every view bakrest implements.
const std::vector<ViewDefinition>& views();

// Registers every view on a session's connection. Throws sqlite::Error.
void install(sqlite3* db, const CatalogSource& source);

// The virtual table a T-SQL view name resolves to ("sys", "tables" -> "bakrest_sys_tables"; names compared
// without regard to case), or nullopt when bakrest has no such view.
std::optional<std::string> view_table(std::string_view schema, std::string_view name);

// The SQLite schema a #temporary table lives in ("'temp", the session's own database in memory) or a ##global
// one ("'global_temp", shared by every session): names no attachment of a database can have.
std::string temp_schema(std::string_view table);

// Whether bakrest knows the schema name as one of the catalog's ("sys", "INFORMATION_SCHEMA").
bool is_catalog_schema(std::string_view schema);

}  // namespace bakrest::catalog
