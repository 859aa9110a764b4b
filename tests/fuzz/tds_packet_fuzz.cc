// TDS packet reassembly: read_message() over a byte stream delivered in reads of a fuzzed size, with a
// fuzzed payload cap, or (as a logged-in session reads) with a RequestBudget of fuzzed limits. Every message
// read must survive a round trip through MessageWriter; a budgeted one holds no more than its limits allow
// and gives its bytes back.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.h"
#include "server/bytes.h"
#include "server/packet.h"

using namespace bakrest;

namespace {

void check_round_trip(const server::InMessage& message, size_t packet_size) {
  fuzz::MemoryStream out({}, 1);
  server::MessageWriter writer(out, 51, packet_size);
  writer.begin(message.type);
  writer.write(message.payload);
  writer.end();
  fuzz::MemoryStream in(out.written, out.written.size());
  auto again = server::read_message(in, message.payload.size());
  fuzz::check(again.has_value(), "a written message reads back");
  fuzz::check(again->type == message.type, "a written message keeps its type");
  fuzz::check(again->payload == message.payload, "a written message keeps its payload");
  fuzz::check(!server::read_message(in, message.payload.size()), "nothing follows a written message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  size_t chunk = provider.ConsumeIntegralInRange<size_t>(1, 4096);
  size_t max_payload = provider.ConsumeIntegralInRange<size_t>(0, 1 << 16);
  size_t packet_size =
      provider.ConsumeIntegralInRange<size_t>(server::kMinPacketSize, server::kMaxPacketSize);
  bool budgeted = provider.ConsumeBool();
  std::vector<uint8_t> stream = provider.ConsumeRemainingBytes<uint8_t>();
  fuzz::MemoryStream in(stream, chunk);
  if (budgeted) {
    server::RequestBudget budget(max_payload, max_payload / 2);
    auto account = budget.open_account();
    try {
      while (auto message = server::read_message(in, *account)) {
        if (message->refused != server::RequestBudget::Refusal::kNone) {
          fuzz::check(message->payload.empty() && message->reservation.bytes() == 0,
                      "a refused message is dropped");
          continue;
        }
        fuzz::check(message->payload.size() <= max_payload, "a message stays within the session's limit");
        fuzz::check(message->reservation.bytes() == message->payload.size(),
                    "a message holds what it reserved");
      }
    } catch (const server::ProtocolError&) {
    }
    fuzz::check(account->held() == 0 && budget.held() == 0, "every message gives its bytes back");
    return 0;
  }
  try {
    while (auto message = server::read_message(in, max_payload)) {
      fuzz::check(message->payload.size() <= max_payload, "a message stays within max_payload");
      if (message->type == server::PacketType::kAttention) continue;  // cannot be written in the middle
      check_round_trip(*message, packet_size);
    }
  } catch (const server::ProtocolError&) {
  }
  return 0;
}
