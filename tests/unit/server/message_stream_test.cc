#include "server/message_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/payload_reader.h"

namespace bakrest::server {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kAllowance = RequestBudget::kSessionAllowance;

Bytes bytes(size_t n, uint8_t fill) { return Bytes(n, fill); }

// The payload bytes the consumer takes until the end, in order.
Bytes drain(MessageStream& stream) {
  Bytes out;
  MessageStream::Piece piece;
  while (stream.next(piece)) out.insert(out.end(), piece.bytes.begin(), piece.bytes.end());
  return out;
}

// Waits (up to a minute) until condition holds; false if it never did.
template <typename Condition>
bool eventually(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);  // the poll's interval
  }
  return true;
}

// True when a thread has not set done within a moment: it waits. (It can only fail when the thread does not
// wait; a slow machine makes it pass without proving much, never fail.)
bool still_waiting(const std::atomic<bool>& done) {
  std::this_thread::sleep_for(100ms);
  return !done.load();
}

class MessageStreamTest : public ::testing::Test {
 protected:
  RequestBudget budget{64 * kAllowance, 64 * kAllowance};
  std::shared_ptr<RequestBudget::Account> account = budget.open_account();
};

TEST_F(MessageStreamTest, PayloadsArriveInOrderUntilTheEnd) {
  MessageStream stream(account, 1 << 20);
  EXPECT_TRUE(stream.push({1, 2}));
  EXPECT_TRUE(stream.push({}));  // an empty packet is counted, not queued
  EXPECT_TRUE(stream.push({3}));
  stream.end(MessageEnd::kComplete);
  EXPECT_FALSE(stream.push({4}));  // nothing after the end
  EXPECT_EQ(drain(stream), (Bytes{1, 2, 3}));
  MessageStream::Piece piece;
  EXPECT_FALSE(stream.next(piece));  // and the end stays the end
  EXPECT_EQ(stream.ended(), MessageEnd::kComplete);
  EXPECT_EQ(stream.packets(), 4u);
  EXPECT_EQ(stream.received_bytes(), 4u);
  EXPECT_EQ(stream.discard_rest(), MessageEnd::kComplete);
}

TEST_F(MessageStreamTest, HeldPayloadsAreAccountedUntilTaken) {
  MessageStream stream(account, 1 << 20);
  ASSERT_TRUE(stream.push(bytes(1000, 1)));
  ASSERT_TRUE(stream.push(bytes(500, 2)));
  EXPECT_EQ(account->held(), 1500u);
  MessageStream::Piece piece;
  ASSERT_TRUE(stream.next(piece));
  EXPECT_EQ(account->held(), 1500u);  // the piece taken holds its share until it is let go
  ASSERT_TRUE(stream.next(piece));
  EXPECT_EQ(account->held(), 500u);
  piece = MessageStream::Piece();
  EXPECT_EQ(account->held(), 0u);
}

