#include "server/row_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "server/server_info.h"
#include "server/sql_datetime.h"
#include "server/tds_types.h"
#include "server/text.h"
#include "server/tokens.h"
#include "server/value_convert.h"
#include "server/wire_values.h"

namespace bakrest::server {
namespace {

constexpr uint16_t kFlagNullable = 0x0001;
constexpr uint16_t kMaxLength = 0xFFFF;  // TYPE_INFO length that marks a MAX (PLP) type
constexpr uint16_t kNullLength = 0xFFFF;
constexpr uint64_t kPlpNull = ~uint64_t{0};
constexpr uint32_t kNTextMaxBytes = 0x7FFFFFFE;
constexpr uint32_t kImageMaxBytes = 0x7FFFFFFF;
constexpr int kDefaultTimeScale = 7;

// DECIMALN's value size (sign byte included) for a precision, as MS-TDS sets it.
uint8_t decimal_bytes(uint8_t precision) {
  if (precision <= 9) return 5;
  if (precision <= 19) return 9;
  if (precision <= 28) return 13;
  return 17;
}

uint8_t time_scale(const Column& c) {
  return static_cast<uint8_t>(c.scale < 0 ? kDefaultTimeScale : std::min<int>(c.scale, 7));
}

WireColumn plan(const Column& c, TdsVersion version, bool max_as_lob) {
  WireColumn w{c.name, WireType::kNVarCharMax, 0, 0, 0};
  switch (c.type) {
    case ColumnType::kBit:
      w.type = WireType::kBitN;
      break;
    case ColumnType::kTinyInt:
      w.type = WireType::kIntN1;
      break;
    case ColumnType::kSmallInt:
      w.type = WireType::kIntN2;
      break;
    case ColumnType::kInt:
      w.type = WireType::kIntN4;
      break;
    case ColumnType::kBigInt:
      w.type = WireType::kIntN8;
      break;
    case ColumnType::kReal:
      w.type = WireType::kFltN4;
      break;
    case ColumnType::kFloat:
      w.type = WireType::kFltN8;
      break;
    case ColumnType::kDecimal:
      w.type = WireType::kDecimalN;
      w.precision = c.precision == 0 ? 18 : std::min<uint8_t>(c.precision, 38);
      w.scale = static_cast<uint8_t>(std::clamp<int>(c.scale, 0, w.precision));
      break;
    case ColumnType::kMoney:
      w.type = WireType::kMoneyN8;
      break;
    case ColumnType::kSmallMoney:
      w.type = WireType::kMoneyN4;
      break;
    case ColumnType::kNVarChar:
      if (c.max_length >= 1 && c.max_length <= 4000) {
        w.type = WireType::kNVarChar;
        w.max_bytes = c.max_length * 2;
      } else {  // a length outside NVARCHAR's range: MAX holds anything
        w.type = WireType::kNVarCharMax;
      }
      break;
    case ColumnType::kNVarCharMax:
      w.type = WireType::kNVarCharMax;
      break;
    case ColumnType::kVarBinary:
      if (c.max_length >= 1 && c.max_length <= 8000) {
        w.type = WireType::kVarBinary;
        w.max_bytes = c.max_length;
      } else {
        w.type = WireType::kVarBinaryMax;
      }
      break;
    case ColumnType::kVarBinaryMax:
      w.type = WireType::kVarBinaryMax;
      break;
    case ColumnType::kDate:
      w.type = WireType::kDateN;
      break;
    case ColumnType::kTime:
      w.type = WireType::kTimeN;
      w.scale = time_scale(c);
      break;
    case ColumnType::kSmallDateTime:
      w.type = WireType::kDateTimeN4;
      break;
    case ColumnType::kDateTime:
      w.type = WireType::kDateTimeN;
      break;
    case ColumnType::kDateTime2:
      w.type = WireType::kDateTime2N;
      w.scale = time_scale(c);
      break;
    case ColumnType::kDateTimeOffset:
      w.type = WireType::kDateTimeOffsetN;
      w.scale = time_scale(c);
      break;
    case ColumnType::kUniqueIdentifier:
      w.type = WireType::kGuid;
      break;
  }
  if (!version.has_72() || max_as_lob) {
    if (w.type == WireType::kNVarCharMax) w.type = WireType::kNText;
    if (w.type == WireType::kVarBinaryMax) w.type = WireType::kImage;
  }
  if (!version.has_73()) {
    // Down-level clients get the types TDS 7.3 added as text, as SQL Server sends them (34 characters hold
    // the longest, a DATETIMEOFFSET(7)).
    using Form = WireColumn::TextForm;
    Form form = w.type == WireType::kDateN             ? Form::kDate
                : w.type == WireType::kTimeN           ? Form::kTime
                : w.type == WireType::kDateTime2N      ? Form::kDateTime2
                : w.type == WireType::kDateTimeOffsetN ? Form::kDateTimeOffset
                                                       : Form::kAsIs;
    if (form != Form::kAsIs) {
      w.type = WireType::kNVarChar;
      w.max_bytes = 2 * 34;
      w.text_form = form;
    }
  }
  return w;
}

// TEXT/NTEXT/IMAGE metadata names the table they came from; ours come from no table.
void write_empty_table_name(ByteWriter& out, TdsVersion version) {
  if (version.has_72()) {
    out.u8(0);  // number of name parts
  } else {
    out.u16le(0);
  }
}

void write_type_info(ByteWriter& out, const WireColumn& c) {
  switch (c.type) {
    case WireType::kBitN:
      out.u8(tds_type::kBitN);
      out.u8(1);
      break;
    case WireType::kIntN1:
    case WireType::kIntN2:
    case WireType::kIntN4:
    case WireType::kIntN8:
      out.u8(tds_type::kIntN);
      out.u8(c.type == WireType::kIntN1   ? 1
             : c.type == WireType::kIntN2 ? 2
             : c.type == WireType::kIntN4 ? 4
                                          : 8);
      break;
    case WireType::kFltN4:
    case WireType::kFltN8:
      out.u8(tds_type::kFltN);
      out.u8(c.type == WireType::kFltN4 ? 4 : 8);
      break;
    case WireType::kDecimalN:
      out.u8(tds_type::kDecimalN);
      out.u8(decimal_bytes(c.precision));
      out.u8(c.precision);
      out.u8(c.scale);
      break;
    case WireType::kMoneyN4:
    case WireType::kMoneyN8:
      out.u8(tds_type::kMoneyN);
      out.u8(c.type == WireType::kMoneyN4 ? 4 : 8);
      break;
    case WireType::kNVarChar:
      out.u8(tds_type::kNVarChar);
      out.u16le(static_cast<uint16_t>(c.max_bytes));
      out.bytes(kDefaultCollation);
      break;
    case WireType::kNVarCharMax:
      out.u8(tds_type::kNVarChar);
      out.u16le(kMaxLength);
      out.bytes(kDefaultCollation);
      break;
    case WireType::kNText:
      out.u8(tds_type::kNText);
      out.u32le(kNTextMaxBytes);
      out.bytes(kDefaultCollation);
      break;
    case WireType::kVarBinary:
      out.u8(tds_type::kBigVarBinary);
      out.u16le(static_cast<uint16_t>(c.max_bytes));
      break;
    case WireType::kVarBinaryMax:
      out.u8(tds_type::kBigVarBinary);
      out.u16le(kMaxLength);
      break;
    case WireType::kImage:
      out.u8(tds_type::kImage);
      out.u32le(kImageMaxBytes);
      break;
    case WireType::kDateN:
      out.u8(tds_type::kDateN);
      break;
    case WireType::kTimeN:
      out.u8(tds_type::kTimeN);
      out.u8(c.scale);
      break;
    case WireType::kDateTimeN4:
      out.u8(tds_type::kDateTimeN);
      out.u8(4);
      break;
    case WireType::kDateTimeN:
      out.u8(tds_type::kDateTimeN);
      out.u8(8);
      break;
    case WireType::kDateTime2N:
      out.u8(tds_type::kDateTime2N);
      out.u8(c.scale);
      break;
    case WireType::kDateTimeOffsetN:
      out.u8(tds_type::kDateTimeOffsetN);
      out.u8(c.scale);
      break;
    case WireType::kGuid:
      out.u8(tds_type::kGuid);
      out.u8(16);
      break;
  }
}

// A date or time value as the text SQL Server sends a client before TDS 7.3: "2024-02-29",
// "13:14:15.1234567", "2024-02-29 13:14:15.1234567", with a "+HH:MM" offset for DATETIMEOFFSET.
std::optional<std::string> date_time_text(const WireColumn& c, const Value& value) {
  using Form = WireColumn::TextForm;
  if (auto* s = std::get_if<std::string>(&value)) {
    if (c.text_form == Form::kDate && s->size() > 10 && (*s)[4] == '-') return s->substr(0, 10);
    return *s;  // text a conversion made already has its form
  }
  auto t = value_to_datetime(value);
  if (!t) return value_to_text(value);
  std::string text = format_datetime(*t);  // "YYYY-MM-DD HH:MM:SS[.ffffff]"
  if (c.text_form == Form::kDate) return text.substr(0, 10);
  if (c.text_form == Form::kTime) return text.substr(11);
  if (c.text_form == Form::kDateTimeOffset) return text + " +00:00";
  return text;
}

// An unsigned 128-bit magnitude, little-endian, in `bytes` bytes.
void put_magnitude(ByteWriter& out, unsigned __int128 magnitude, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) {
    out.u8(static_cast<uint8_t>(magnitude & 0xFF));
    magnitude >>= 8;
  }
}

Bytes utf16le_bytes(std::u16string_view s) {
  ByteWriter w;
  put_utf16le(w, s);
  return w.take();
}

// TEXT, NTEXT and IMAGE values travel behind a text pointer and timestamp that clients skip.
void write_text_pointer_value(ByteWriter& out, const std::optional<Bytes>& data) {
  if (!data) {
    out.u8(0);
    return;
  }
  out.u8(16);
  out.bytes(std::vector<uint8_t>(16, 0xFF));  // text pointer
  out.zeros(8);                               // timestamp
  out.u32le(static_cast<uint32_t>(data->size()));
  out.bytes(*data);
}

}  // namespace

