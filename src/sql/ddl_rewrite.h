// Column definition rewrites from T-SQL types and options to their SQLite spelling. Internal to sql/.
#pragma once

#include <vector>

#include "sql/parser.h"

namespace bakrest::sql {

// NVARCHAR(MAX) / VARCHAR(MAX) / VARBINARY(MAX) -> the bare type name; INT IDENTITY[(1,1)] ... PRIMARY KEY ->
// INTEGER PRIMARY KEY AUTOINCREMENT; CLUSTERED / NONCLUSTERED dropped from keys and indexes. Throws
// SqlError for IDENTITY forms SQLite cannot express.
std::vector<Token> rewrite_ddl(const std::vector<Token>& tokens);

}  // namespace bakrest::sql
