// BULK_LOAD messages (packet type 0x07, MS-TDS 2.2.6.1 "Bulk Load BCP"): the rows a client sends after an
// INSERT BULK batch, as tedious (node mssql's request.bulk()), FreeTDS bcp and SqlBulkCopy send them.
//
// The payload (no ALL_HEADERS) is a token stream:
//
//   COLMETADATA (0x81)  u16 column count (1..4096), then per column: UserType (u32; u16 before TDS 7.2),
//                       Flags (u16), TYPE_INFO, for TEXT/NTEXT/IMAGE the table name (US_VARCHAR, as clients
//                       send it), and the column name (B_VARCHAR)
//   ROW (0xD1) ...      one value per column, laid out as its TYPE_INFO says
//   DONE (0xFD)         status, command, row count (u32; u64 from TDS 7.2); ignored. May be missing (FreeTDS
//                       ends the stream after the last row); nothing may follow it.
//
// A payload of a DONE alone (tedious's load of no rows) has no columns and no rows.
//
// TYPE_INFOs taken, and what each column and value becomes (Column from common/value.h; values as
// BulkRows::next() returns them):
//
//   INT1 INT2 INT4 INT8, INTN(1|2|4|8)       kTinyInt..kBigInt     int64_t (TINYINT unsigned)
//   BIT, BITN(1)                             kBit                  bool
//   FLT4 FLT8, FLTN(4|8)                     kReal, kFloat         double
//   MONEY4 MONEY, MONEYN(4|8)                kSmallMoney, kMoney   double when exact in 15 digits, else the
//                                                                  exact decimal text
//                                                                  ("-922337203685477.5808")
//   DECIMALN NUMERICN(max, precision 1..38,  kDecimal             int64_t when the scale is 0 and it fits,
//     scale <= precision)                                          else as MONEY
//   DATETIM4 DATETIME, DATETIMN(4|8)         kSmallDateTime,       DateTime
//                                            kDateTime
//   DATEN                                    kDate                 DateTime (midnight)
//   TIMEN(scale 0..7)                        kTime                 "HH:MM:SS.fffffff" (always 7 digits)
//   DATETIME2N(scale)                        kDateTime2            "YYYY-MM-DD HH:MM:SS.fffffff"
//   DATETIMEOFFSETN(scale)                   kDateTimeOffset       "YYYY-MM-DD HH:MM:SS.fffffff +HH:MM", the
//                                                                  local time at its offset
//   GUID(16)                                 kUniqueIdentifier     "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"
//   NVARCHAR NCHAR(bytes, collation)         kNVarChar(chars)      UTF-8 text from UTF-16LE
//   BIGVARCHAR BIGCHAR(bytes, collation)     kNVarChar(bytes)      UTF-8 text from code page 1252, or the
//                                            (kNVarCharMax > 4000) bytes as they are under a UTF-8 collation
//                                                                  (invalid sequences become U+FFFD)
//   BIGVARBINARY BIGBINARY(bytes)            kVarBinary(bytes)     Bytes
//   NVARCHAR BIGVARCHAR BIGVARBINARY(MAX)    kNVarCharMax,         the same, sent as PLP: u64 total length
//                                            kVarBinaryMax         (or "unknown"), u32-length chunks, a
//                                                                  zero-length chunk last
//   TEXT NTEXT IMAGE                         kNVarCharMax,         the same; each value is a text pointer
//                                            kVarBinaryMax         (B_VARBYTE, empty = NULL), an 8-byte
//                                                                  timestamp, a u32 length and the data
//
// NULL is a zero length for the N types, DATE/TIME types and DECIMALN, 0xFFFF for the (non-MAX) character and
// binary types, the all-ones PLP length for MAX types, and an empty text pointer for TEXT/NTEXT/IMAGE; the
// fixed-length types cannot be NULL.
//
// Everything is hostile input. A type bakrest does not take (the legacy DECIMAL/NUMERIC, short VARCHAR/
// VARBINARY, XML, UDT, SQL_VARIANT, unknown codes) is SqlError 4816 ("Invalid column type from bcp client for
// colid N."). Anything else malformed is ProtocolError naming the column and what is wrong: lengths that run
// past the payload or past the column's declared length, value lengths a type does not have, a PLP value
// whose chunks do not add up to its stated length, dates, times, offsets and decimals out of range, odd
// UTF-16 byte counts, tokens other than ROW or DONE after COLMETADATA, bytes after DONE. Nothing is read past
// the payload, every length is checked before it is used, and sizes add up in 64 bits.
//
// The payload is read as it arrives (PayloadReader over the session's MessageStream), so a load of any size
// holds one packet and one row at a time. What a row holds is bounded instead (BulkRowLimits): each length is
// checked against what the row may still hold before anything is allocated for it, and a row over the limit,
// or one the request budget has no room for, is SqlError 701. COLMETADATA holds at most the column names: the
// table names TEXT, NTEXT and IMAGE columns carry are skipped.
#pragma once