void write_plp(ByteWriter& out, std::span<const uint8_t> data) {
  out.u64le(data.size());
  for (size_t pos = 0; pos < data.size(); pos += kPlpChunkSize) {
    auto chunk = data.subspan(pos, std::min(kPlpChunkSize, data.size() - pos));
    out.u32le(static_cast<uint32_t>(chunk.size()));
    out.bytes(chunk);
  }
  out.u32le(0);
}

ResultSetEncoder::ResultSetEncoder(const std::vector<Column>& columns, TdsVersion version, bool max_as_lob)
    : version_(version) {
  columns_.reserve(columns.size());
  for (const Column& c : columns) columns_.push_back(plan(c, version, max_as_lob));
}

void ResultSetEncoder::write_metadata(ByteWriter& out) const {
  out.u8(token::kColMetadata);
  out.u16le(static_cast<uint16_t>(columns_.size()));
  for (const WireColumn& c : columns_) {
    if (version_.has_72()) {
      out.u32le(0);  // UserType
    } else {
      out.u16le(0);
    }
    out.u16le(kFlagNullable);
    write_type_info(out, c);
    if (c.type == WireType::kNText || c.type == WireType::kImage) write_empty_table_name(out, version_);
    put_b_varchar(out, c.name);
  }
}

void ResultSetEncoder::write_row(ByteWriter& out, const std::vector<Value>& values) const {
  static const Value kNull;
  out.u8(token::kRow);
  for (size_t i = 0; i < columns_.size(); ++i) {
    encode_value(out, columns_[i], i < values.size() ? values[i] : kNull);
  }
}

