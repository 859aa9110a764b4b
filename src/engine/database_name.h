// Database name rules shared by CREATE DATABASE and the restore procedures.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bakrest::engine {

// Why name is not a valid database name (RDS and SQL Server rules), or nullopt if it is valid.
std::optional<std::string> database_name_problem(std::string_view name);

// The name folded for comparison: names that differ only by case or by Latin accents are the same
// database, as on SQL Server with a case- and accent-insensitive collation.
std::string database_name_key(std::string_view name);

}  // namespace bakrest::engine
