// The TDS data type codes (MS-TDS 2.2.5.4.1–3, the TYPE_INFO of a column or a parameter): one list for every
// reader and writer of values on the wire — RPC parameters (rpc_reader), bulk load rows (bulk_load) and
// result rows (row_codec).
//
// The legacy types (INT1 to NUMERIC, and the short VARCHAR/VARBINARY/CHAR/BINARY) are what TDS 4.2 clients
// sent; TDS 7 clients still send some of them (FreeTDS's bcp sends INT4, FLT8, ...). The "N" types are the
// nullable forms with a length byte; the "Big" ones carry a two-byte length, 0xFFFF marking a (MAX) value
// sent as PLP.
#pragma once

#include <cstdint>

namespace bakrest::server::tds_type {

enum Code : uint8_t {
  // Fixed length.
  kNull = 0x1F,
  kInt1 = 0x30,
  kBit = 0x32,
  kInt2 = 0x34,
  kInt4 = 0x38,
  kDateTim4 = 0x3A,
  kFlt4 = 0x3B,
  kMoney = 0x3C,
  kDateTime = 0x3D,
  kFlt8 = 0x3E,
  kMoney4 = 0x7A,
  kInt8 = 0x7F,
  // Variable length, one length byte.
  kGuid = 0x24,
  kIntN = 0x26,
  kDecimal = 0x37,  // legacy; MS-TDS says to send DECIMALN
  kNumeric = 0x3F,  // legacy; MS-TDS says to send NUMERICN
  kBitN = 0x68,
  kDecimalN = 0x6A,
  kNumericN = 0x6C,
  kFltN = 0x6D,
  kMoneyN = 0x6E,
  kDateTimeN = 0x6F,
  kDateN = 0x28,
  kTimeN = 0x29,
  kDateTime2N = 0x2A,
  kDateTimeOffsetN = 0x2B,
  kChar = 0x2F,       // legacy
  kVarChar = 0x27,    // legacy
  kBinary = 0x2D,     // legacy
  kVarBinary = 0x25,  // legacy
  // Variable length, two length bytes (0xFFFF: a (MAX) value, sent as PLP).
  kBigVarBinary = 0xA5,
  kBigVarChar = 0xA7,
  kBigBinary = 0xAD,
  kBigChar = 0xAF,
  kNVarChar = 0xE7,
  kNChar = 0xEF,
  // Variable length, four length bytes (and a table name in TYPE_INFO).
  kImage = 0x22,
  kText = 0x23,
  kNText = 0x63,
  // PLP.
  kXml = 0xF1,
};

}  // namespace bakrest::server::tds_type
