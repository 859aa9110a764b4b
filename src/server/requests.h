// Decoding of client request bodies: the ALL_HEADERS prefix, SQL_BATCH text and transaction manager
// requests. RPC bodies have their own reader (rpc_reader.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "server/tds_version.h"

namespace bakrest::server {

// The payload after ALL_HEADERS (TDS 7.2+). A prefix whose length does not fit the payload is taken
// to be absent, which tolerates clients that omit it.
std::span<const uint8_t> strip_all_headers(std::span<const uint8_t> payload, TdsVersion version);

// SQL_BATCH: UTF-16LE text after ALL_HEADERS, returned as UTF-8.
std::string decode_sql_batch(std::span<const uint8_t> payload, TdsVersion version);

struct TransactionRequest {
  enum class Kind { kBegin, kCommit, kRollback, kSave, kUnsupported };
  Kind kind = Kind::kUnsupported;
  uint16_t request_type = 0;
  std::string name;          // the transaction name, usually empty
  bool begin_after = false;  // COMMIT/ROLLBACK that also start a new transaction (fBeginXact)
};

// Transaction manager (0x0E) request. Throws ProtocolError when the request type is missing.
TransactionRequest parse_transaction_request(std::span<const uint8_t> payload, TdsVersion version);

}  // namespace bakrest::server
