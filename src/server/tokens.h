// Encoders for the server's response tokens, except result sets (see row_codec.h). Each function
// appends exactly one complete token.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/error.h"
#include "common/product_version.h"
#include "server/bytes.h"
#include "server/tds_version.h"

namespace bakrest::server {

namespace token {
inline constexpr uint8_t kReturnStatus = 0x79;
inline constexpr uint8_t kColMetadata = 0x81;
inline constexpr uint8_t kError = 0xAA;
inline constexpr uint8_t kReturnValue = 0xAC;
inline constexpr uint8_t kInfo = 0xAB;
inline constexpr uint8_t kLoginAck = 0xAD;
inline constexpr uint8_t kFeatureExtAck = 0xAE;
inline constexpr uint8_t kRow = 0xD1;
inline constexpr uint8_t kEnvChange = 0xE3;
inline constexpr uint8_t kDone = 0xFD;
inline constexpr uint8_t kDoneProc = 0xFE;
inline constexpr uint8_t kDoneInProc = 0xFF;
}  // namespace token

namespace done_status {
inline constexpr uint16_t kFinal = 0x00;
inline constexpr uint16_t kMore = 0x01;
inline constexpr uint16_t kError = 0x02;
inline constexpr uint16_t kCount = 0x10;
inline constexpr uint16_t kAttention = 0x20;
}  // namespace done_status

// The "current command" SQL Server reports in DONEPROC after an EXECUTE.
inline constexpr uint16_t kCurCmdExecute = 0xE0;

// DONE, DONEPROC or DONEINPROC: 13 bytes in TDS 7.2+ (u64 row count), 9 bytes in 7.1 (u32).
struct DoneToken {
  uint8_t token = token::kDone;
  uint16_t status = done_status::kFinal;
  uint16_t current_command = 0;
  uint64_t row_count = 0;
};
void write_done(ByteWriter& out, const DoneToken& done, TdsVersion version);

// INFO for severity <= 10, ERROR above. Text beyond what a u16 token length can hold is cut.
void write_message(ByteWriter& out, const Message& message, std::string_view server_name, TdsVersion version);

enum class EnvChange : uint8_t {
  kDatabase = 1,
  kLanguage = 2,
  kPacketSize = 4,
  kCollation = 7,
  kBeginTransaction = 8,
  kCommitTransaction = 9,
  kRollbackTransaction = 10,
  kResetConnection = 18,  // acknowledges RESETCONNECTION; both values empty
};
// The types whose values are B_VARCHAR text: database, language, packet size.
void write_envchange_text(ByteWriter& out, EnvChange type, std::string_view new_value,
                          std::string_view old_value);
// Session collation: SQL_Latin1_General_CP1_CI_AS.
void write_envchange_collation(ByteWriter& out);
// BEGIN carries the new 8-byte transaction descriptor; COMMIT and ROLLBACK carry the ended one as the
// old value.
void write_envchange_transaction(ByteWriter& out, EnvChange type, uint64_t descriptor);

// Interface 1 (T-SQL), the negotiated version big-endian, program name and product version.
void write_loginack(ByteWriter& out, TdsVersion version, const ProductVersion& product = {});
// Acknowledges the UTF8_SUPPORT feature; only when the client asked for it.
void write_featureextack_utf8(ByteWriter& out);

void write_return_status(ByteWriter& out, int32_t status);

}  // namespace bakrest::server
