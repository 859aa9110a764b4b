#include "server/requests.h"

#include "server/bytes.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

constexpr uint16_t kTmBegin = 5;
constexpr uint16_t kTmCommit = 7;
constexpr uint16_t kTmRollback = 8;
constexpr uint16_t kTmSave = 9;
constexpr uint8_t kBeginXact = 0x01;

}  // namespace

std::span<const uint8_t> strip_all_headers(std::span<const uint8_t> payload, TdsVersion version) {
  if (!version.has_72() || payload.size() < 4) return payload;
  uint32_t total = ByteReader(payload).u32le();
  if (total < 4 || total > payload.size()) return payload;
  return payload.subspan(total);
}

std::string decode_sql_batch(std::span<const uint8_t> payload, TdsVersion version) {
  return utf16le_to_utf8(strip_all_headers(payload, version));
}

// The names in these requests are B_VARBYTE: their length counts bytes, not characters (tedious and
// Microsoft's drivers send them so).
TransactionRequest parse_transaction_request(std::span<const uint8_t> payload, TdsVersion version) {
  ByteReader in(strip_all_headers(payload, version));
  TransactionRequest request;
  request.request_type = in.u16le();
  // The rest is optional detail; a short body still names the request.
  try {
    switch (request.request_type) {
      case kTmBegin:
        request.kind = TransactionRequest::Kind::kBegin;
        in.u8();  // isolation level
        request.name = read_b_varbyte_text(in);
        break;
      case kTmCommit:
      case kTmRollback:
        request.kind = request.request_type == kTmCommit ? TransactionRequest::Kind::kCommit
                                                         : TransactionRequest::Kind::kRollback;
        request.name = read_b_varbyte_text(in);
        request.begin_after = (in.u8() & kBeginXact) != 0;
        break;
      case kTmSave:
        request.kind = TransactionRequest::Kind::kSave;
        request.name = read_b_varbyte_text(in);
        break;
      default:
        request.kind = TransactionRequest::Kind::kUnsupported;
        break;
    }
  } catch (const ProtocolError&) {
  }
  return request;
}

}  // namespace bakrest::server
