#include "server/packet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "server/bytes.h"
#include "server/message_stream.h"
#include "support/tds_bytes.h"

namespace bakrest::server {
namespace {

using namespace tds_bytes;

// Reads from a fixed byte string, at most `chunk` bytes per call, and records what is written.
class MemoryStream : public Stream {
 public:
  explicit MemoryStream(Bytes input = {}, size_t chunk = 1 << 20) : input_(std::move(input)), chunk_(chunk) {}
  size_t read_some(std::span<uint8_t> buf) override {
    size_t n = std::min({buf.size(), input_.size() - pos_, chunk_});
    std::copy_n(input_.begin() + static_cast<ptrdiff_t>(pos_), n, buf.begin());
    pos_ += n;
    return n;
  }
  void write_all(std::span<const uint8_t> data) override {
    output.insert(output.end(), data.begin(), data.end());
  }
  Bytes output;

 private:
  Bytes input_;
  size_t pos_ = 0;
  size_t chunk_;
};

Bytes packet(uint8_t type, uint8_t status, const Bytes& payload, uint8_t id = 1) {
  PacketHeader h{type, status, static_cast<uint16_t>(payload.size() + 8), 0, id, 0};
  auto header = encode_header(h);
  Bytes out(header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

TEST(TdsPacketTest, HeaderIsBigEndianLengthAndSpid) {
  PacketHeader h{0x04, 0x01, 0x0123, 51, 7, 0};
  auto bytes = encode_header(h);
  EXPECT_EQ(Bytes(bytes.begin(), bytes.end()), (Bytes{0x04, 0x01, 0x01, 0x23, 0x00, 0x33, 0x07, 0x00}));
  PacketHeader back = decode_header(bytes);
  EXPECT_EQ(back.length, 0x0123);
  EXPECT_EQ(back.spid, 51);
  EXPECT_EQ(back.packet_id, 7);
}

TEST(TdsPacketTest, ReadsAMessageSpreadOverPacketsAndPartialReads) {
  MemoryStream in(concat({packet(0x01, 0x00, {1, 2, 3}), packet(0x01, 0x01, {4, 5}, 2)}), 3);
  auto m = read_message(in, 1000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PacketType::kSqlBatch);
  EXPECT_EQ(m->payload, (Bytes{1, 2, 3, 4, 5}));
  EXPECT_FALSE(read_message(in, 1000));  // clean end of stream
}

TEST(TdsPacketTest, ResetConnectionFlagIsReported) {
  MemoryStream in(packet(0x01, packet_status::kEom | packet_status::kResetConnection, {1}));
  auto m = read_message(in, 1000);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->reset_connection);
}

TEST(TdsPacketTest, IgnoredMessagesAreSkipped) {
  MemoryStream in(
      concat({packet(0x01, 0x00, {1}), packet(0x01, packet_status::kEom | packet_status::kIgnore, {2}),
              packet(0x03, packet_status::kEom, {9})}));
  auto m = read_message(in, 1000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PacketType::kRpc);
  EXPECT_EQ(m->payload, Bytes{9});
}

TEST(TdsPacketTest, AttentionInTheMiddleOfAMessageWins) {
  MemoryStream in(concat({packet(0x01, 0x00, {1}), packet(0x06, packet_status::kEom, {})}));
  auto m = read_message(in, 1000);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, PacketType::kAttention);
  EXPECT_TRUE(m->payload.empty());
}

TEST(TdsPacketTest, MalformedFramingThrows) {
  {
    MemoryStream in(Bytes{0x01, 0x01, 0x00, 0x04, 0, 0, 1, 0});  // length below header size
    EXPECT_THROW(read_message(in, 1000), ProtocolError);
  }
  {
    MemoryStream in(packet(0x42, 0x01, {}));  // unknown type
    EXPECT_THROW(read_message(in, 1000), ProtocolError);
  }
  {
    MemoryStream in(Bytes{0x16, 0x03, 0x01, 0x00, 0x10, 0, 0, 0});  // TLS ClientHello
    EXPECT_THROW(read_message(in, 1000), ProtocolError);
  }
  {
    Bytes truncated = packet(0x01, 0x01, {1, 2, 3, 4});
    truncated.pop_back();
    MemoryStream in(truncated);
    EXPECT_THROW(read_message(in, 1000), ProtocolError);
  }
  {
    MemoryStream in(concat({packet(0x01, 0x00, {1}), packet(0x03, 0x01, {2})}));  // type changes mid-message
    EXPECT_THROW(read_message(in, 1000), ProtocolError);
  }
  {
    MemoryStream in(packet(0x01, 0x01, Bytes(100, 0)));
    EXPECT_THROW(read_message(in, 99), ProtocolError);
  }
}

// A BULK_LOAD message read into a MessageStream a packet at a time (the session's reader streams it).
class StreamMessageTest : public ::testing::Test {
 protected:
  RequestBudget budget{1 << 20, 1 << 20};
  MessageStream stream{budget.open_account(), 1 << 20};

