// Prepared statements for drivers that run parameterized SQL through sp_prepare, sp_prepexec,
// sp_execute and sp_unprepare (FreeTDS ODBC does, by ProcID). The session keeps each prepared text and
// turns every execution into an sp_executesql call, so request handlers only ever see sp_executesql.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/proc_call.h"

namespace bakrest::server {

class PreparedStatements {
 public:
  // What the session should do for one call.
  struct Plan {
    // The sp_executesql call to run: statement text, parameter declarations (when given), then the
    // values, all as the client passed them.
    std::optional<ProcCall> execute;
    // A newly prepared handle, to return in the call's first (output) parameter.
    std::optional<int32_t> new_handle;
    std::string handle_parameter;  // that parameter's name as the client wrote it
  };

  // True for "sp_prepare", "sp_prepexec", "sp_execute" and "sp_unprepare".
  static bool is_prepared_procedure(std::string_view name);

  // Throws SqlError when the arguments do not fit the procedure or name an unknown handle.
  Plan plan(const ProcCall& call);

  size_t size() const { return statements_.size(); }

 private:
  struct Statement {
    Value parameters;  // the declarations ("@P1 int, ..."), NULL when there are none
    Value text;
  };

  int32_t prepare(const ProcCall& call);
  const Statement& find(const ProcCall& call) const;
  static ProcCall executesql(const Statement& statement, const ProcCall& call, size_t first_value);

  std::map<int32_t, Statement> statements_;
  int32_t next_handle_ = 1;
};

}  // namespace bakrest::server
