// LOGIN7: the client's credentials and session options. Strings live after a fixed 36-byte part and a
// table of (offset, length-in-UTF-16-units) pairs; each is read by its offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/value.h"

namespace bakrest::server {

namespace feature_id {
inline constexpr uint8_t kUtf8Support = 0x0A;
}

struct Login7 {
  uint32_t tds_version = 0;     // as the client asked, before negotiation
  uint32_t packet_size = 0;     // 0: the server's default
  uint32_t client_version = 0;  // ClientProgVer
  uint32_t client_pid = 0;
  bool integrated_security = false;  // Windows authentication, which bakrest does not offer
  bool read_only_intent = false;
  std::string host_name;
  std::string user_name;
  std::string password;
  std::string app_name;
  std::string server_name;
  std::string library_name;
  std::string language;
  std::string database;
  bool requests_utf8 = false;  // FeatureExt asked for UTF8_SUPPORT
};

// Throws ProtocolError when the fixed part is short or a field lies outside the payload.
Login7 parse_login7(std::span<const uint8_t> payload);

// The client stores each password byte with its nibbles swapped and then XORed with 0xA5.
std::string decode_password(std::span<const uint8_t> scrambled);
Bytes encode_password(std::string_view utf8);  // the client's side, for tests and tools

}  // namespace bakrest::server
