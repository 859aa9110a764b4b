// A stored procedure call, from a T-SQL EXEC or from a TDS RPC request.
#pragma once

#include <string>
#include <vector>

#include "common/value.h"

namespace bakrest {

struct ProcArg {
  std::string name;  // with the leading '@' as the client wrote it; empty for positional arguments
  Value value;
  bool output = false;
};

struct ProcCall {
  std::string name;  // as written: may be bracketed and one to three parts, e.g. "msdb.dbo.rds_task_status"
  std::vector<ProcArg> args;
};

}  // namespace bakrest