TEST_F(MessageStreamTest, TheProducerWaitsWhileTheStreamHoldsItsLimit) {
  MessageStream stream(account, 10);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(stream.push(bytes(4, static_cast<uint8_t>(i))));
      ++pushed;
    }
    stream.end(MessageEnd::kComplete);
  });
  ASSERT_TRUE(eventually([&] { return pushed.load() >= 2; }));
  // A moment for a wrong third push to happen: a right stream never pushes it, so this cannot fail
  // spuriously.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(pushed.load(), 2);  // 8 bytes held; 4 more would pass the limit of 10
  EXPECT_LE(account->held(), 10u);
  MessageStream::Piece piece;
  ASSERT_TRUE(stream.next(piece));
  ASSERT_TRUE(eventually([&] { return pushed.load() >= 3; }));
  Bytes rest = drain(stream);
  producer.join();
  EXPECT_EQ(rest, (Bytes{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
}

TEST_F(MessageStreamTest, OnePayloadIsAlwaysTakenHoweverLarge) {
  MessageStream stream(account, 10);
  EXPECT_TRUE(stream.push(bytes(100, 7)));  // an empty stream takes it
  stream.end(MessageEnd::kComplete);
  EXPECT_EQ(drain(stream).size(), 100u);
}

TEST_F(MessageStreamTest, AnIgnoredMessageDropsWhatIsHeldAndThrows) {
  MessageStream stream(account, 1 << 20);
  ASSERT_TRUE(stream.push(bytes(100, 1)));
  stream.end(MessageEnd::kIgnored);
  EXPECT_EQ(account->held(), 0u);
  MessageStream::Piece piece;
  try {
    stream.next(piece);
    ADD_FAILURE() << "an ignored message read on";
  } catch (const MessageAbandoned& e) {
    EXPECT_EQ(e.how(), MessageEnd::kIgnored);
    EXPECT_EQ(e.refusal(), RequestBudget::Refusal::kNone);
    EXPECT_NE(std::string(e.what()).find("IGNORE"), std::string::npos);
  }
  EXPECT_THROW(stream.next(piece), MessageAbandoned);  // every time
  stream.end(MessageEnd::kComplete);                   // the first end counts
  EXPECT_EQ(stream.ended(), MessageEnd::kIgnored);
}

TEST_F(MessageStreamTest, AttentionAndAClosedConnectionAbandonTheMessage) {
  for (MessageEnd how : {MessageEnd::kAttention, MessageEnd::kClosed}) {
    MessageStream stream(account, 1 << 20);
    ASSERT_TRUE(stream.push({1}));
    stream.end(how);
    MessageStream::Piece piece;
    try {
      stream.next(piece);
      ADD_FAILURE() << "read on";
    } catch (const MessageAbandoned& e) {
      EXPECT_EQ(e.how(), how);
    }
  }
}

TEST_F(MessageStreamTest, DiscardingDropsTheRestAndWaitsForTheEnd) {
  MessageStream stream(account, 8);
  ASSERT_TRUE(stream.push(bytes(8, 1)));
  std::atomic<bool> discarded{false};
  MessageEnd how = MessageEnd::kOpen;
  std::thread consumer([&] {
    how = stream.discard_rest();
    discarded = true;
  });
  EXPECT_TRUE(eventually([&] { return account->held() == 0; }));  // what was held is dropped at once
  EXPECT_FALSE(stream.push(bytes(8, 2)));  // the rest is not wanted (and the producer does not wait)
  EXPECT_FALSE(stream.push(bytes(8, 3)));
  EXPECT_TRUE(still_waiting(discarded));  // but the consumer waits for the end of the message
  stream.end(MessageEnd::kComplete);
  consumer.join();
  EXPECT_EQ(how, MessageEnd::kComplete);
  EXPECT_EQ(stream.packets(), 3u);
  EXPECT_EQ(stream.received_bytes(), 24u);
  EXPECT_EQ(account->held(), 0u);
}

TEST_F(MessageStreamTest, ClosingWakesAProducerWaitingForRoom) {
  MessageStream stream(account, 4);
  ASSERT_TRUE(stream.push(bytes(4, 1)));
  std::atomic<bool> returned{false};
  bool wanted = true;
  std::thread producer([&] {
    wanted = stream.push(bytes(4, 2));  // full: waits for the consumer, which never comes
    returned = true;
  });
  EXPECT_TRUE(still_waiting(returned));
  stream.close();  // the session ends
  producer.join();
  EXPECT_FALSE(wanted);
  EXPECT_EQ(stream.ended(), MessageEnd::kClosed);
  EXPECT_EQ(account->held(), 0u);
}

TEST_F(MessageStreamTest, ClosingWakesAConsumerWaitingForPayloads) {
  MessageStream stream(account, 4);
  std::atomic<bool> threw{false};
  std::thread consumer([&] {
    MessageStream::Piece piece;
    try {
      stream.next(piece);
    } catch (const MessageAbandoned& e) {
      threw = e.how() == MessageEnd::kClosed;
    }
  });
  // A moment for the consumer to be waiting in next(). Should it not be yet, next() finds the stream closed
  // and throws all the same: the pause only widens what is tested, it cannot make the test fail.
  std::this_thread::sleep_for(50ms);
  stream.close();
  consumer.join();
  EXPECT_TRUE(threw.load());
  EXPECT_EQ(stream.discard_rest(), MessageEnd::kClosed);  // returns at once: the message has ended
}

TEST_F(MessageStreamTest, ABudgetRefusalAbandonsTheLoadButNotTheMessage) {
  RequestBudget small(4 * kAllowance, 4 * kAllowance);
  MessageStream stream(small.open_account(), 1 << 30);
  EXPECT_TRUE(stream.push(bytes(100, 1)));
  EXPECT_FALSE(stream.push(bytes(4 * kAllowance + 1, 2)));  // more than a session may hold
  EXPECT_FALSE(stream.push(bytes(1, 3)));                   // the rest is not wanted
  MessageStream::Piece piece;
  try {
    stream.next(piece);
    ADD_FAILURE() << "a refused message read on";
  } catch (const MessageAbandoned& e) {
    EXPECT_EQ(e.refusal(), RequestBudget::Refusal::kTooLarge);
    EXPECT_EQ(e.how(), MessageEnd::kOpen);  // the client is still sending it
  }
  EXPECT_EQ(stream.ended(), MessageEnd::kOpen);
  std::thread producer([&] {
    // A moment for discard_rest() to be waiting for the end; if it is not yet, it finds the end at once.
    std::this_thread::sleep_for(50ms);
    stream.end(MessageEnd::kComplete);
  });
  EXPECT_EQ(stream.discard_rest(), MessageEnd::kComplete);  // the reply still waits for the end
  producer.join();
}

// With the instance's shared budget full, a stream slows down to what the session's own allowance holds
// instead of refusing the load.
TEST_F(MessageStreamTest, AFullInstanceSlowsTheStreamDown) {
  RequestBudget full(8 * kAllowance, 1);  // nothing beyond each session's allowance
  auto mine = full.open_account();
  MessageStream stream(mine, 1 << 30);
  const size_t piece_size = kAllowance / 4;
  const int pieces = 40;  // ten allowances in all
  std::thread producer([&] {
    for (int i = 0; i < pieces; ++i) EXPECT_TRUE(stream.push(bytes(piece_size, static_cast<uint8_t>(i))));
    stream.end(MessageEnd::kComplete);
  });
  uint64_t total = 0;
  MessageStream::Piece piece;
  while (stream.next(piece)) {
    EXPECT_LE(mine->held(), kAllowance + 1);  // the shared total is one byte
    total += piece.bytes.size();
    piece = MessageStream::Piece();
    // A slow consumer, so that the producer fills the allowance and waits; the outcome does not depend on it.
    std::this_thread::sleep_for(1ms);
  }
  producer.join();
  EXPECT_EQ(total, piece_size * pieces);
  EXPECT_EQ(full.held(), 0u);
}

TEST(PayloadReaderTest, ReadsValuesThatSpanPackets) {
  RequestBudget budget(1 << 20, 1 << 20);
  MessageStream stream(budget.open_account(), 1 << 20);
  stream.push({0x01, 0x02});
  stream.push({0x03});
  stream.push({0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A});
  stream.push({0x0B, 0x0C, 0x0D});
  stream.end(MessageEnd::kComplete);
  PayloadReader in(stream);
  EXPECT_EQ(in.remaining(), std::nullopt);
  EXPECT_EQ(in.u16le(), 0x0201);
  EXPECT_EQ(in.u32le(), 0x06050403u);  // across three packets
  EXPECT_EQ(in.peek(), 0x07);
  auto b = in.bytes(5);  // across two, copied
  EXPECT_EQ(Bytes(b.begin(), b.end()), (Bytes{0x07, 0x08, 0x09, 0x0A, 0x0B}));
  EXPECT_EQ(in.position(), 11u);
  Bytes out;
  in.append(out, 1);
  EXPECT_EQ(out, (Bytes{0x0C}));
  EXPECT_FALSE(in.at_end());
  in.skip(1);
  EXPECT_TRUE(in.at_end());
  EXPECT_THROW(in.u8(), ProtocolError);
}

TEST(PayloadReaderTest, AWholePayloadKnowsWhatIsLeft) {
  Bytes payload = {1, 2, 3};
  PayloadReader in(payload);
  EXPECT_EQ(in.remaining(), 3u);
  in.skip(2);
  EXPECT_EQ(in.remaining(), 1u);
  try {
    in.u32le();
    ADD_FAILURE() << "read past the payload";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
}

}  // namespace
}  // namespace bakrest::server
