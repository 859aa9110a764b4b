// The rows of one bulk load as the client sends them, read one at a time so that a large load never sits in
// memory twice. The TDS server decodes them from a BULK_LOAD message (server/bulk_load.h); the SQL session
// inserts them into the table its INSERT BULK named (sql/bulk_insert.cc).
#pragma once

#include <vector>

#include "common/value.h"

namespace bakrest {

class BulkRows {
 public:
  virtual ~BulkRows() = default;

  // The columns as the client describes them, in the order of each row's values. Empty when the client sent
  // no column description (a load of no rows).
  virtual const std::vector<Column>& columns() const = 0;

  // Reads the next row into `row` (one value per column; NULL as std::monostate; text as UTF-8, binary as
  // Bytes, numbers as int64_t, double or exact decimal text, dates as DateTime or text, see
  // server/bulk_load.h). Returns false after the last row. Throws when the client's data is malformed; rows
  // read before stay valid, and the caller decides whether they count.
  virtual bool next(std::vector<Value>& row) = 0;

  // The caller reads no more rows: what the client still sends of this load is read and dropped, and this
  // returns once it has all arrived, so that the reply, which the caller sends next, answers the whole load.
  // Rows held in memory have nothing to wait for.
  virtual void discard_rest() {}
};

}  // namespace bakrest
