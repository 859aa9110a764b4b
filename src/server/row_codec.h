// Result sets on the wire: COLMETADATA describing the columns and one ROW token per row. Every
// column goes out as a nullable type chosen from its ColumnType and the session's TDS version; TDS 7.1
// lacks the MAX types and DATETIME2, so there they become NTEXT, IMAGE and DATETIME, and before 7.3 DATE,
// TIME and DATETIMEOFFSET go as NVARCHAR text, as SQL Server sends them to such clients.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/value.h"
#include "server/bytes.h"
#include "server/tds_version.h"

namespace bakrest::server {

enum class WireType {
  kBitN,
  kIntN1,
  kIntN2,
  kIntN4,
  kIntN8,
  kFltN4,
  kFltN8,
  kDecimalN,  // precision, scale
  kMoneyN4,
  kMoneyN8,
  kNVarChar,     // max_bytes = 2 * characters
  kNVarCharMax,  // PLP
  kNText,
  kVarBinary,
  kVarBinaryMax,  // PLP
  kImage,
  kDateN,
  kTimeN,  // scale
  kDateTimeN4,
  kDateTimeN,
  kDateTime2N,       // scale
  kDateTimeOffsetN,  // scale
  kGuid,
};

struct WireColumn {
  std::string name;
  WireType type = WireType::kNVarCharMax;
  uint32_t max_bytes = 0;  // kNVarChar and kVarBinary only
  uint8_t precision = 0;   // kDecimalN
  uint8_t scale = 0;       // kDecimalN, kTimeN, kDateTime2N, kDateTimeOffsetN
  // A date or time type sent as NVARCHAR text to a client before TDS 7.3: the text's form.
  enum class TextForm : uint8_t { kAsIs, kDate, kTime, kDateTime2, kDateTimeOffset };
  TextForm text_form = TextForm::kAsIs;
};

// PLP values are sent in chunks of this many bytes.
inline constexpr size_t kPlpChunkSize = 8000;

class ResultSetEncoder {
 public:
  // max_as_lob: (MAX) columns go as NTEXT and IMAGE whatever the version, the form SQL Server uses for
  // TDS 7.1 clients (TokenSink::set_max_types_as_lobs says for whom).
  ResultSetEncoder(const std::vector<Column>& columns, TdsVersion version, bool max_as_lob = false);

  const std::vector<WireColumn>& columns() const { return columns_; }

  void write_metadata(ByteWriter& out) const;
  // Converts each value to its column's type (see value_convert.h); missing values are NULL, extra
  // values are ignored, text longer than the column is cut to fit.
  void write_row(ByteWriter& out, const std::vector<Value>& values) const;
  // One value in the wire format of column `index`, as a ROW or RETURNVALUE carries it.
  void write_value(ByteWriter& out, size_t index, const Value& value) const;

 private:
  void encode_value(ByteWriter& out, const WireColumn& column, const Value& value) const;

  TdsVersion version_;
  std::vector<WireColumn> columns_;
};

// RETURNVALUE: the value of an output parameter, typed like a result column. `ordinal` is the
// parameter's position in the call.
void write_return_value(ByteWriter& out, uint16_t ordinal, std::string_view name, const Column& column,
                        const Value& value, TdsVersion version, bool max_as_lob = false);

// The PLP layout of a MAX value: total length u64, chunks of u32 length + data, a zero-length chunk.
void write_plp(ByteWriter& out, std::span<const uint8_t> data);

}  // namespace bakrest::server
