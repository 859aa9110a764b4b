#include "server/tokens.h"

#include "server/login7.h"
#include "server/server_info.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

// Keeps an ERROR/INFO token's u16 length in range however long the message is.
constexpr size_t kMaxMessageUnits = 30000;

}  // namespace

void write_done(ByteWriter& out, const DoneToken& done, TdsVersion version) {
  out.u8(done.token);
  out.u16le(done.status);
  out.u16le(done.current_command);
  if (version.has_72()) {
    out.u64le(done.row_count);
  } else {
    out.u32le(static_cast<uint32_t>(done.row_count));
  }
}

void write_message(ByteWriter& out, const Message& message, std::string_view server_name,
                   TdsVersion version) {
  out.u8(message.severity > 10 ? token::kError : token::kInfo);
  size_t length_at = out.size();
  out.u16le(0);
  out.i32le(message.number);
  out.u8(message.state);
  out.u8(message.severity);
  std::u16string text = utf8_to_utf16(message.text);
  auto cut = truncate_utf16(text, kMaxMessageUnits);
  out.u16le(static_cast<uint16_t>(cut.size()));
  put_utf16le(out, cut);
  put_b_varchar(out, server_name);
  put_b_varchar(out, message.procedure);
  if (version.has_72()) {
    out.i32le(message.line);
  } else {
    out.u16le(static_cast<uint16_t>(message.line));
  }
  out.patch_u16le(length_at, static_cast<uint16_t>(out.size() - length_at - 2));
}

void write_envchange_text(ByteWriter& out, EnvChange type, std::string_view new_value,
                          std::string_view old_value) {
  out.u8(token::kEnvChange);
  size_t length_at = out.size();
  out.u16le(0);
  out.u8(static_cast<uint8_t>(type));
  put_b_varchar(out, new_value);
  put_b_varchar(out, old_value);
  out.patch_u16le(length_at, static_cast<uint16_t>(out.size() - length_at - 2));
}

void write_envchange_collation(ByteWriter& out) {
  out.u8(token::kEnvChange);
  out.u16le(3 + sizeof kDefaultCollation);
  out.u8(static_cast<uint8_t>(EnvChange::kCollation));
  out.u8(sizeof kDefaultCollation);
  out.bytes(kDefaultCollation);
  out.u8(0);
}

void write_envchange_transaction(ByteWriter& out, EnvChange type, uint64_t descriptor) {
  out.u8(token::kEnvChange);
  out.u16le(1 + 1 + 8 + 1);
  out.u8(static_cast<uint8_t>(type));
  if (type == EnvChange::kBeginTransaction) {
    out.u8(8);
    out.u64le(descriptor);
    out.u8(0);
  } else {
    out.u8(0);
    out.u8(8);
    out.u64le(descriptor);
  }
}

void write_loginack(ByteWriter& out, TdsVersion version, const ProductVersion& product) {
  out.u8(token::kLoginAck);
  size_t length_at = out.size();
  out.u16le(0);
  out.u8(1);  // SQL_TSQL; FreeTDS refuses anything else
  out.u32be(version.value());
  put_b_varchar(out, kProgramName);
  out.u8(static_cast<uint8_t>(product.major));
  out.u8(static_cast<uint8_t>(product.minor));
  out.u16be(static_cast<uint16_t>(product.build));
  out.patch_u16le(length_at, static_cast<uint16_t>(out.size() - length_at - 2));
}

void write_featureextack_utf8(ByteWriter& out) {
  out.u8(token::kFeatureExtAck);
  out.u8(feature_id::kUtf8Support);
  out.u32le(1);
  out.u8(0x01);  // UTF-8 supported
  out.u8(0xFF);
}

void write_return_status(ByteWriter& out, int32_t status) {
  out.u8(token::kReturnStatus);
  out.i32le(status);
}

}  // namespace bakrest::server
