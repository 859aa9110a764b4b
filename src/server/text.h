// Text conversions between bakrest's UTF-8 strings and what TDS carries: UTF-16LE for N-types and
// names, single-byte code page 1252 for VARCHAR data. Invalid input becomes U+FFFD, never an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "server/bytes.h"

namespace bakrest::server {

std::u16string utf8_to_utf16(std::string_view utf8);
std::string utf16_to_utf8(std::u16string_view utf16);
std::string utf16le_to_utf8(std::span<const uint8_t> bytes);  // an odd trailing byte is ignored
std::string cp1252_to_utf8(std::span<const uint8_t> bytes);

// At most `max_units` UTF-16 code units of `s`, never splitting a surrogate pair.
std::u16string_view truncate_utf16(std::u16string_view s, size_t max_units);

void put_utf16le(ByteWriter& out, std::u16string_view s);

// B_VARCHAR: u8 length in UTF-16 units, then UTF-16LE. Longer text is truncated to 255 units.
void put_b_varchar(ByteWriter& out, std::string_view utf8);
std::string read_b_varchar(ByteReader& in);
// B_VARBYTE holding UTF-16LE text: u8 length in bytes (the transaction manager's names, MS-TDS 2.2.6.9).
std::string read_b_varbyte_text(ByteReader& in);

// US_VARCHAR: u16 length in UTF-16 units, then UTF-16LE. Longer text is truncated to 65535 units.
void put_us_varchar(ByteWriter& out, std::string_view utf8);
std::string read_us_varchar(ByteReader& in);

}  // namespace bakrest::server
