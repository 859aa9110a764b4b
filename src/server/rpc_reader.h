// RPC requests: one or more procedure calls, each named or given by a well-known ProcID, with typed
// parameters decoded into Values.
//
// Type mapping: integers and BIT -> int64/bool; FLT4/FLT8/MONEY -> double; DECIMAL/NUMERIC -> int64
// when the scale is 0 and the value fits, else double; character types -> UTF-8 text (VARCHAR bytes
// are code page 1252 unless the collation says UTF-8); binary types -> Bytes; DATETIME, SMALLDATETIME,
// DATE, DATETIME2, DATETIMEOFFSET (its UTC instant) -> DateTime; TIME -> "HH:MM:SS[.fraction]" text;
// GUID -> "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"; XML -> text; NULL of any type -> monostate.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/error.h"
#include "common/proc_call.h"
#include "server/bytes.h"
#include "server/tds_version.h"

namespace bakrest::server {

namespace proc_id {
inline constexpr uint16_t kSpExecuteSql = 10;
inline constexpr uint16_t kSpPrepare = 11;
inline constexpr uint16_t kSpExecute = 12;
inline constexpr uint16_t kSpPrepExec = 13;
inline constexpr uint16_t kSpUnprepare = 15;
}  // namespace proc_id

struct RpcCall {
  // Named as SQL Server names the procedure: ProcID 10 becomes "sp_executesql", and the prepared
  // statement procedures (11, 12, 13, 15) their sp_ names.
  ProcCall call;
  std::optional<uint16_t> proc_id;  // set when the client gave a ProcID rather than a name
  // Set when the call cannot run: an unsupported ProcID (the cursor procedures), or a parameter bakrest
  // cannot decode (then the calls after it in the same request are lost, as their start cannot be found).
  std::optional<Message> error;
};

// Decodes every call in an RPC message (calls are separated by 0xFF/0xFE, or 0x80 in TDS 7.1).
std::vector<RpcCall> parse_rpc_request(std::span<const uint8_t> payload, TdsVersion version);

// One parameter value: TYPE_INFO followed by the value. Throws SqlError for a type bakrest does not
// take and ProtocolError for truncated data.
Value read_typed_value(ByteReader& in);

// The name SQL Server gives a well-known ProcID ("sp_prepare" for 11), or "" if it has none.
const char* proc_id_name(uint16_t id);

}  // namespace bakrest::server