  Bytes taken() {
    Bytes out;
    MessageStream::Piece piece;
    while (stream.next(piece)) out.insert(out.end(), piece.bytes.begin(), piece.bytes.end());
    return out;
  }
};

TEST_F(StreamMessageTest, PacketsGoIntoTheStreamUntilEom) {
  MemoryStream in(
      concat({packet(0x07, packet_status::kResetConnection, {1, 2}), packet(0x07, 0x00, {3}, 2),
              packet(0x07, packet_status::kEom, {4, 5}, 3), packet(0x01, packet_status::kEom, {9})}),
      5);
  auto first = read_packet_header(in);
  ASSERT_TRUE(first);
  EXPECT_TRUE(start_message(*first).reset_connection);
  EXPECT_EQ(start_message(*first).type, PacketType::kBulkLoad);
  EXPECT_EQ(stream_message(in, *first, stream), std::nullopt);
  EXPECT_EQ(stream.ended(), MessageEnd::kComplete);
  EXPECT_EQ(taken(), (Bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(stream.packets(), 3u);
  // The next message is read as ever.
  auto next = read_packet_header(in);
  ASSERT_TRUE(next);
  auto batch = read_message_from(in, *next, *budget.open_account());
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->payload, Bytes{9});
  EXPECT_FALSE(read_packet_header(in));
}

TEST_F(StreamMessageTest, IgnoreEndsTheStreamAsAbandoned) {
  MemoryStream in(
      concat({packet(0x07, 0x00, {1}), packet(0x07, packet_status::kEom | packet_status::kIgnore, {2})}));
  EXPECT_EQ(stream_message(in, *read_packet_header(in), stream), std::nullopt);
  EXPECT_EQ(stream.ended(), MessageEnd::kIgnored);
  EXPECT_THROW(taken(), MessageAbandoned);
}

TEST_F(StreamMessageTest, AttentionCutsTheMessageShortAndIsReadNext) {
  MemoryStream in(concat({packet(0x07, 0x00, {1}), packet(0x06, packet_status::kEom, {})}));
  auto attention = stream_message(in, *read_packet_header(in), stream);
  ASSERT_TRUE(attention);
  EXPECT_EQ(attention->type, 0x06);
  EXPECT_EQ(stream.ended(), MessageEnd::kAttention);
  auto message = read_message_from(in, *attention, *budget.open_account());
  ASSERT_TRUE(message);
  EXPECT_EQ(message->type, PacketType::kAttention);
}

TEST_F(StreamMessageTest, AConnectionClosedOrMalformedMidMessageClosesTheStream) {
  {
    MemoryStream in(packet(0x07, 0x00, {1}));  // no EOM, then nothing
    EXPECT_THROW(stream_message(in, *read_packet_header(in), stream), ProtocolError);
    EXPECT_EQ(stream.ended(), MessageEnd::kClosed);
  }
  for (Bytes rest : {packet(0x01, packet_status::kEom, {2}), Bytes{0x07, 0x01, 0x00, 0x04, 0, 0, 2, 0}}) {
    MessageStream other(budget.open_account(), 1 << 20);
    MemoryStream in(concat({packet(0x07, 0x00, {1}), rest}));  // the type changes; a length below the header
    EXPECT_THROW(stream_message(in, *read_packet_header(in), other), ProtocolError);
    EXPECT_EQ(other.ended(), MessageEnd::kClosed);
  }
}

TEST_F(StreamMessageTest, WhatTheConsumerNoLongerWantsIsReadAndDropped) {
  Bytes packets;
  for (int i = 0; i < 50; ++i) {
    packets = concat(
        {packets, packet(0x07, i == 49 ? packet_status::kEom : 0, Bytes(1000, static_cast<uint8_t>(i)))});
  }
  MemoryStream in(concat({packets, packet(0x01, packet_status::kEom, {9})}));
  auto account = budget.open_account();
  MessageStream small(account, 2000);  // the reader would wait at the third packet
  MessageEnd how = MessageEnd::kOpen;
  std::thread consumer([&] { how = small.discard_rest(); });  // the load failed: nothing more is wanted
  EXPECT_EQ(stream_message(in, *read_packet_header(in), small), std::nullopt);
  consumer.join();
  EXPECT_EQ(how, MessageEnd::kComplete);
  EXPECT_EQ(small.packets(), 50u);
  EXPECT_EQ(small.received_bytes(), 50000u);
  EXPECT_EQ(account->held(), 0u);
  auto next = read_packet_header(in);  // in step with the client
  ASSERT_TRUE(next);
  EXPECT_EQ(next->type, 0x01);
}

TEST(TdsPacketTest, WriterSplitsAtPacketSizeWithSpidAndEomOnlyOnLast) {
  MemoryStream out;
  MessageWriter w(out, 0x1234, 512);
  w.begin();
  Bytes payload(1200);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i);
  w.write(payload);
  w.end();
  // 504 + 504 + 192 payload bytes.
  ASSERT_EQ(out.output.size(), 1200u + 3 * 8);
  Bytes reassembled;
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    PacketHeader h = decode_header(std::span<const uint8_t, 8>(out.output.data() + pos, 8));
    EXPECT_EQ(h.type, 0x04);
    EXPECT_EQ(h.spid, 0x1234);
    EXPECT_EQ(h.packet_id, i + 1);
    EXPECT_EQ(h.status, i == 2 ? packet_status::kEom : 0);
    EXPECT_EQ(h.length, i == 2 ? 200 : 512);
    reassembled.insert(reassembled.end(), out.output.begin() + static_cast<ptrdiff_t>(pos + 8),
                       out.output.begin() + static_cast<ptrdiff_t>(pos + h.length));
    pos += h.length;
  }
  EXPECT_EQ(reassembled, payload);
}

TEST(TdsPacketTest, ExactlyFullLastPacketCarriesEom) {
  MemoryStream out;
  MessageWriter w(out, 1, 512);
  w.begin();
  w.write(Bytes(504, 7));
  w.end();
  ASSERT_EQ(out.output.size(), 512u);
  EXPECT_EQ(out.output[1], packet_status::kEom);
}

TEST(TdsPacketTest, PacketsAreSentAsSoonAsTheyFill) {
  MemoryStream out;
  MessageWriter w(out, 1, 512);
  w.begin();
  w.write(Bytes(600, 1));
  EXPECT_EQ(out.output.size(), 512u);  // streamed before end()
  w.end();
  EXPECT_EQ(out.output.size(), 512u + 8 + 96);
}

TEST(TdsPacketTest, PacketSizeChangeAppliesToTheNextMessage) {
  MemoryStream out;
  MessageWriter w(out, 1);
  w.begin();
  w.set_packet_size(100000);  // clamped to 32767
  w.write(Bytes(5000, 1));
  w.end();
  EXPECT_EQ(out.output[2] << 8 | out.output[3], 4096);
  out.output.clear();
  w.begin();
  w.write(Bytes(5000, 1));
  w.end();
  EXPECT_EQ(out.output.size(), 5008u);
}

TEST(TdsPacketTest, EmptyMessageIsOneHeaderWithEom) {
  MemoryStream out;
  MessageWriter w(out, 2);
  w.begin(PacketType::kReply);
  w.end();
  EXPECT_EQ(out.output, (Bytes{0x04, 0x01, 0x00, 0x08, 0x00, 0x02, 0x01, 0x00}));
}

}  // namespace
}  // namespace bakrest::server
