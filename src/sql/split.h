// Statement boundaries in a T-SQL batch. Internal to sql/; parse_batch() is the public entry point.
#pragma once

#include <string_view>
#include <vector>

#include "sql/parser.h"

namespace bakrest::sql {

// Splits tokenize(batch) into statements, in order, without the ';' and GO separators. T-SQL needs no ';'
// between statements, so a statement also ends where a keyword starts a new one (see split.cc).
std::vector<std::vector<Token>> split_statements(std::string_view batch, const std::vector<Token>& tokens);

}  // namespace bakrest::sql
