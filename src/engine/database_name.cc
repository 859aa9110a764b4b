#include "engine/database_name.h"

#include <cctype>
#include <cstdint>

namespace bakrest::engine {

namespace {

// Base letters for U+00C0..U+00FF; empty where the character is not a letter with an accent to drop.
const char* const kLatin1Fold[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // C0-CF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // D0-DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // E0-EF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // F0-FF
};

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> database_name_problem(std::string_view name) {
  if (name.empty()) return "The database name is empty.";
  if (name.size() > 128) return "The database name is longer than 128 characters.";
  if (starts_with_ignoring_case(name, "rdsadmin")) return "Database names can't start with 'rdsadmin'.";
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  if (blank(name.front()) || blank(name.back()))
    return "Database names can't start or end with a space or tab.";
  for (char c : name) {
    if (c == '\n' || c == '\r') return "Database names can't contain a newline.";
    if (c == '\'') return "Database names can't contain a single quote.";
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      return "Database names can't contain control characters.";
  }
  return std::nullopt;
}

std::string database_name_key(std::string_view name) {
  std::string key;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    // Two-byte UTF-8 sequences C3 80..C3 BF are U+00C0..U+00FF.
    if (c == 0xC3 && i + 1 < name.size()) {
      auto next = static_cast<unsigned char>(name[i + 1]);
      if (next >= 0x80 && next <= 0xBF && kLatin1Fold[next - 0x80][0] != '\0') {
        key += kLatin1Fold[next - 0x80];
        ++i;
        continue;
      }
    }
    key += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
  }
  return key;
}

}  // namespace bakrest::engine
