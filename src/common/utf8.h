// UTF-8, bakrest's text everywhere: one code point at a time. Malformed input (a bad lead or continuation
// byte, an overlong form, a surrogate, a value past U+10FFFF, a sequence cut short) decodes to U+FFFD, never
// an error, so hostile text can't stop a decoder.
#pragma once

#include <string>
#include <string_view>

namespace bakrest {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// Appends the UTF-8 form of cp (which must be at most U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

// Decodes the code point at s[i] (i < s.size()) and moves i past it: past the whole sequence when it is
// well-formed, past its lead byte alone, or up to the first byte that does not belong, when it is not.
char32_t next_code_point(std::string_view s, size_t& i);

// Every code point of s (T-SQL counts characters, not bytes).
std::u32string code_points(std::string_view s);

// The UTF-8 form of code points.
std::string to_utf8(std::u32string_view code_points);

// Whether s is well-formed UTF-8 of characters XML 1.0 can carry (no control characters but tab, line feed
// and carriage return; no U+FFFE, U+FFFF): text that can go into an XML reply as it is.
bool is_xml_text(std::string_view s);

}  // namespace bakrest
