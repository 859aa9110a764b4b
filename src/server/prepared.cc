#include "server/prepared.h"

#include <fmt/format.h>

#include "common/error.h"
#include "server/value_convert.h"

namespace bakrest::server {
namespace {

constexpr size_t kMaxStatements = 10000;  // per session; a leaking client gets an error, not our memory

SqlError missing_parameter(const ProcCall& call, const char* parameter) {
  return SqlError(201, 16,
                  fmt::format("Procedure or function '{}' expects parameter '{}', which was not supplied.",
                              call.name, parameter),
                  4);
}

}  // namespace

bool PreparedStatements::is_prepared_procedure(std::string_view name) {
  return name == "sp_prepare" || name == "sp_prepexec" || name == "sp_execute" || name == "sp_unprepare";
}

PreparedStatements::Plan PreparedStatements::plan(const ProcCall& call) {
  Plan plan;
  if (call.name == "sp_prepare" || call.name == "sp_prepexec") {
    plan.new_handle = prepare(call);
    plan.handle_parameter = call.args[0].name;
    if (call.name == "sp_prepexec") plan.execute = executesql(statements_.at(*plan.new_handle), call, 3);
  } else if (call.name == "sp_execute") {
    plan.execute = executesql(find(call), call, 1);
  } else if (call.name == "sp_unprepare") {
    find(call);
    statements_.erase(static_cast<int32_t>(*value_to_int(call.args[0].value, INT32_MIN, INT32_MAX)));
  } else {
    throw SqlError(2812, 16, fmt::format("Could not find stored procedure '{}'.", call.name), 62);
  }
  return plan;
}

int32_t PreparedStatements::prepare(const ProcCall& call) {
  if (call.args.size() < 3) throw missing_parameter(call, call.args.size() < 2 ? "@params" : "@stmt");
  if (statements_.size() >= kMaxStatements) {
    throw SqlError(50000, 16,
                   fmt::format("Too many prepared statements in this session ({}); unprepare some first.",
                               kMaxStatements));
  }
  int32_t handle = next_handle_++;
  statements_[handle] = Statement{call.args[1].value, call.args[2].value};
  return handle;
}

const PreparedStatements::Statement& PreparedStatements::find(const ProcCall& call) const {
  if (call.args.empty()) throw missing_parameter(call, "@handle");
  auto handle = value_to_int(call.args[0].value, INT32_MIN, INT32_MAX);
  auto it = handle ? statements_.find(static_cast<int32_t>(*handle)) : statements_.end();
  if (it == statements_.end()) {
    throw SqlError(8179, 16,
                   fmt::format("Could not find prepared statement with handle {}.",
                               handle ? std::to_string(*handle) : std::string("NULL")),
                   4);
  }
  return it->second;
}

ProcCall PreparedStatements::executesql(const Statement& statement, const ProcCall& call,
                                        size_t first_value) {
  ProcCall out{"sp_executesql", {}};
  out.args.push_back(ProcArg{"", statement.text, false});
  if (!is_null(statement.parameters)) out.args.push_back(ProcArg{"", statement.parameters, false});
  for (size_t i = first_value; i < call.args.size(); ++i) out.args.push_back(call.args[i]);
  return out;
}

}  // namespace bakrest::server
