// The catalog's stored procedures, which ODBC and JDBC drivers call for their metadata functions
// (SQLTables, SQLColumns, DatabaseMetaData.getTables, ...): sp_tables, sp_columns, sp_pkeys, sp_fkeys,
// sp_statistics, sp_special_columns, sp_stored_procedures, sp_datatype_info and sp_datatype_info_100, with
// SQL Server's parameters and result sets in their ODBC 3 layout, which drivers read by position.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/proc_call.h"
#include "common/result_sink.h"

namespace bakrest::catalog {

// Whether name (as written: "sp_tables", "[db]..sp_columns", "sys.sp_pkeys") is one of these procedures.
bool is_catalog_procedure(const std::string& name);

// Runs one on the connection's current database (main), writing its result set to sink. Throws SqlError for a
// parameter it does not know or a value of the wrong kind. Does not call sink.procedure_started() or done().
void run_catalog_procedure(sqlite3* db, const ProcCall& call, const CatalogSource& source, ResultSink& sink);

}  // namespace bakrest::catalog
