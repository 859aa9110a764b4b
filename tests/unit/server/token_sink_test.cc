#include "server/token_sink.h"
#include "support/tds_bytes.h"

#include <gtest/gtest.h>

#include <atomic>

namespace bakrest::server {
namespace {

using namespace tds_bytes;

class CaptureStream : public Stream {
 public:
  size_t read_some(std::span<uint8_t>) override { return 0; }
  void write_all(std::span<const uint8_t> data) override {
    if (fail) throw std::runtime_error("broken pipe");
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  // Payload of all packets, headers removed; also counts messages (packets with EOM).
  Bytes payload(int* messages = nullptr) const {
    Bytes out;
    size_t pos = 0;
    int eoms = 0;
    while (pos + 8 <= bytes.size()) {
      size_t len = bytes[pos + 2] << 8 | bytes[pos + 3];
      if (bytes[pos + 1] & 1) ++eoms;
      out.insert(out.end(), bytes.begin() + static_cast<ptrdiff_t>(pos + 8),
                 bytes.begin() + static_cast<ptrdiff_t>(pos + len));
      pos += len;
    }
    if (messages) *messages = eoms;
    return out;
  }
  Bytes bytes;
  bool fail = false;
};

Bytes done(uint8_t token, uint16_t status, uint64_t rows = 0, uint16_t cmd = 0, TdsVersion v = v74()) {
  ByteWriter w;
  write_done(w, DoneToken{token, status, cmd, rows}, v);
  return w.take();
}

struct Fixture {
  CaptureStream stream;
  MessageWriter writer{stream, 51, 512};
  std::atomic<bool> attention{false};
  TokenSink sink{writer, v74(), "srv", [this] { return attention.load(); }};
};

const std::vector<Column> kIntColumn = {{"n", ColumnType::kInt, 0}};

Bytes int_metadata() {
  ByteWriter w;
  ResultSetEncoder(kIntColumn, v74()).write_metadata(w);
  return w.take();
}

Bytes int_row(int32_t v) {
  ByteWriter w;
  ResultSetEncoder(kIntColumn, v74()).write_row(w, {int64_t{v}});
  return w.take();
}

Bytes message_token(const Message& m) {
  ByteWriter w;
  write_message(w, m, "srv", v74());
  return w.take();
}

TEST(TdsTokenSinkTest, OnlyTheLastDoneLacksMore) {
  Fixture f;
  f.sink.begin_response();
  f.sink.columns(kIntColumn);
  f.sink.row({int64_t{1}});
  f.sink.done(1);
  f.sink.done(std::nullopt);
  f.sink.end_response();
  int messages = 0;
  EXPECT_EQ(f.stream.payload(&messages),
            concat({int_metadata(), int_row(1), done(0xFD, done_status::kMore | done_status::kCount, 1),
                    done(0xFD, 0)}));
  EXPECT_EQ(messages, 1);
}

// RAISERROR ... WITH NOWAIT: what the reply holds goes out at once, in a packet that is not the last.
TEST(TdsTokenSinkTest, FlushSendsWhatIsBufferedWithoutEndingTheMessage) {
  Fixture f;
  f.sink.begin_response();
  f.sink.message(Message{50000, 1, 10, "step 1", {}, 1});
  EXPECT_TRUE(f.stream.bytes.empty());  // a small message waits for the packet to fill
  f.sink.flush();
  ASSERT_GT(f.stream.bytes.size(), 8u);
  EXPECT_EQ(f.stream.bytes[1] & 1, 0);  // no EOM
  int messages = 0;
  f.stream.payload(&messages);
  EXPECT_EQ(messages, 0);
  f.sink.flush();  // nothing new: no empty packet
  size_t sent = f.stream.bytes.size();
  f.sink.flush();
  EXPECT_EQ(f.stream.bytes.size(), sent);
  f.sink.done(std::nullopt);
  f.sink.end_response();
  f.stream.payload(&messages);
  EXPECT_EQ(messages, 1);
}

TEST(TdsTokenSinkTest, HandlerWithoutDoneGetsAFinalDone) {
  Fixture f;
  f.sink.begin_response();
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(), done(0xFD, 0));
}

TEST(TdsTokenSinkTest, MessageAfterTheLastDoneMovesTheFinalDoneAfterIt) {
  Fixture f;
  Message info{0, 1, 0, "hello", {}, 1};
  f.sink.begin_response();
  f.sink.done(3);
  f.sink.message(info);
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(), concat({done(0xFD, done_status::kMore | done_status::kCount, 3),
                                        message_token(info), done(0xFD, 0)}));
}

TEST(TdsTokenSinkTest, ErrorBitMarksTheDoneAfterAnError) {
  Fixture f;
  Message error{208, 1, 16, "Invalid object name 't'.", {}, 1};
  f.sink.begin_response();
  f.sink.message(error);
  f.sink.done(std::nullopt);
  f.sink.done(0);
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(),
            concat({message_token(error), done(0xFD, done_status::kMore | done_status::kError),
                    done(0xFD, done_status::kCount)}));
  EXPECT_EQ(f.sink.error_count(), 1);
}

TEST(TdsTokenSinkTest, ErrorWithoutDoneEndsWithDoneError) {
  Fixture f;
  Message error{50000, 1, 16, "boom", {}, 1};
  f.sink.begin_response();
  f.sink.message(error);
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(), concat({message_token(error), done(0xFD, done_status::kError)}));
}

