// The select list of a query as SQL Server describes its result: which columns have names, and the type of
// the columns whose type T-SQL fixes (CAST, CONVERT, GETDATE(), a variable, a literal, ...) where SQLite's
// result carries none. Internal to sql/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sql/parser.h"

namespace bakrest::sql {

struct SelectColumn {
  bool named = true;  // false: an expression without an alias, which SQL Server sends with an empty name
  std::string type;   // the T-SQL type the expression has, e.g. "date", "decimal(3,2)"; empty when unknown
};

struct SelectList {
  std::vector<Token>
      tokens;  // the statement, with T-SQL's "alias = expression" items as "expression AS alias"
  // One entry per result column of the outermost SELECT, when the statement is a query whose list can be read
  // item by item (no '*'); nullopt otherwise.
  std::optional<std::vector<SelectColumn>> columns;
};

// Reads a statement that starts with SELECT (or WITH ... SELECT); other statements come back unchanged
// without columns. variable_types: the declared types of the batch's variables, by lower-case name.
SelectList read_select_list(const std::vector<Token>& tokens,
                            const std::map<std::string, std::string>& variable_types);

}  // namespace bakrest::sql
