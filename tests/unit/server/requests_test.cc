#include "server/requests.h"

#include <gtest/gtest.h>

#include "server/bytes.h"
#include "server/text.h"

namespace bakrest::server {
namespace {

Bytes all_headers() {
  ByteWriter w;
  w.u32le(22);
  w.u32le(18);
  w.u16le(2);
  w.u64le(0);
  w.u32le(1);
  return w.take();
}

Bytes with_headers(const Bytes& body) {
  Bytes out = all_headers();
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes utf16(std::string_view s) {
  ByteWriter w;
  put_utf16le(w, utf8_to_utf16(s));
  return w.take();
}

TEST(TdsRequestsTest, SqlBatchSkipsAllHeadersFrom72) {
  EXPECT_EQ(decode_sql_batch(with_headers(utf16("SELECT 'é'")), TdsVersion::negotiate(kTds74)), "SELECT 'é'");
  EXPECT_EQ(decode_sql_batch(utf16("SELECT 1"), TdsVersion::negotiate(kTds71)), "SELECT 1");
  // A 7.2+ client that leaves out ALL_HEADERS still gets its text.
  EXPECT_EQ(decode_sql_batch(utf16("SELECT 1"), TdsVersion::negotiate(kTds74)), "SELECT 1");
  EXPECT_EQ(decode_sql_batch({}, TdsVersion::negotiate(kTds74)), "");
}

TEST(TdsRequestsTest, TransactionManagerRequests) {
  TdsVersion v = TdsVersion::negotiate(kTds74);
  TransactionRequest begin = parse_transaction_request(with_headers({5, 0, 0, 0}), v);
  EXPECT_EQ(begin.kind, TransactionRequest::Kind::kBegin);

  TransactionRequest commit = parse_transaction_request(with_headers({7, 0, 0, 0}), v);
  EXPECT_EQ(commit.kind, TransactionRequest::Kind::kCommit);
  EXPECT_FALSE(commit.begin_after);

  TransactionRequest rollback_and_begin =
      parse_transaction_request(with_headers({8, 0, 2, 't', 0, 1, 0, 0}), v);
  EXPECT_EQ(rollback_and_begin.kind, TransactionRequest::Kind::kRollback);
  EXPECT_EQ(rollback_and_begin.name, "t");
  EXPECT_TRUE(rollback_and_begin.begin_after);

  TransactionRequest save = parse_transaction_request(with_headers({9, 0, 4, 's', 0, 'p', 0}), v);
  EXPECT_EQ(save.kind, TransactionRequest::Kind::kSave);
  EXPECT_EQ(save.name, "sp");

  TransactionRequest promote = parse_transaction_request(with_headers({6, 0}), v);
  EXPECT_EQ(promote.kind, TransactionRequest::Kind::kUnsupported);
  EXPECT_EQ(promote.request_type, 6);

  EXPECT_THROW(parse_transaction_request(with_headers({}), v), ProtocolError);
}

}  // namespace
}  // namespace bakrest::server
