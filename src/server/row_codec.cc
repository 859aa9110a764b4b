#include "server/row_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "server/server_info.h"
#include "server/sql_datetime.h"
#include "server/text.h"
#include "server/tokens.h"
#include "server/value_convert.h"

namespace bakrest::server {
namespace {

constexpr uint8_t kTypeBitN = 0x68;
constexpr uint8_t kTypeIntN = 0x26;
constexpr uint8_t kTypeFltN = 0x6D;
constexpr uint8_t kTypeNVarChar = 0xE7;
constexpr uint8_t kTypeNText = 0x63;
constexpr uint8_t kTypeVarBinary = 0xA5;
constexpr uint8_t kTypeImage = 0x22;
constexpr uint8_t kTypeDateTimeN = 0x6F;
constexpr uint8_t kTypeDateTime2N = 0x2A;

constexpr uint16_t kFlagNullable = 0x0001;
constexpr uint16_t kMaxLength = 0xFFFF;  // TYPE_INFO length that marks a MAX (PLP) type
constexpr uint16_t kNullLength = 0xFFFF;
constexpr uint64_t kPlpNull = ~uint64_t{0};
constexpr uint32_t kNTextMaxBytes = 0x7FFFFFFE;
constexpr uint32_t kImageMaxBytes = 0x7FFFFFFF;
constexpr int kDateTime2Scale = 7;

WireColumn plan(const Column& c, TdsVersion version) {
  WireColumn w{c.name, WireType::kNVarCharMax, 0};
  switch (c.type) {
    case ColumnType::kBit:
      w.type = WireType::kBitN;
      break;
    case ColumnType::kInt:
      w.type = WireType::kIntN4;
      break;
    case ColumnType::kBigInt:
      w.type = WireType::kIntN8;
      break;
    case ColumnType::kFloat:
      w.type = WireType::kFltN8;
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
    case ColumnType::kDateTime:
      w.type = WireType::kDateTimeN;
      break;
    case ColumnType::kDateTime2:
      w.type = WireType::kDateTime2N;
      break;
  }
  if (!version.has_72()) {
    if (w.type == WireType::kNVarCharMax) w.type = WireType::kNText;
    if (w.type == WireType::kVarBinaryMax) w.type = WireType::kImage;
  }
  if (!version.has_73() && w.type == WireType::kDateTime2N) w.type = WireType::kDateTimeN;
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
      out.u8(kTypeBitN);
      out.u8(1);
      break;
    case WireType::kIntN4:
      out.u8(kTypeIntN);
      out.u8(4);
      break;
    case WireType::kIntN8:
      out.u8(kTypeIntN);
      out.u8(8);
      break;
    case WireType::kFltN8:
      out.u8(kTypeFltN);
      out.u8(8);
      break;
    case WireType::kNVarChar:
      out.u8(kTypeNVarChar);
      out.u16le(static_cast<uint16_t>(c.max_bytes));
      out.bytes(kDefaultCollation);
      break;
    case WireType::kNVarCharMax:
      out.u8(kTypeNVarChar);
      out.u16le(kMaxLength);
      out.bytes(kDefaultCollation);
      break;
    case WireType::kNText:
      out.u8(kTypeNText);
      out.u32le(kNTextMaxBytes);
      out.bytes(kDefaultCollation);
      break;
    case WireType::kVarBinary:
      out.u8(kTypeVarBinary);
      out.u16le(static_cast<uint16_t>(c.max_bytes));
      break;
    case WireType::kVarBinaryMax:
      out.u8(kTypeVarBinary);
      out.u16le(kMaxLength);
      break;
    case WireType::kImage:
      out.u8(kTypeImage);
      out.u32le(kImageMaxBytes);
      break;
    case WireType::kDateTimeN:
      out.u8(kTypeDateTimeN);
      out.u8(8);
      break;
    case WireType::kDateTime2N:
      out.u8(kTypeDateTime2N);
      out.u8(kDateTime2Scale);
      break;
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

ResultSetEncoder::ResultSetEncoder(const std::vector<Column>& columns, TdsVersion version)
    : version_(version) {
  columns_.reserve(columns.size());
  for (const Column& c : columns) columns_.push_back(plan(c, version));
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
    case WireType::kIntN4:
      if (auto i = value_to_int(value, INT32_MIN, INT32_MAX)) {
        out.u8(4);
        out.i32le(static_cast<int32_t>(*i));
      } else {
        out.u8(0);
      }
      break;
    case WireType::kIntN8:
      if (auto i = value_to_int(value, INT64_MIN, INT64_MAX)) {
        out.u8(8);
        out.u64le(static_cast<uint64_t>(*i));
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
    case WireType::kNVarChar:
      if (auto s = value_to_text(value)) {
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
      if (auto t = value_to_datetime(value)) {
        SqlDateTime2 v = to_sql_datetime2(*t, kDateTime2Scale);
        out.u8(8);
        out.uint_le(v.time, 5);
        out.uint_le(v.days, 3);
      } else {
        out.u8(0);
      }
      break;
  }
}

void write_return_value(ByteWriter& out, uint16_t ordinal, std::string_view name, const Column& column,
                        const Value& value, TdsVersion version) {
  constexpr uint8_t kStatusOutputParameter = 0x01;
  ResultSetEncoder encoder({column}, version);
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