#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "common/bulk_rows.h"
#include "common/value.h"
#include "server/bytes.h"
#include "server/message_stream.h"
#include "server/payload_reader.h"
#include "server/request_budget.h"
#include "server/tds_version.h"

namespace bakrest::server {

// What one row of a streamed load may hold in memory: the bytes of its values that come with a length
// (character, binary and PLP values, the nullable N types) together; fixed-length values are small and not
// counted.
struct BulkRowLimits {
  // Rows up to this many bytes draw on no budget: the session's own allowance covers them.
  static constexpr uint64_t kUnaccounted = 64 * 1024;

  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  // Rows over kUnaccounted reserve their bytes on this account without waiting (try_grow); null: they don't.
  std::shared_ptr<RequestBudget::Account> account;
};

// How one column's values are laid out in ROW tokens, as its TYPE_INFO said.
struct BulkWireType {
  uint8_t code = 0;       // the TDS type code (0x26 INTN, 0xE7 NVARCHAR, ...)
  uint32_t length = 0;    // the TYPE_INFO's length: bytes of the fixed or N type, or the maximum
  uint8_t precision = 0;  // DECIMALN, NUMERICN
  uint8_t scale = 0;      // DECIMALN, NUMERICN; TIMEN, DATETIME2N, DATETIMEOFFSETN
  bool plp = false;       // a MAX type, sent as PLP
  bool utf8 = false;      // a character type whose collation says UTF-8
};

// Reads one BULK_LOAD payload.
class BulkLoadReader final : public BulkRows {
 public:
  // Reads the COLMETADATA (if the payload starts with one). Does not throw: a COLMETADATA that is malformed
  // (ProtocolError) or has a type bakrest does not take (SqlError 4816) is thrown by columns() and next(), so
  // that the session still sees the load and uses up its INSERT BULK; so is a stream's MessageAbandoned.
  //
  // A payload in memory whole, which must outlive the reader; a row may hold as much as the payload.
  BulkLoadReader(std::span<const uint8_t> payload, TdsVersion version);
  // The payload of a message arriving through stream, which must outlive the reader. Reading blocks until the
  // bytes it needs arrive.
  BulkLoadReader(MessageStream& stream, TdsVersion version, BulkRowLimits limits);

  const std::vector<Column>& columns() const override;
  const std::vector<BulkWireType>& wire_types() const;

  // The next ROW's values; false at the DONE or the end of the payload. Throws ProtocolError, SqlError 701
  // for a row over its limits, and a stream's MessageAbandoned.
  bool next(std::vector<Value>& row) override;
  // Drops the rest of a stream's message and waits for its end (MessageStream::discard_rest()).
  void discard_rest() override;

  // ROW tokens read so far.
  uint64_t rows_read() const { return rows_read_; }

 private:
  void read_metadata_if_any();
  void read_column_metadata();
  Value read_value(size_t column);
  // Takes n more bytes into the row being read, within its limits.
  void hold(uint64_t n);
  void finish();  // reads the DONE and checks that nothing follows it

  PayloadReader in_;
  TdsVersion version_;
  BulkRowLimits limits_;
  uint64_t row_bytes_ = 0;                      // held by the row being read
  RequestBudget::Reservation row_reservation_;  // ... of them drawn on the budget
  std::vector<Column> columns_;
  std::vector<BulkWireType> types_;
  uint64_t rows_read_ = 0;
  bool done_ = false;
  std::exception_ptr metadata_error_;  // what reading the COLMETADATA threw
};

// Decodes a whole payload at once, for tests and the fuzz target: the columns and every row.
struct BulkLoad {
  std::vector<Column> columns;
  std::vector<std::vector<Value>> rows;
};
BulkLoad decode_bulk_load(std::span<const uint8_t> payload, TdsVersion version);

}  // namespace bakrest::server
