// TDS packet reassembly: read_message() over a byte stream delivered in reads of a fuzzed size, with a
// fuzzed payload cap, or as a logged-in session reads: read_packet_header(), then BULK_LOAD messages streamed
// (stream_message() into a MessageStream) and the others read whole (read_message_from()) with a
// RequestBudget of fuzzed limits. Every message read must survive a round trip through MessageWriter; a
// budgeted one holds no more than its limits allow and gives its bytes back; a streamed one ends (with
// kClosed when reading it fails), returns an ATTENTION header exactly when one cut it short, and a complete
// one hands over every byte.
#include <fuzzer/FuzzedDataProvider.h>

#include <limits>
#include <optional>
#include <utility>

#include "fuzz_support.h"
#include "server/bytes.h"
#include "server/message_stream.h"
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
    // Streams with no request thread to take their packets: never full, so push() never waits.
    server::RequestBudget stream_budget(uint64_t{1} << 30, uint64_t{1} << 30);
    try {
      std::optional<server::PacketHeader> next;
      for (;;) {
        auto first = next ? std::exchange(next, std::nullopt) : server::read_packet_header(in);
        if (!first) break;
        if (first->type == static_cast<uint8_t>(server::PacketType::kBulkLoad)) {
          server::MessageStream streamed(stream_budget.open_account(), std::numeric_limits<uint64_t>::max());
          try {
            next = server::stream_message(in, *first, streamed);
          } catch (const server::ProtocolError&) {
            fuzz::check(streamed.ended() == server::MessageEnd::kClosed, "a stream that fails is closed");
            throw;
          }
          fuzz::check(streamed.ended() != server::MessageEnd::kOpen, "a streamed message ends");
          fuzz::check(next.has_value() == (streamed.ended() == server::MessageEnd::kAttention),
                      "an ATTENTION header is returned exactly when one cut the message short");
          if (streamed.ended() == server::MessageEnd::kComplete) {
            uint64_t total = 0;
            server::MessageStream::Piece piece;
            while (streamed.next(piece)) total += piece.bytes.size();
            fuzz::check(total == streamed.received_bytes(), "a complete stream hands over every byte");
          }
          continue;
        }
        auto message = server::read_message_from(in, *first, *account);
        if (!message) continue;  // IGNORE
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
    fuzz::check(stream_budget.held() == 0, "every stream gives its bytes back");
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
