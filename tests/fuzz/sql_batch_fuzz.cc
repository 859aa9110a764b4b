// SQL_BATCH and transaction manager request bodies: decode_sql_batch() and parse_transaction_request() on a
// payload under a fuzzed TDS version (the last four input bytes, little endian, go to TdsVersion::negotiate).
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.h"
#include "server/bytes.h"
#include "server/requests.h"
#include "server/text.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  auto version = server::TdsVersion::negotiate(provider.ConsumeIntegral<uint32_t>());
  std::vector<uint8_t> payload = provider.ConsumeRemainingBytes<uint8_t>();

  std::span<const uint8_t> body = server::strip_all_headers(payload, version);
  fuzz::check(body.data() >= payload.data() && body.data() + body.size() == payload.data() + payload.size(),
              "ALL_HEADERS is stripped from the front of the payload");
  std::string text = server::decode_sql_batch(payload, version);
  // Decoded text is valid UTF-8, so it survives the trip to UTF-16 and back unchanged.
  fuzz::check(server::utf16_to_utf8(server::utf8_to_utf16(text)) == text, "batch text is valid UTF-8");

  try {
    server::TransactionRequest request = server::parse_transaction_request(payload, version);
    (void)request;
  } catch (const server::ProtocolError&) {
  }
  return 0;
}
