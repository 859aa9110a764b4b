#include "server/text.h"

#include "common/utf8.h"

namespace bakrest::server {
namespace {

constexpr char32_t kReplacement = kReplacementCharacter;

bool is_high_surrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_low_surrogate(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

// Code page 1252 bytes 0x80..0x9F; the rest of the page equals Latin-1. Undefined bytes map to U+FFFD.
constexpr char16_t kCp1252High[32] = {0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
                                      0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

}  // namespace

std::u16string utf8_to_utf16(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    char32_t cp = next_code_point(utf8, i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 | (cp >> 10));
      out += static_cast<char16_t>(0xDC00 | (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

std::string utf16_to_utf8(std::u16string_view utf16) {
  std::string out;
  out.reserve(utf16.size());
  for (size_t i = 0; i < utf16.size(); ++i) {
    char16_t c = utf16[i];
    if (is_high_surrogate(c) && i + 1 < utf16.size() && is_low_surrogate(utf16[i + 1])) {
      append_utf8(out, 0x10000 + ((char32_t{c} - 0xD800) << 10) + (utf16[i + 1] - 0xDC00));
      ++i;
    } else if (is_high_surrogate(c) || is_low_surrogate(c)) {
      append_utf8(out, kReplacement);
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

std::string utf16le_to_utf8(std::span<const uint8_t> bytes) {
  std::u16string units(bytes.size() / 2, u'\0');
  for (size_t i = 0; i < units.size(); ++i) {
    units[i] = static_cast<char16_t>(bytes[2 * i] | bytes[2 * i + 1] << 8);
  }
  return utf16_to_utf8(units);
}

std::string cp1252_to_utf8(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (uint8_t b : bytes) {
    append_utf8(out, b >= 0x80 && b < 0xA0 ? kCp1252High[b - 0x80] : char32_t{b});
  }
  return out;
}

std::u16string_view truncate_utf16(std::u16string_view s, size_t max_units) {
  if (s.size() <= max_units) return s;
  size_t n = max_units;
  if (n > 0 && is_high_surrogate(s[n - 1])) --n;
  return s.substr(0, n);
}

void put_utf16le(ByteWriter& out, std::u16string_view s) {
  for (char16_t c : s) out.u16le(c);
}

void put_b_varchar(ByteWriter& out, std::string_view utf8) {
  std::u16string units = utf8_to_utf16(utf8);
  auto text = truncate_utf16(units, 0xFF);
  out.u8(static_cast<uint8_t>(text.size()));
  put_utf16le(out, text);
}

std::string read_b_varchar(ByteReader& in) {
  size_t units = in.u8();
  return utf16le_to_utf8(in.bytes(units * 2));
}

std::string read_b_varbyte_text(ByteReader& in) {
  size_t bytes = in.u8();
  return utf16le_to_utf8(in.bytes(bytes));
}

void put_us_varchar(ByteWriter& out, std::string_view utf8) {
  std::u16string units = utf8_to_utf16(utf8);
  auto text = truncate_utf16(units, 0xFFFF);
  out.u16le(static_cast<uint16_t>(text.size()));
  put_utf16le(out, text);
}

std::string read_us_varchar(ByteReader& in) {
  size_t units = in.u16le();
  return utf16le_to_utf8(in.bytes(units * 2));
}

}  // namespace bakrest::server
