#include "server/login7.h"

#include <fmt/format.h>

#include "server/bytes.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

constexpr size_t kFixedSize = 36;
constexpr size_t kOffsetTableEnd = 86;  // through cbAtchDBFile; TDS 7.2 appends more we do not need

constexpr uint8_t kIntSecurity = 0x80;     // OptionFlags2
constexpr uint8_t kReadOnlyIntent = 0x20;  // TypeFlags
constexpr uint8_t kExtension = 0x10;       // OptionFlags3

uint8_t swap_nibbles(uint8_t b) { return static_cast<uint8_t>(b << 4 | b >> 4); }

std::span<const uint8_t> field_bytes(std::span<const uint8_t> payload, size_t table_pos, const char* name,
                                     size_t unit) {
  ByteReader r(payload.subspan(table_pos, 4));
  size_t offset = r.u16le();
  size_t length = r.u16le() * unit;
  if (length == 0) return {};
  if (offset + length > payload.size()) {
    throw ProtocolError(fmt::format("LOGIN7 field {} lies outside the packet", name));
  }
  return payload.subspan(offset, length);
}

std::string text_field(std::span<const uint8_t> payload, size_t table_pos, const char* name) {
  return utf16le_to_utf8(field_bytes(payload, table_pos, name, 2));
}

// FeatureExt is a list of {id u8, length u32, data} ending with 0xFF. A malformed list only means we
// ignore features, so parsing stops quietly at the first inconsistency.
bool feature_ext_requests_utf8(std::span<const uint8_t> payload) {
  auto pointer = field_bytes(payload, 56, "Extension", 1);
  if (pointer.size() < 4) return false;
  size_t offset = ByteReader(pointer).u32le();
  if (offset >= payload.size()) return false;
  ByteReader r(payload.subspan(offset));
  try {
    for (;;) {
      uint8_t id = r.u8();
      if (id == 0xFF) return false;
      uint32_t length = r.u32le();
      r.skip(length);
      if (id == feature_id::kUtf8Support) return true;
    }
  } catch (const ProtocolError&) {
    return false;
  }
}

}  // namespace

std::string decode_password(std::span<const uint8_t> scrambled) {
  Bytes plain(scrambled.begin(), scrambled.end());
  for (uint8_t& b : plain) b = swap_nibbles(b ^ 0xA5);
  return utf16le_to_utf8(plain);
}

Bytes encode_password(std::string_view utf8) {
  ByteWriter out;
  put_utf16le(out, utf8_to_utf16(utf8));
  Bytes bytes = out.take();
  for (uint8_t& b : bytes) b = swap_nibbles(b) ^ 0xA5;
  return bytes;
}

Login7 parse_login7(std::span<const uint8_t> payload) {
  if (payload.size() < kOffsetTableEnd) {
    throw ProtocolError(fmt::format("LOGIN7 of {} bytes is shorter than its fixed part", payload.size()));
  }
  ByteReader fixed(payload.first(kFixedSize));
  uint32_t declared_length = fixed.u32le();
  if (declared_length < kOffsetTableEnd || declared_length > payload.size()) {
    throw ProtocolError(
        fmt::format("LOGIN7 declares {} bytes but carries {}", declared_length, payload.size()));
  }
  payload = payload.first(declared_length);

  Login7 login;
  login.tds_version = fixed.u32le();
  login.packet_size = fixed.u32le();
  login.client_version = fixed.u32le();
  login.client_pid = fixed.u32le();
  fixed.skip(4);  // ConnectionID
  fixed.skip(1);  // OptionFlags1
  uint8_t option_flags2 = fixed.u8();
  uint8_t type_flags = fixed.u8();
  uint8_t option_flags3 = fixed.u8();
  login.integrated_security = (option_flags2 & kIntSecurity) != 0;
  login.read_only_intent = (type_flags & kReadOnlyIntent) != 0;

  login.host_name = text_field(payload, 36, "HostName");
  login.user_name = text_field(payload, 40, "UserName");
  login.password = decode_password(field_bytes(payload, 44, "Password", 2));
  login.app_name = text_field(payload, 48, "AppName");
  login.server_name = text_field(payload, 52, "ServerName");
  login.library_name = text_field(payload, 60, "CltIntName");
  login.language = text_field(payload, 64, "Language");
  login.database = text_field(payload, 68, "Database");
  if (option_flags3 & kExtension) login.requests_utf8 = feature_ext_requests_utf8(payload);
  return login;
}

}  // namespace bakrest::server
