// Small helpers the T-SQL front shares for looking at tokens and building SQL text. Internal to sql/.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/text.h"  // iequals
#include "sql/parser.h"

namespace bakrest::sql {

inline char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

inline std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

inline bool iequals_any(std::string_view word, std::initializer_list<std::string_view> candidates) {
  for (std::string_view c : candidates) {
    if (iequals(word, c)) return true;
  }
  return false;
}

inline bool is_word(const Token* t, std::string_view keyword) {
  return t != nullptr && t->kind == TokenKind::kWord && iequals(t->text, keyword);
}

inline bool is_word_any(const Token* t, std::initializer_list<std::string_view> keywords) {
  return t != nullptr && t->kind == TokenKind::kWord && iequals_any(t->text, keywords);
}

inline bool is_punct(const Token* t, std::string_view punct) {
  return t != nullptr && t->kind == TokenKind::kPunct && t->text == punct;
}

// A name part: an identifier or a [quoted] / "quoted" name.
inline bool is_name(const Token* t) {
  return t != nullptr && (t->kind == TokenKind::kWord || t->kind == TokenKind::kQuotedName);
}

// The token at index i, or nullptr past the end: lets look-ahead code skip bounds checks.
inline const Token* token_at(const std::vector<Token>& tokens, size_t i) {
  return i < tokens.size() ? &tokens[i] : nullptr;
}

inline std::string quote_with(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    out += c;
    if (c == quote) out += quote;
  }
  out += quote;
  return out;
}

inline std::string quote_identifier(std::string_view name) { return quote_with(name, '"'); }
inline std::string quote_string(std::string_view text) { return quote_with(text, '\''); }

// SQL Server's generic parse error.
inline SqlError syntax_error_near(std::string_view near) {
  return SqlError(102, 15, "Incorrect syntax near '" + std::string(near) + "'.");
}

// T-SQL that bakrest understands but does not run (yet). 40517 is the number SQL Server uses for
// "statement option is not supported in this version".
inline SqlError not_supported(std::string text) { return SqlError(40517, 16, std::move(text)); }

}  // namespace bakrest::sql
