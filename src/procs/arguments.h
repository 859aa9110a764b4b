// Binding a procedure call's arguments to its declared parameters, with SQL Server's own errors for
// unknown, missing, surplus or mistyped arguments.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/proc_call.h"

namespace bakrest::procs {

enum class ParamType { kString, kInt };

struct ParamSpec {
  const char* name;  // with '@'
  ParamType type;
  bool required = false;
};

class Arguments {
 public:
  // Throws SqlError 8145 (unknown name), 8144 (too many), 201 (required missing), 8114 (conversion).
  Arguments(const std::string& procedure, const std::vector<ParamSpec>& specs, const ProcCall& call);

  // nullopt when not given or NULL.
  std::optional<std::string> string(const char* name) const;
  std::optional<int64_t> integer(const char* name) const;
  bool given(const char* name) const;  // given and not NULL

 private:
  std::map<std::string, Value> values_;  // lower-case name -> value, converted to the declared type
};

}  // namespace bakrest::procs