TEST(TdsTokenSinkTest, ProcedureStatementsUseDoneInProcThenReturnStatusAndDoneProc) {
  Fixture f;
  f.sink.begin_response();
  f.sink.procedure_started();
  f.sink.columns(kIntColumn);
  f.sink.row({int64_t{7}});
  f.sink.done(1);
  f.sink.procedure_done(0);
  f.sink.end_rpc_call();  // the handler already ended the call with DONEPROC
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(),
            concat({int_metadata(), int_row(7), done(0xFF, done_status::kMore | done_status::kCount, 1),
                    Bytes{0x79, 0, 0, 0, 0}, done(0xFE, 0, 0, kCurCmdExecute)}));
}

TEST(TdsTokenSinkTest, RpcCallsWithoutProcedureDoneStillEndWithDoneProc) {
  Fixture f;
  Message error{2812, 62, 16, "Could not find stored procedure 'x'.", {}, 1};
  f.sink.begin_response();
  f.sink.message(error);
  f.sink.end_rpc_call();
  f.sink.done(std::nullopt);  // second call: a handler that only says done
  f.sink.end_rpc_call();
  f.sink.end_response();
  EXPECT_EQ(
      f.stream.payload(),
      concat({message_token(error), done(0xFE, done_status::kMore | done_status::kError, 0, kCurCmdExecute),
              done(0xFD, done_status::kMore), done(0xFE, 0, 0, kCurCmdExecute)}));
}

TEST(TdsTokenSinkTest, DatabaseChangeAndTransactionEnvChanges) {
  Fixture f;
  f.sink.begin_response();
  f.sink.database_changed("master", "db1");
  f.sink.done(std::nullopt);
  f.sink.transaction_changed(EnvChange::kBeginTransaction, 1);  // goes before the held DONE
  f.sink.end_response();
  ByteWriter db;
  write_envchange_text(db, EnvChange::kDatabase, "db1", "master");
  ByteWriter tx;
  write_envchange_transaction(tx, EnvChange::kBeginTransaction, 1);
  EXPECT_EQ(f.stream.payload(), concat({db.take(), tx.take(), done(0xFD, 0)}));
}

TEST(TdsTokenSinkTest, ReturnValueGoesBeforeTheHeldDoneProc) {
  Fixture f;
  f.sink.begin_response();
  f.sink.procedure_started();
  f.sink.procedure_done(0);
  f.sink.return_value(0, "@h", {"", ColumnType::kInt, 0}, int64_t{3});
  f.sink.end_rpc_call();
  f.sink.end_response();
  ByteWriter rv;
  write_return_value(rv, 0, "@h", {"", ColumnType::kInt, 0}, int64_t{3}, v74());
  EXPECT_EQ(f.stream.payload(),
            concat({Bytes{0x79, 0, 0, 0, 0}, rv.take(), done(0xFE, 0, 0, kCurCmdExecute)}));
}

TEST(TdsTokenSinkTest, LargeResultsStreamPacketByPacket) {
  Fixture f;
  f.sink.begin_response();
  f.sink.columns(kIntColumn);
  for (int i = 0; i < 1000; ++i) {
    f.sink.row({int64_t{i}});
    // Never more than one packet's worth buffered.
    EXPECT_GE(f.stream.bytes.size() + 512, static_cast<size_t>(i) * 6);
  }
  f.sink.done(1000);
  f.sink.end_response();
  int messages = 0;
  Bytes payload = f.stream.payload(&messages);
  EXPECT_EQ(messages, 1);
  EXPECT_EQ(payload.size(), int_metadata().size() + 1000 * 6 + 13);
}

TEST(TdsTokenSinkTest, AttentionDropsFurtherTokensButEndsTheMessage) {
  Fixture f;
  f.sink.begin_response();
  f.sink.columns(kIntColumn);
  f.sink.row({int64_t{1}});
  f.attention = true;
  EXPECT_TRUE(f.sink.attention());
  f.sink.row({int64_t{2}});
  f.sink.done(2);
  f.sink.end_response();
  int messages = 0;
  EXPECT_EQ(f.stream.payload(&messages), concat({int_metadata(), int_row(1), done(0xFD, 0)}));
  EXPECT_EQ(messages, 1);
}

TEST(TdsTokenSinkTest, WriteFailureLooksLikeAttentionAndNeverThrows) {
  Fixture f;
  f.stream.fail = true;
  f.sink.begin_response();
  f.sink.columns(kIntColumn);
  for (int i = 0; i < 200; ++i) f.sink.row({int64_t{i}});  // overflows a packet: the write fails
  EXPECT_TRUE(f.sink.broken());
  EXPECT_TRUE(f.sink.attention());
  f.sink.done(200);
  EXPECT_NO_THROW(f.sink.end_response());
}

TEST(TdsTokenSinkTest, RowsWithoutColumnsAreIgnored) {
  Fixture f;
  f.sink.begin_response();
  f.sink.row({int64_t{1}});
  f.sink.columns({});
  f.sink.row({int64_t{1}});
  f.sink.end_response();
  EXPECT_EQ(f.stream.payload(), done(0xFD, 0));
}

}  // namespace
}  // namespace bakrest::server
