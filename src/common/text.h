// ASCII case folding for SQL names and keywords (identifiers compare without regard to ASCII case).
#pragma once

#include <cctype>
#include <string>

namespace bakrest {

inline std::string ascii_lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

inline std::string ascii_upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace bakrest
