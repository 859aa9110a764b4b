#include "server/rpc_reader.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>

#include "server/requests.h"
#include "server/sql_datetime.h"
#include "server/tds_types.h"
#include "server/text.h"
#include "server/wire_values.h"

namespace bakrest::server {
namespace {

using namespace tds_type;

constexpr uint16_t kPlpMarker = 0xFFFF;
constexpr uint64_t kPlpNull = ~uint64_t{0};
constexpr uint8_t kStatusByRef = 0x01;
constexpr uint32_t kCollationUtf8Flag = 1u << 26;

struct Collation {
  bool utf8 = false;
};

Collation read_collation(ByteReader& in) {
  uint32_t info = in.u32le();
  in.u8();  // sort id
  return Collation{(info & kCollationUtf8Flag) != 0};
}

std::string decode_chars(std::span<const uint8_t> bytes, Collation collation) {
  if (collation.utf8) return std::string(bytes.begin(), bytes.end());
  return cp1252_to_utf8(bytes);
}

// PLP body: u64 total (all ones = NULL), then chunks until a zero-length one.
std::optional<Bytes> read_plp(ByteReader& in) {
  uint64_t total = in.u64le();
  if (total == kPlpNull) return std::nullopt;
  Bytes data;
  for (;;) {
    uint32_t chunk = in.u32le();
    if (chunk == 0) break;
    auto bytes = in.bytes(chunk);
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  return data;
}

// USHORTLEN value (0xFFFF = NULL), or PLP when the type was declared MAX.
std::optional<Bytes> read_var_value(ByteReader& in, bool plp) {
  if (plp) return read_plp(in);
  uint16_t len = in.u16le();
  if (len == 0xFFFF) return std::nullopt;
  auto bytes = in.bytes(len);
  return Bytes(bytes.begin(), bytes.end());
}

// Legacy BYTELEN value, where length 0 stands for NULL.
std::optional<Bytes> read_byte_len_value(ByteReader& in) {
  uint8_t len = in.u8();
  if (len == 0) return std::nullopt;
  auto bytes = in.bytes(len);
  return Bytes(bytes.begin(), bytes.end());
}

// TEXT, NTEXT and IMAGE parameters: u32 length (all ones = NULL) and the data, no text pointer.
std::optional<Bytes> read_long_value(ByteReader& in) {
  uint32_t len = in.u32le();
  if (len == 0xFFFFFFFF) return std::nullopt;
  auto bytes = in.bytes(len);
  return Bytes(bytes.begin(), bytes.end());
}

Value money_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  int64_t units;
  if (b.size() == 4) {
    units = r.i32le();
  } else {  // high half first
    int64_t high = r.i32le();
    uint64_t low = r.u32le();
    units = static_cast<int64_t>(static_cast<uint64_t>(high) << 32 | low);
  }
  return static_cast<double>(units) / 10000.0;
}

Value datetime_value(std::span<const uint8_t> b) {
  ByteReader r(b);
  if (b.size() == 4) {  // SMALLDATETIME: days since 1900 and minutes
    uint16_t days = r.u16le();
    uint16_t minutes = r.u16le();
    return from_sql_datetime(SqlDateTime{days, static_cast<uint32_t>(minutes) * 60 * 300});
  }
  int32_t days = r.i32le();
  uint32_t ticks = r.u32le();
  return from_sql_datetime(SqlDateTime{days, ticks});
}

Value decimal_value(std::span<const uint8_t> b, uint8_t scale) {
  ByteReader r(b);
  bool positive = r.u8() == 1;
  unsigned __int128 magnitude = 0;
  size_t n = r.remaining();
  if (n > 16) throw ProtocolError("DECIMAL value longer than 16 bytes");
  for (size_t i = 0; i < n; ++i) magnitude |= static_cast<unsigned __int128>(r.u8()) << (8 * i);
  if (scale == 0) {
    constexpr auto kMax = static_cast<unsigned __int128>(INT64_MAX);
    if (positive && magnitude <= kMax) return static_cast<int64_t>(magnitude);
    if (!positive && magnitude <= kMax + 1) {
      return static_cast<int64_t>(-static_cast<__int128>(magnitude));
    }
  }
  long double v = static_cast<long double>(magnitude) / std::pow(10.0L, scale);
  return static_cast<double>(positive ? v : -v);
}

// DATE, TIME, DATETIME2 and DATETIMEOFFSET: a length byte (0 = NULL) and the parts the type has.
Value date_family_value(ByteReader& in, uint8_t type, uint8_t scale) {
  uint8_t len = in.u8();
  if (len == 0) return std::monostate{};
  std::span<const uint8_t> bytes = in.bytes(len);
  if (scale > 7) throw ProtocolError(fmt::format("time scale {} out of range", scale));
  if (type == kDateTimeOffsetN) {
    // UTC and the offset on the wire; the value keeps its offset, as SQL Server's does.
    if (len != time_bytes(scale) + 5)
      throw ProtocolError(fmt::format("DATETIMEOFFSET({}) value of {} bytes", scale, len));
    return date_time_value(bytes, type, scale);
  }
  ByteReader v(bytes);
  uint64_t time = type == kDateN ? 0 : v.uint_le(time_bytes(scale));
  if (type == kTimeN) {
    DateTime t = from_sql_datetime2(SqlDateTime2{719162, time}, scale);  // on 1970-01-01
    return format_datetime(t).substr(11);
  }
  auto days = static_cast<uint32_t>(v.uint_le(3));
  return from_sql_datetime2(SqlDateTime2{days, time}, type == kDateN ? 0 : scale);
}

}  // namespace

const char* proc_id_name(uint16_t id) {
  static constexpr const char* kNames[] = {"",
                                           "sp_cursor",
                                           "sp_cursoropen",
                                           "sp_cursorprepare",
                                           "sp_cursorexecute",
                                           "sp_cursorprepexec",
                                           "sp_cursorunprepare",
                                           "sp_cursorfetch",
                                           "sp_cursoroption",
                                           "sp_cursorclose",
                                           "sp_executesql",
                                           "sp_prepare",
                                           "sp_execute",
                                           "sp_prepexec",
                                           "sp_prepexecrpc",
                                           "sp_unprepare"};
  return id < std::size(kNames) ? kNames[id] : "";
}

Value read_typed_value(ByteReader& in) {
  uint8_t type = in.u8();
  switch (type) {
    case kNull:
      return std::monostate{};
    case kInt1:
    case kInt2:
    case kInt4:
    case kInt8: {
      size_t size = type == kInt1 ? 1 : type == kInt2 ? 2 : type == kInt4 ? 4 : 8;
      return int_value(in.bytes(size));
    }
    case kBit:
      return in.u8() != 0;
    case kFlt4:
      return float_value(in.bytes(4));
    case kFlt8:
      return float_value(in.bytes(8));
    case kMoney:
      return money_value(in.bytes(8));
    case kMoney4:
      return money_value(in.bytes(4));
    case kDateTime:
      return datetime_value(in.bytes(8));
    case kDateTim4:
      return datetime_value(in.bytes(4));
    case kIntN:
    case kBitN:
    case kFltN:
    case kMoneyN:
    case kDateTimeN:
    case kGuid: {
      uint8_t max = in.u8();
      uint8_t len = in.u8();
      if (len == 0) return std::monostate{};
      if (len > max || len > 16)
        throw ProtocolError(fmt::format("value length {} exceeds its type's {}", len, max));
      auto b = in.bytes(len);
      switch (type) {
        case kIntN:
          if (len != 1 && len != 2 && len != 4 && len != 8) break;
          return int_value(b);
        case kBitN:
          return b[0] != 0;
        case kFltN:
          if (len != 4 && len != 8) break;
          return float_value(b);
        case kMoneyN:
          if (len != 4 && len != 8) break;
          return money_value(b);
        case kDateTimeN:
          if (len != 4 && len != 8) break;
          return datetime_value(b);
        case kGuid:
          if (len != 16) break;
          return guid_text(b);
      }
      throw ProtocolError(fmt::format("invalid value length {} for type 0x{:02X}", len, type));
    }
    case kDecimal:
    case kNumeric:
    case kDecimalN:
    case kNumericN: {
      in.u8();  // max length
      in.u8();  // precision
      uint8_t scale = in.u8();
      uint8_t len = in.u8();
      if (len == 0) return std::monostate{};
      return decimal_value(in.bytes(len), scale);
    }
    case kDateN:
      return date_family_value(in, type, 0);
    case kTimeN:
    case kDateTime2N:
    case kDateTimeOffsetN: {
      uint8_t scale = in.u8();
      return date_family_value(in, type, scale);
    }
    case kBigVarChar:
    case kBigChar:
    case kNVarChar:
    case kNChar: {
      bool plp = in.u16le() == kPlpMarker;
      Collation collation = read_collation(in);
      auto data = read_var_value(in, plp);
      if (!data) return std::monostate{};
      if (type == kNVarChar || type == kNChar) return utf16le_to_utf8(*data);
      return decode_chars(*data, collation);
    }
    case kBigVarBinary:
    case kBigBinary: {
      bool plp = in.u16le() == kPlpMarker;
      auto data = read_var_value(in, plp);
      if (!data) return std::monostate{};
      return std::move(*data);
    }
    case kVarChar:
    case kChar:
    case kVarBinary:
    case kBinary: {
      in.u8();  // max length
      auto data = read_byte_len_value(in);
      if (!data) return std::monostate{};
      if (type == kVarChar || type == kChar) return cp1252_to_utf8(*data);
      return std::move(*data);
    }
    case kText:
    case kNText:
    case kImage: {
      in.u32le();  // max length
      Collation collation;
      if (type != kImage) collation = read_collation(in);
      auto data = read_long_value(in);
      if (!data) return std::monostate{};
      if (type == kNText) return utf16le_to_utf8(*data);
      if (type == kText) return decode_chars(*data, collation);
      return std::move(*data);
    }
    case kXml: {
      if (in.u8() != 0) {  // schema collection: database, owner, name
        read_b_varchar(in);
        read_b_varchar(in);
        read_us_varchar(in);
      }
      auto data = read_plp(in);
      if (!data) return std::monostate{};
      return utf16le_to_utf8(*data);
    }
    default:
      throw SqlError(50000, 16,
                     fmt::format("bakrest does not support RPC parameters of TDS type 0x{:02X}.", type));
  }
}

std::vector<RpcCall> parse_rpc_request(std::span<const uint8_t> payload, TdsVersion version) {
  ByteReader in(strip_all_headers(payload, version));
  std::vector<RpcCall> calls;
  auto is_separator = [&](uint8_t b) { return version.has_72() ? (b == 0xFF || b == 0xFE) : b == 0x80; };
  while (!in.at_end()) {
    RpcCall& rpc = calls.emplace_back();
    std::string param_name;
    try {
      uint16_t name_length = in.u16le();
      if (name_length == 0xFFFF) {
        uint16_t id = in.u16le();
        rpc.proc_id = id;
        if (id == proc_id::kSpExecuteSql || id == proc_id::kSpPrepare || id == proc_id::kSpExecute ||
            id == proc_id::kSpPrepExec || id == proc_id::kSpUnprepare) {
          rpc.call.name = proc_id_name(id);
        } else {
          std::string known = proc_id_name(id);
          rpc.error = Message{
              50000,
              1,
              16,
              known.empty() ? fmt::format("bakrest does not support RPC procedure id {}.", id)
                            : fmt::format("bakrest does not support RPC procedure id {} ({}).", id, known),
              {},
              1};
        }
      } else {
        rpc.call.name = utf16le_to_utf8(in.bytes(size_t{name_length} * 2));
      }
      in.u16le();  // option flags: recompile, no metadata; nothing for us to do
      while (!in.at_end() && !is_separator(in.peek())) {
        ProcArg arg;
        arg.name = param_name = read_b_varchar(in);
        arg.output = (in.u8() & kStatusByRef) != 0;
        arg.value = read_typed_value(in);
        rpc.call.args.push_back(std::move(arg));
      }
    } catch (const SqlError& e) {
      Message m = e.message();
      if (!param_name.empty()) m.text = fmt::format("Parameter {}: {}", param_name, m.text);
      rpc.error = m;
      return calls;
    } catch (const ProtocolError& e) {
      rpc.error = Message{50000, 1, 16, fmt::format("Malformed RPC request: {}", e.what()), {}, 1};
      return calls;
    }
    if (!in.at_end()) in.u8();  // the separator
  }
  return calls;
}

}  // namespace bakrest::server
