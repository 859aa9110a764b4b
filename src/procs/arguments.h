// Binding a procedure call's arguments to its declared parameters, with SQL Server's own errors for
// unknown, missing, surplus or mistyped arguments.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/proc_call.h"

namespace bakrest::procs {

// kDateTime takes a date and time value, or text in one of the forms parse_sql_datetime() reads.
enum class ParamType { kString, kInt, kDateTime };

struct ParamSpec {
  const char* name;  // with '@'
  ParamType type;
  bool required = false;
};

class Arguments {
 public:
  // Throws SqlError 8145 (unknown name), 8144 (too many), 201 (required missing), 8114 (conversion), 241
  // (text that is no date and time, for kDateTime).
  Arguments(const std::string& procedure, const std::vector<ParamSpec>& specs, const ProcCall& call);

  // nullopt when not given or NULL.
  std::optional<std::string> string(const char* name) const;
  std::optional<int64_t> integer(const char* name) const;
  // Microseconds since 1970-01-01 00:00 of the wall-clock time given (no time zone is applied).
  std::optional<int64_t> datetime(const char* name) const;
  bool given(const char* name) const;  // given and not NULL

 private:
  std::map<std::string, Value> values_;  // lower-case name -> value, converted to the declared type
};

// Text as SQL Server converts it to DATETIME with the default us_english settings: a date "yyyy-mm-dd",
// "yyyymmdd" or "mm/dd/yyyy" (or yy), optionally followed by a time "hh:mi[:ss[.fff]]" with AM or PM
// optional (after a blank, or after 'T' for yyyy-mm-dd); leading and trailing blanks are ignored. Returns
// microseconds since 1970-01-01 00:00 of that wall-clock time, or nullopt if the text is not such a date and
// time or falls outside DATETIME's years 1753..9999.
std::optional<int64_t> parse_sql_datetime(std::string_view text);

}  // namespace bakrest::procs
