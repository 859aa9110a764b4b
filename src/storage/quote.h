// Quoting of user-supplied names (ARNs, keys, paths) inside error sentences.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace bakrest::storage {

// 'text' in single quotes; control bytes are shown as \xNN so a message never carries raw control
// characters (a stray newline or escape sequence in an ARN must not garble a client's terminal or log).
inline std::string in_quotes(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace bakrest::storage
