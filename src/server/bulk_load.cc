#include "server/bulk_load.h"

#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <string>

#include "common/error.h"
#include "server/sql_datetime.h"
#include "server/tds_types.h"
#include "server/text.h"
#include "server/wire_values.h"

namespace bakrest::server {
namespace {

using namespace tds_type;

constexpr uint8_t kColMetadataToken = 0x81;
constexpr uint8_t kRowToken = 0xD1;
constexpr uint8_t kDoneToken = 0xFD;
constexpr size_t kMaxColumns = 4096;  // SQL Server's limit for a table that is not wide
constexpr uint16_t kMaxLengthMarker = 0xFFFF;
constexpr uint16_t kNullLength = 0xFFFF;
constexpr uint64_t kPlpNull = ~uint64_t{0};
constexpr uint64_t kPlpUnknownLength = ~uint64_t{0} - 1;
constexpr uint32_t kCollationUtf8Flag = 1u << 26;
constexpr uint32_t kMaxShortLength = 8000;     // (n) of the non-MAX character and binary types, in bytes
constexpr int64_t kDatetimeMinDays = -53690;   // 1753-01-01 relative to 1900-01-01
constexpr int64_t kDatetimeMaxDays = 2958463;  // 9999-12-31 relative to 1900-01-01
constexpr int kMaxExactDigits = 15;            // a double holds every decimal of up to 15 significant digits

constexpr uint64_t kRowReservationStep = 64 * 1024;  // rows grow their reservation in steps, not per value

[[noreturn]] void fail(const std::string& what) { throw ProtocolError(what); }

SqlError row_too_large(uint64_t row, const std::string& why) {
  return SqlError(
      701, 17,
      fmt::format(
          "There is insufficient system memory in resource pool 'default' to run this query. (Row {} of "
          "the bulk load {}.)",
          row, why));
}

SqlError invalid_type(size_t column, uint8_t code) {
  return SqlError(
      4816, 16,
      fmt::format("Invalid column type from bcp client for colid {}. (bakrest does not take TDS type "
                  "0x{:02X} in a bulk load.)",
                  column + 1, code));
}

uint64_t pow10(int n) {
  uint64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

unsigned __int128 pow10_128(int n) {
  unsigned __int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

std::string digits_of(unsigned __int128 magnitude) {
  if (magnitude == 0) return "0";
  std::string reversed;
  while (magnitude > 0) {
    reversed += static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  }
  return {reversed.rbegin(), reversed.rend()};
}

// A scaled integer (magnitude * 10^-scale, negative or not): int64_t when the scale is 0 and it fits, a
// double when that holds it exactly to its scale, else the exact decimal text.
Value exact_number(bool negative, unsigned __int128 magnitude, int scale) {
  constexpr auto kInt64Max = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max());
  if (scale == 0 && magnitude <= kInt64Max + (negative ? 1 : 0)) {
    if (magnitude == kInt64Max + 1) return std::numeric_limits<int64_t>::min();
    auto v = static_cast<int64_t>(magnitude);
    return negative ? -v : v;
  }
  std::string digits = digits_of(magnitude);
  if (digits.size() <= kMaxExactDigits && scale <= kMaxExactDigits) {
    // Exact in a double's 53 bits; one correctly rounded division gives the nearest double to the decimal.
    double v = static_cast<double>(static_cast<uint64_t>(magnitude)) / static_cast<double>(pow10(scale));
    return negative ? -v : v;
  }
  if (digits.size() <= static_cast<size_t>(scale))
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  std::string text = negative ? "-" : "";
  text += digits.substr(0, digits.size() - static_cast<size_t>(scale));
  if (scale > 0) text += "." + digits.substr(digits.size() - static_cast<size_t>(scale));
  return text;
}

Value money_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  int64_t units;
  if (b.size() == 4) {
    units = r.i32le();
  } else {  // the high half first
    uint64_t high = r.u32le();
    uint64_t low = r.u32le();
    units = static_cast<int64_t>(high << 32 | low);
  }
  bool negative = units < 0;
  auto magnitude = negative ? static_cast<unsigned __int128>(-static_cast<__int128>(units))
                            : static_cast<unsigned __int128>(units);
  return exact_number(negative, magnitude, 4);
}

Value datetime_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  if (b.size() == 4) {  // SMALLDATETIME: days since 1900 and minutes
    uint16_t days = r.u16le();
    uint16_t minutes = r.u16le();
    if (minutes >= 24 * 60) fail(fmt::format("SMALLDATETIME minute {} is not a time of day", minutes));
    return from_sql_datetime(SqlDateTime{days, static_cast<uint32_t>(minutes) * 60 * 300});
  }
  int32_t days = r.i32le();
  uint32_t ticks = r.u32le();
  if (days < kDatetimeMinDays || days > kDatetimeMaxDays)
    fail(fmt::format("DATETIME day {} is outside 1753-01-01 .. 9999-12-31", days));
  if (ticks >= 300u * 86400u) fail(fmt::format("DATETIME tick {} is not a time of day", ticks));
  return from_sql_datetime(SqlDateTime{days, ticks});
}

Value decimal_value(std::span<const uint8_t> b, const BulkWireType& t) {
  if (b.size() < 2 || b.size() > 17) fail(fmt::format("DECIMAL value of {} bytes", b.size()));
  uint8_t sign = b[0];
  if (sign > 1) fail(fmt::format("DECIMAL sign byte {}", sign));
  unsigned __int128 magnitude = 0;
  for (size_t i = 1; i < b.size(); ++i) magnitude |= static_cast<unsigned __int128>(b[i]) << (8 * (i - 1));
  if (magnitude >= pow10_128(t.precision))
    fail(fmt::format("DECIMAL value has more than the column's {} digits", t.precision));
  return exact_number(sign == 0 && magnitude != 0, magnitude, t.scale);
}

std::string char_text(std::span<const uint8_t> bytes, const BulkWireType& t) {
  if (t.code == kNVarChar || t.code == kNChar || t.code == kNText) {
    if (bytes.size() % 2 != 0) fail(fmt::format("UTF-16 text of an odd {} bytes", bytes.size()));
    return utf16le_to_utf8(bytes);
  }
  // UTF-8 as it comes, but valid: what is not becomes U+FFFD, as everywhere else.
  if (t.utf8)
    return utf16_to_utf8(
        utf8_to_utf16(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  return cp1252_to_utf8(bytes);
}

bool is_character(uint8_t code) {
  return code == kBigVarChar || code == kBigChar || code == kNVarChar || code == kNChar || code == kText ||
         code == kNText;
}

Value bytes_value(std::span<const uint8_t> bytes, const BulkWireType& t) {
  if (is_character(t.code)) return char_text(bytes, t);
  return Bytes(bytes.begin(), bytes.end());
}

// The column a TYPE_INFO describes.
Column column_of(const BulkWireType& t) {
  Column c;
  switch (t.code) {
    case kInt1:
    case kInt2:
    case kInt4:
    case kInt8:
    case kIntN:
      c.type = t.length == 1   ? ColumnType::kTinyInt
               : t.length == 2 ? ColumnType::kSmallInt
               : t.length == 4 ? ColumnType::kInt
                               : ColumnType::kBigInt;
      break;
    case kBit:
    case kBitN:
      c.type = ColumnType::kBit;
      break;
    case kFlt4:
    case kFlt8:
    case kFltN:
      c.type = t.length == 4 ? ColumnType::kReal : ColumnType::kFloat;
      break;
    case kMoney4:
    case kMoney:
    case kMoneyN:
      c.type = t.length == 4 ? ColumnType::kSmallMoney : ColumnType::kMoney;
      break;
    case kDateTim4:
    case kDateTime:
    case kDateTimeN:
      c.type = t.length == 4 ? ColumnType::kSmallDateTime : ColumnType::kDateTime;
      break;
    case kDecimalN:
    case kNumericN:
      c.type = ColumnType::kDecimal;
      c.precision = t.precision;
      c.scale = static_cast<int8_t>(t.scale);
      break;
    case kDateN:
      c.type = ColumnType::kDate;
      break;
    case kTimeN:
      c.type = ColumnType::kTime;
      c.scale = static_cast<int8_t>(t.scale);
      break;
    case kDateTime2N:
      c.type = ColumnType::kDateTime2;
      c.scale = static_cast<int8_t>(t.scale);
      break;
    case kDateTimeOffsetN:
      c.type = ColumnType::kDateTimeOffset;
      c.scale = static_cast<int8_t>(t.scale);
      break;
    case kGuid:
      c.type = ColumnType::kUniqueIdentifier;
      break;
    case kNVarChar:
    case kNChar:
    case kBigVarChar:
    case kBigChar: {
      uint32_t chars = t.code == kNVarChar || t.code == kNChar ? t.length / 2 : t.length;
      c.type = t.plp || chars > 4000 ? ColumnType::kNVarCharMax : ColumnType::kNVarChar;
      if (c.type == ColumnType::kNVarChar) c.max_length = chars;
      break;
    }
    case kText:
    case kNText:
      c.type = ColumnType::kNVarCharMax;
      break;
    case kBigVarBinary:
    case kBigBinary:
      c.type = t.plp ? ColumnType::kVarBinaryMax : ColumnType::kVarBinary;
      if (!t.plp) c.max_length = t.length;
      break;
    case kImage:
      c.type = ColumnType::kVarBinaryMax;
      break;
  }
  return c;
}

// B_VARCHAR: a column name, at most 255 UTF-16 code units.
std::string read_b_varchar(PayloadReader& in) {
  size_t units = in.u8();
  return utf16le_to_utf8(in.bytes(units * 2));
}

// The TYPE_INFO of one column (after its type code).
BulkWireType read_type_info(PayloadReader& in, uint8_t code, size_t column) {
  BulkWireType t;
  t.code = code;
  auto sized = [&](std::initializer_list<uint8_t> sizes) {
    t.length = in.u8();
    for (uint8_t s : sizes) {
      if (t.length == s) return;
    }
    fail(fmt::format("type 0x{:02X} with length {}", code, t.length));
  };
  auto collation = [&] {
    uint32_t info = in.u32le();
    in.u8();  // sort id
    t.utf8 = (info & kCollationUtf8Flag) != 0;
  };
  switch (code) {
    case kInt1:
    case kBit:
      t.length = 1;
      break;
    case kInt2:
      t.length = 2;
      break;
    case kInt4:
    case kDateTim4:
    case kFlt4:
    case kMoney4:
      t.length = 4;
      break;
    case kInt8:
    case kDateTime:
    case kFlt8:
    case kMoney:
      t.length = 8;
      break;
    case kIntN:
      sized({1, 2, 4, 8});
      break;
    case kBitN:
      sized({1});
      break;
    case kFltN:
    case kMoneyN:
    case kDateTimeN:
      sized({4, 8});
      break;
    case kGuid:
      sized({16});
      break;
    case kDecimalN:
    case kNumericN:
      t.length = in.u8();
      t.precision = in.u8();
      t.scale = in.u8();
      if (t.length < 2 || t.length > 17) fail(fmt::format("DECIMAL of length {}", t.length));
      if (t.precision < 1 || t.precision > 38) fail(fmt::format("DECIMAL of precision {}", t.precision));
      if (t.scale > t.precision) fail(fmt::format("DECIMAL({},{})", t.precision, t.scale));
      break;
    case kDateN:
      t.length = 3;
      break;
    case kTimeN:
    case kDateTime2N:
    case kDateTimeOffsetN:
      t.scale = in.u8();
      if (t.scale > 7) fail(fmt::format("time scale {}", t.scale));
      t.length = static_cast<uint32_t>(time_bytes(t.scale)) + (code == kTimeN        ? 0
                                                               : code == kDateTime2N ? 3
                                                                                     : 5);
      break;
    case kBigVarChar:
    case kBigChar:
    case kNVarChar:
    case kNChar:
    case kBigVarBinary:
    case kBigBinary: {
      uint16_t length = in.u16le();
      bool unicode = code == kNVarChar || code == kNChar;
      if (length == kMaxLengthMarker && (code == kBigVarChar || code == kNVarChar || code == kBigVarBinary)) {
        t.plp = true;
      } else if (length == 0 || length > kMaxShortLength || (unicode && length % 2 != 0)) {
        fail(fmt::format("type 0x{:02X} with length {}", code, length));
      }
      t.length = length;
      if (code != kBigVarBinary && code != kBigBinary) collation();
      break;
    }
    case kText:
    case kNText:
    case kImage:
      t.length = in.u32le();
      if (code != kImage) collation();
      break;
    default:
      throw invalid_type(column, code);
  }
  return t;
}

}  // namespace

BulkLoadReader::BulkLoadReader(std::span<const uint8_t> payload, TdsVersion version)
    : in_(payload), version_(version) {
  read_metadata_if_any();
}

BulkLoadReader::BulkLoadReader(MessageStream& stream, TdsVersion version, BulkRowLimits limits)
    : in_(stream), version_(version), limits_(std::move(limits)) {
  read_metadata_if_any();
}

void BulkLoadReader::read_metadata_if_any() {
  try {
    if (!in_.at_end() && in_.peek() != kDoneToken) read_column_metadata();
  } catch (...) {
    metadata_error_ = std::current_exception();
    done_ = true;
  }
}

void BulkLoadReader::discard_rest() {
  in_.discard_rest();
  done_ = true;
}

const std::vector<Column>& BulkLoadReader::columns() const {
  if (metadata_error_) std::rethrow_exception(metadata_error_);
  return columns_;
}

const std::vector<BulkWireType>& BulkLoadReader::wire_types() const {
  if (metadata_error_) std::rethrow_exception(metadata_error_);
  return types_;
}

void BulkLoadReader::read_column_metadata() {
  uint8_t token = in_.u8();
  if (token != kColMetadataToken)
    fail(fmt::format("a bulk load starts with COLMETADATA (0x81) or DONE (0xFD), not 0x{:02X}", token));
  uint16_t count = in_.u16le();
  if (count == 0 || count > kMaxColumns)
    fail(fmt::format("COLMETADATA of {} columns (a bulk load has 1 to {})", count, kMaxColumns));
  columns_.reserve(count);
  types_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    try {
      if (version_.has_72()) {
        in_.u32le();  // UserType
      } else {
        in_.u16le();
      }
      in_.u16le();  // Flags: nullable, identity, ...; the table's own definition decides
      uint8_t code = in_.u8();
      BulkWireType t = read_type_info(in_, code, i);
      // The table name (US_VARCHAR), up to 128 KiB a column: skipped, never held.
      if (code == kText || code == kNText || code == kImage) in_.skip(size_t{in_.u16le()} * 2);
      Column c = column_of(t);
      c.name = read_b_varchar(in_);
      columns_.push_back(std::move(c));
      types_.push_back(t);
    } catch (const ProtocolError& e) {
      throw ProtocolError(fmt::format("COLMETADATA, column {}: {}", i + 1, e.what()));
    }
  }
}

bool BulkLoadReader::next(std::vector<Value>& row) {
  if (metadata_error_) std::rethrow_exception(metadata_error_);
  if (done_) return false;
  if (in_.at_end()) {
    done_ = true;
    return false;
  }
  uint8_t token = in_.u8();
  if (token == kDoneToken) {
    finish();
    done_ = true;
    return false;
  }
  if (token != kRowToken)
    fail(fmt::format("after row {}: token 0x{:02X} where a ROW (0xD1) or DONE (0xFD) belongs", rows_read_,
                     token));
  if (columns_.empty()) fail("a ROW without COLMETADATA before it");
  row_bytes_ = 0;
  row_reservation_ = RequestBudget::Reservation();
  row.clear();
  row.reserve(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    try {
      row.push_back(read_value(c));
    } catch (const ProtocolError& e) {
      throw ProtocolError(
          fmt::format("row {}, column {} ('{}'): {}", rows_read_ + 1, c + 1, columns_[c].name, e.what()));
    }
  }
  ++rows_read_;
  return true;
}

void BulkLoadReader::finish() {
  in_.u16le();  // status
  in_.u16le();  // current command
  if (version_.has_72()) {
    in_.u64le();
  } else {
    in_.u32le();
  }
  if (!in_.at_end()) {
    auto left = in_.remaining();
    fail(fmt::format("{} after the DONE that ends the bulk load",
                     left ? fmt::format("{} bytes", *left) : std::string("bytes")));
  }
}

void BulkLoadReader::hold(uint64_t n) {
  // row_bytes_ never exceeds max_bytes, so neither subtraction nor sum can wrap.
  if (n > limits_.max_bytes - row_bytes_) {
    throw row_too_large(
        rows_read_ + 1,
        fmt::format("holds more than the {} bytes a row may hold ([limits] max_request_mb, less "
                    "what the load buffers)",
                    limits_.max_bytes));
  }
  row_bytes_ += n;
  if (!limits_.account || row_bytes_ <= BulkRowLimits::kUnaccounted || row_bytes_ <= row_reservation_.bytes())
    return;
  uint64_t want = limits_.max_bytes - row_bytes_ >= kRowReservationStep ? row_bytes_ + kRowReservationStep
                                                                        : limits_.max_bytes;
  // try_grow: waiting here would be waiting for this thread, which is what gives the stream's bytes back.
  auto refusal = limits_.account->try_grow(row_reservation_, want);
  if (refusal == RequestBudget::Refusal::kTooLarge) {
    throw row_too_large(rows_read_ + 1,
                        "holds more than the session may hold beside what it buffers "
                        "([limits] max_request_mb)");
  }
  if (refusal != RequestBudget::Refusal::kNone) {
    throw row_too_large(
        rows_read_ + 1,
        fmt::format("needs {} bytes, and the sessions together hold as many request bytes as the "
                    "instance buffers ([limits] max_buffered_request_mb); try again",
                    row_bytes_));
  }
}

Value BulkLoadReader::read_value(size_t column) {
  const BulkWireType& t = types_[column];
  // A length that says how many bytes follow, checked against the column's declared length and taken into the
  // row.
  auto checked = [&](uint64_t length) {
    if (length > t.length)
      fail(fmt::format("a value of {} bytes in a column of at most {}", length, t.length));
    hold(length);
    return static_cast<size_t>(length);
  };
  switch (t.code) {
    case kInt1:
    case kInt2:
    case kInt4:
    case kInt8:
      return int_value(in_.bytes(t.length));
    case kBit:
      return in_.u8() != 0;
    case kFlt4:
    case kFlt8:
      return float_value(in_.bytes(t.length));
    case kMoney4:
    case kMoney:
      return money_value(in_.bytes(t.length));
    case kDateTim4:
    case kDateTime:
      return datetime_value(in_.bytes(t.length));
    case kIntN:
    case kBitN:
    case kFltN:
    case kMoneyN:
    case kDateTimeN:
    case kGuid: {
      size_t length = checked(in_.u8());
      if (length == 0) return std::monostate{};
      auto b = in_.bytes(length);
      switch (t.code) {
        case kIntN:
          if (length == 1 || length == 2 || length == 4 || length == 8) return int_value(b);
          break;
        case kBitN:
          return b[0] != 0;
        case kFltN:
          if (length == 4 || length == 8) return float_value(b);
          break;
        case kMoneyN:
          if (length == 4 || length == 8) return money_value(b);
          break;
        case kDateTimeN:
          if (length == 4 || length == 8) return datetime_value(b);
          break;
        case kGuid:
          if (length == 16) return guid_text(b);
          break;
      }
      fail(fmt::format("a value of {} bytes, which type 0x{:02X} does not have", length, t.code));
    }
    case kDecimalN:
    case kNumericN: {
      size_t length = checked(in_.u8());
      if (length == 0) return std::monostate{};
      return decimal_value(in_.bytes(length), t);
    }
    case kDateN:
    case kTimeN:
    case kDateTime2N:
    case kDateTimeOffsetN: {
      size_t length = in_.u8();
      if (length == 0) return std::monostate{};
      if (length != t.length)
        fail(fmt::format("a value of {} bytes where scale {} has {}", length, t.scale, t.length));
      return date_time_value(in_.bytes(length), t.code, t.scale);
    }
    case kBigVarChar:
    case kBigChar:
    case kNVarChar:
    case kNChar:
    case kBigVarBinary:
    case kBigBinary: {
      if (t.plp) {
        uint64_t total = in_.u64le();
        if (total == kPlpNull) return std::monostate{};
        const bool known = total != kPlpUnknownLength;
        if (known) {
          auto left = in_.remaining();
          if (left && total > *left)
            fail(fmt::format("a PLP value of {} bytes with {} left in the message", total, *left));
          hold(total);
        }
        Bytes data;
        if (known) data.reserve(static_cast<size_t>(total));
        for (;;) {
          uint32_t chunk = in_.u32le();
          if (chunk == 0) break;
          if (known && uint64_t{data.size()} + chunk > total)
            fail(fmt::format("PLP chunks of more than the {} bytes the value announced", total));
          if (!known) hold(chunk);
          in_.append(data, chunk);
        }
        if (known && data.size() != total)
          fail(fmt::format("PLP chunks of {} bytes for a value announced as {}", data.size(), total));
        if (is_character(t.code)) return char_text(data, t);
        return data;
      }
      uint16_t length = in_.u16le();
      if (length == kNullLength) return std::monostate{};
      return bytes_value(in_.bytes(checked(length)), t);
    }
    case kText:
    case kNText:
    case kImage: {
      uint8_t pointer = in_.u8();
      if (pointer == 0) return std::monostate{};
      in_.skip(pointer);
      in_.skip(8);  // timestamp
      uint32_t length = in_.u32le();
      return bytes_value(in_.bytes(checked(length)), t);
    }
  }
  fail(fmt::format("type 0x{:02X}", t.code));  // read_type_info took no other type
}

BulkLoad decode_bulk_load(std::span<const uint8_t> payload, TdsVersion version) {
  BulkLoadReader reader(payload, version);
  BulkLoad load;
  load.columns = reader.columns();
  std::vector<Value> row;
  while (reader.next(row)) load.rows.push_back(row);
  return load;
}

}  // namespace bakrest::server
