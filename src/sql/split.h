// Statement boundaries in a T-SQL batch. Internal to sql/; parse_batch() is the public entry point.
#pragma once

#include <string_view>
#include <vector>

#include "sql/parser.h"

namespace bakrest::sql {

struct SplitStatement {
  std::vector<Token> tokens;
  // A control-of-flow marker: BEGIN or END of a block, BEGIN TRY, END TRY, BEGIN CATCH, END CATCH, ELSE.
  // (A BEGIN that is not a marker is SQLite's BEGIN [TRANSACTION].)
  bool control = false;
};

// Splits tokenize(batch) into statements, in order, without the ';' and GO separators. T-SQL needs no ';'
// between statements, so a statement also ends where a keyword starts a new one (see split.cc).
std::vector<SplitStatement> split_statements(std::string_view batch, const std::vector<Token>& tokens);

}  // namespace bakrest::sql
