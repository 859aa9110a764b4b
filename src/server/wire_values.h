// The fixed wire encodings of TDS values (MS-TDS 2.2.5.5.1) that more than one reader or writer of values
// shares: RPC parameters (rpc_reader), bulk load rows (bulk_load) and result rows (row_codec). A decoding
// that the readers do differently (DECIMAL, MONEY, DATE and DATETIME2 parameters) stays with its reader.
//
// Callers pass spans of the sizes stated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/value.h"

namespace bakrest::server {

// The bytes of the time part of TIME, DATETIME2 and DATETIMEOFFSET at a scale of 0..7 fraction digits.
size_t time_bytes(int scale);

// A little-endian two's-complement integer of 1..8 bytes.
int64_t signed_le(std::span<const uint8_t> bytes);
// INT1 (unsigned), INT2, INT4 or INT8 by its size (1, 2, 4 or 8 bytes).
Value int_value(std::span<const uint8_t> bytes);
// FLT4 or FLT8 by its size (4 or 8 bytes).
Value float_value(std::span<const uint8_t> bytes);
// A UNIQUEIDENTIFIER's 16 bytes as SQL Server spells it: "6F9619FF-8B86-D011-B42D-00C04FC964FF".
std::string guid_text(std::span<const uint8_t> bytes);

// DATE, TIME, DATETIME2 or DATETIMEOFFSET (code: tds_type::kDateN, ...) from the bytes the type has at a
// scale of 0..7 fraction digits (time_bytes(scale) of time, then 3 of days from 0001-01-01, then 2 of offset
// minutes; the caller checks the size): DATE as a DateTime at midnight, TIME as "HH:MM:SS.fffffff",
// DATETIME2 as "YYYY-MM-DD HH:MM:SS.fffffff", DATETIMEOFFSET as "YYYY-MM-DD HH:MM:SS.fffffff +hh:mm" at its
// offset (the wire carries UTC and the offset). Throws ProtocolError for a time that is not a time of day, a
// day after 9999-12-31 and an offset outside -14:00 .. +14:00.
Value date_time_value(std::span<const uint8_t> bytes, uint8_t code, int scale);

}  // namespace bakrest::server