void ResultSetEncoder::write_value(ByteWriter& out, size_t index, const Value& value) const {
  encode_value(out, columns_.at(index), value);
}

void ResultSetEncoder::encode_value(ByteWriter& out, const WireColumn& c, const Value& value) const {
  switch (c.type) {
    case WireType::kBitN:
      if (auto b = value_to_bit(value)) {
        out.u8(1);
        out.u8(*b ? 1 : 0);
      } else {
        out.u8(0);
      }
      break;
    case WireType::kIntN1:
    case WireType::kIntN2:
    case WireType::kIntN4:
    case WireType::kIntN8: {
      const int width = c.type == WireType::kIntN1   ? 1
                        : c.type == WireType::kIntN2 ? 2
                        : c.type == WireType::kIntN4 ? 4
                                                     : 8;
      const int64_t min = width == 1 ? 0 : width == 2 ? INT16_MIN : width == 4 ? INT32_MIN : INT64_MIN;
      const int64_t max = width == 1 ? 255 : width == 2 ? INT16_MAX : width == 4 ? INT32_MAX : INT64_MAX;
      if (auto i = value_to_int(value, min, max)) {
        out.u8(static_cast<uint8_t>(width));
        out.uint_le(static_cast<uint64_t>(*i), static_cast<size_t>(width));
      } else {
        out.u8(0);
      }
      break;
    }
    case WireType::kFltN4:
      if (auto d = value_to_float(value)) {
        out.u8(4);
        out.u32le(std::bit_cast<uint32_t>(static_cast<float>(*d)));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kFltN8:
      if (auto d = value_to_float(value)) {
        out.u8(8);
        out.u64le(std::bit_cast<uint64_t>(*d));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kDecimalN: {
      auto scaled = value_to_scaled(value, c.scale);
      const uint8_t size = decimal_bytes(c.precision);
      if (!scaled) {
        out.u8(0);
        break;
      }
      unsigned __int128 magnitude =
          *scaled < 0 ? static_cast<unsigned __int128>(-*scaled) : static_cast<unsigned __int128>(*scaled);
      out.u8(size);
      out.u8(*scaled < 0 ? 0 : 1);
      put_magnitude(out, magnitude, size - 1u);
      break;
    }
    case WireType::kMoneyN4:
    case WireType::kMoneyN8: {
      auto scaled = value_to_scaled(value, 4);
      const bool small = c.type == WireType::kMoneyN4;
      const __int128 limit = small ? INT32_MAX : INT64_MAX;
      if (!scaled) {
        out.u8(0);
        break;
      }
      // The value was checked against the type's range (sql::conform); a float can still round just past an
      // end (MONEY's largest value is the float 922337203685477.625), and it means that end.
      scaled = std::clamp<__int128>(*scaled, -limit - 1, limit);
      if (small) {
        out.u8(4);
        out.i32le(static_cast<int32_t>(*scaled));
      } else {
        // MONEY is the 64-bit amount in ten-thousandths, its high half first.
        auto amount = static_cast<uint64_t>(static_cast<int64_t>(*scaled));
        out.u8(8);
        out.u32le(static_cast<uint32_t>(amount >> 32));
        out.u32le(static_cast<uint32_t>(amount));
      }
      break;
    }
    case WireType::kNVarChar:
      if (auto s =
              c.text_form == WireColumn::TextForm::kAsIs ? value_to_text(value) : date_time_text(c, value)) {
        std::u16string units = utf8_to_utf16(*s);
        auto cut = truncate_utf16(units, c.max_bytes / 2);
        out.u16le(static_cast<uint16_t>(cut.size() * 2));
        put_utf16le(out, cut);
      } else {
        out.u16le(kNullLength);
      }
      break;
    case WireType::kNVarCharMax:
      if (auto s = value_to_text(value)) {
        write_plp(out, utf16le_bytes(utf8_to_utf16(*s)));
      } else {
        out.u64le(kPlpNull);
      }
      break;
    case WireType::kNText: {
      auto s = value_to_text(value);
      write_text_pointer_value(out,
                               s ? std::optional<Bytes>(utf16le_bytes(utf8_to_utf16(*s))) : std::nullopt);
      break;
    }
    case WireType::kVarBinary:
      if (auto b = value_to_binary(value)) {
        size_t n = std::min<size_t>(b->size(), c.max_bytes);
        out.u16le(static_cast<uint16_t>(n));
        out.bytes(std::span(*b).first(n));
      } else {
        out.u16le(kNullLength);
      }
      break;
    case WireType::kVarBinaryMax:
      if (auto b = value_to_binary(value)) {
        write_plp(out, *b);
      } else {
        out.u64le(kPlpNull);
      }
      break;
    case WireType::kImage:
      write_text_pointer_value(out, value_to_binary(value));
      break;
    case WireType::kDateN:
      if (auto t = value_to_datetime(value)) {
        SqlDateTime2 v = to_sql_datetime2(*t, 0);
        out.u8(3);
        out.uint_le(v.days, 3);
      } else {
        out.u8(0);
      }
      break;
    case WireType::kTimeN:
      if (auto units = value_to_time_units(value, c.scale)) {
        // Units of 10^-scale seconds since midnight.
        out.u8(static_cast<uint8_t>(time_bytes(c.scale)));
        out.uint_le(*units, static_cast<size_t>(time_bytes(c.scale)));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kDateTimeN4:
      if (auto t = value_to_datetime(value)) {
        // SMALLDATETIME: days since 1900-01-01 and minutes since midnight.
        SqlDateTime v = to_sql_datetime(*t);
        uint32_t minutes = static_cast<uint32_t>((static_cast<uint64_t>(v.ticks) * 10 / 3 + 30000) / 60000);
        int32_t days = v.days;
        if (minutes >= 1440) {
          minutes -= 1440;
          ++days;
        }
        out.u8(4);
        out.u16le(static_cast<uint16_t>(std::clamp<int32_t>(days, 0, 65535)));
        out.u16le(static_cast<uint16_t>(minutes));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kDateTimeN:
      if (auto t = value_to_datetime(value)) {
        SqlDateTime v = to_sql_datetime(*t);
        out.u8(8);
        out.i32le(v.days);
        out.u32le(v.ticks);
      } else {
        out.u8(0);
      }
      break;
    case WireType::kDateTime2N:
      if (auto v = value_to_datetime2(value, c.scale)) {
        out.u8(static_cast<uint8_t>(time_bytes(c.scale) + 3));
        out.uint_le(v->time, static_cast<size_t>(time_bytes(c.scale)));
        out.uint_le(v->days, 3);
      } else {
        out.u8(0);
      }
      break;
    case WireType::kDateTimeOffsetN:
      if (auto t = value_to_datetimeoffset(value)) {
        // The time in UTC, then the offset in minutes. (Fractions beyond microseconds are not kept here.)
        SqlDateTime2 v = to_sql_datetime2(t->utc, c.scale);
        out.u8(static_cast<uint8_t>(time_bytes(c.scale) + 5));
        out.uint_le(v.time, static_cast<size_t>(time_bytes(c.scale)));
        out.uint_le(v.days, 3);
        out.u16le(static_cast<uint16_t>(static_cast<int16_t>(t->offset_minutes)));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kGuid:
      if (auto g = value_to_guid(value)) {
        out.u8(16);
        out.bytes(*g);
      } else {
        out.u8(0);
      }
      break;
  }
}

void write_return_value(ByteWriter& out, uint16_t ordinal, std::string_view name, const Column& column,
                        const Value& value, TdsVersion version, bool max_as_lob) {
  constexpr uint8_t kStatusOutputParameter = 0x01;
  ResultSetEncoder encoder({column}, version, max_as_lob);
  out.u8(token::kReturnValue);
  out.u16le(ordinal);
  put_b_varchar(out, name);
  out.u8(kStatusOutputParameter);
  if (version.has_72()) {
    out.u32le(0);  // UserType
  } else {
    out.u16le(0);
  }
  out.u16le(kFlagNullable);
  write_type_info(out, encoder.columns()[0]);
  encoder.write_value(out, 0, value);
}

}  // namespace bakrest::server
