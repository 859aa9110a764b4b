// Where statement results go. The TDS server implements it by encoding tokens; tests implement it to
// collect results. One sink serves one request (batch or RPC) and is used from one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/value.h"

namespace bakrest {

class ResultSink {
 public:
  virtual ~ResultSink() = default;

  // A result set: columns() once, then row() for each row, then done(row_count).
  virtual void columns(const std::vector<Column>& columns) = 0;
  virtual void row(const std::vector<Value>& values) = 0;

  // Ends one statement. rows: the row count to report (rows returned or affected), or nullopt.
  // A statement that failed calls message() with the error before done().
  virtual void done(std::optional<uint64_t> rows) = 0;

  // INFO (severity <= 10: PRINT, progress) or ERROR (severity >= 11).
  virtual void message(const Message& message) = 0;

  // USE changed the session's database.
  virtual void database_changed(const std::string& from, const std::string& to) = 0;

  // A stored procedure starts; statements inside it end with "done in procedure" until procedure_done().
  virtual void procedure_started() = 0;
  virtual void procedure_done(int32_t return_status) = 0;

  // The value of an OUTPUT parameter of the RPC call being answered, typed like a result column. `ordinal` is
  // the parameter's position in the call. Sinks that answer no RPC ignore it.
  virtual void return_value(uint16_t /*ordinal*/, std::string_view /*name*/, const Column& /*column*/,
                            const Value& /*value*/) {}

  // Sends what the reply holds so far now, rather than when a packet fills (RAISERROR ... WITH NOWAIT).
  virtual void flush() {}

  // True once the client sent ATTENTION: stop at the next row or statement boundary.
  virtual bool attention() const = 0;
};

}  // namespace bakrest
