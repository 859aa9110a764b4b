// One database's objects as SQL Server's catalog describes them, read from SQLite's own schema: tables and
// views with their columns and SQL Server types, indexes (a table's primary key is its clustered index, as
// SQL Server makes it), foreign keys and triggers. Internal to catalog/.
//
// Object ids are stable: a hash of the object's kind and name (lower-cased), so OBJECT_ID('t') agrees with
// sys.objects in every session and across restarts. Types come from the declared type of each column, read
// as T-SQL reads it (bakrest writes NVARCHAR(MAX) columns as a bare NVARCHAR, and IDENTITY as SQLite's
// INTEGER PRIMARY KEY AUTOINCREMENT).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql_type.h"

namespace bakrest::catalog {

struct ColumnModel {
  int column_id = 0;  // 1-based
  std::string name;
  std::string declared;  // as SQLite keeps it
  SqlType type;          // as SQL Server would have it
  bool nullable = true;
  bool identity = false;
  std::optional<std::string> default_value;  // SQLite's text of the DEFAULT expression
  int primary_key_ordinal = 0;               // 1-based position in the primary key, 0 if not in it
};

struct IndexModel {
  std::string name;
  int index_id = 0;  // 1: the clustered primary key; 2 and up: the others
  bool unique = false;
  bool primary_key = false;
  bool unique_constraint = false;                 // from UNIQUE in the table's definition
  std::vector<std::pair<int, bool>> key_columns;  // column_id, descending
  std::string filter;                             // a partial index's WHERE, without the keyword
};

struct ForeignKeyModel {
  std::string name;
  int64_t object_id = 0;
  std::string referenced_table;
  std::vector<std::pair<int, int>> columns;  // column_id here, column_id in the referenced table
  std::string on_update = "NO ACTION";
  std::string on_delete = "NO ACTION";
};

struct TableModel {
  std::string name;
  int64_t object_id = 0;
  bool view = false;
  std::string sql;  // the CREATE statement
  std::vector<ColumnModel> columns;
  std::vector<IndexModel> indexes;
  std::vector<ForeignKeyModel> foreign_keys;
  std::optional<int64_t> primary_key_object_id;  // the PK constraint's own object id
};

struct TriggerModel {
  std::string name;
  int64_t object_id = 0;
  int64_t parent_object_id = 0;
};

struct SchemaModel {
  std::vector<TableModel> tables;  // tables and views, by name
  std::vector<TriggerModel> triggers;
  const TableModel* find(std::string_view name) const;  // without regard to case
};

// Reads the schema of the SQLite schema `schema` ("main" or an attachment). Throws sqlite::Error.
SchemaModel read_schema(sqlite3* db, const std::string& schema);

// The object id of an object of a kind ("U" table, "V" view, "TR", "PK", "F", "UQ") by name.
int64_t object_id_of(std::string_view kind, std::string_view name);

// SQL Server's type ids and sizes: system_type_id (56 for int, 231 for nvarchar, ...), and the max_length
// sys.columns shows (bytes; -1 for (MAX)).
int system_type_id(const SqlType& type);
int max_length_bytes(const SqlType& type);
int type_precision(const SqlType& type);
int type_scale(const SqlType& type);

}  // namespace bakrest::catalog
