// The catalog's views, grouped by what they describe. Internal to catalog/.
#pragma once

#include <vector>

#include "catalog/catalog.h"

namespace bakrest::catalog {

// sys.dm_exec_sessions, sys.dm_exec_connections (session_views.cc).
void add_session_views(std::vector<ViewDefinition>& out);
// sys.schemas, sys.objects, sys.tables, sys.columns, sys.types, sys.indexes, ... (object_views.cc).
void add_object_views(std::vector<ViewDefinition>& out);
// INFORMATION_SCHEMA.TABLES, COLUMNS, ... (information_schema.cc).
void add_information_schema_views(std::vector<ViewDefinition>& out);

// OBJECT_ID, OBJECT_NAME, COLUMNPROPERTY, TYPE_NAME, ... (functions.cc).
void install_functions(sqlite3* db, const CatalogSource& source);

// The built-in types as sys.types lists them.
struct BuiltinType {
  const char* name;
  int id;       // system_type_id
  int user_id;  // user_type_id
  int max_length;
  int precision;
  int scale;
  bool collated;
};
const std::vector<BuiltinType>& builtin_types();

}  // namespace bakrest::catalog
