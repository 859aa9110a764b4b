#include "server/tokens.h"

#include <gtest/gtest.h>

#include "server/login7.h"
#include "support/tds_bytes.h"

namespace bakrest::server {
namespace {

using namespace tds_bytes;

Bytes utf16(std::string_view ascii) {
  Bytes out;
  for (char c : ascii) {
    out.push_back(static_cast<uint8_t>(c));
    out.push_back(0);
  }
  return out;
}

TdsVersion version(uint32_t client) { return TdsVersion::negotiate(client); }

TEST(TdsVersionTest, NegotiatesCanonicalConstantsNotAboveTheClient) {
  EXPECT_EQ(version(0x74000004).value(), kTds74);
  EXPECT_EQ(version(0x75000000).value(), kTds74);  // a newer client gets 7.4
  EXPECT_EQ(version(0x730B0003).value(), kTds73B);
  EXPECT_EQ(version(0x730A0003).value(), kTds73A);
  EXPECT_EQ(version(0x72090002).value(), kTds72);
  EXPECT_EQ(version(0x71000001).value(), kTds71);
  EXPECT_EQ(version(0x71000000).value(), kTds71);  // pytds' 7.1
  EXPECT_EQ(version(0x70000000).value(), kTds71);  // 7.0 is served as 7.1
  EXPECT_FALSE(version(0x71000001).has_72());
  EXPECT_TRUE(version(0x72090002).has_72());
  EXPECT_FALSE(version(0x72090002).has_73());
  EXPECT_TRUE(version(0x730A0003).has_73());
}

TEST(TdsTokensTest, LoginAckIsByteExactForEachVersion) {
  const std::pair<uint32_t, Bytes> cases[] = {
      {0x71000001, {0x71, 0x00, 0x00, 0x01}}, {0x72090002, {0x72, 0x09, 0x00, 0x02}},
      {0x730A0003, {0x73, 0x0A, 0x00, 0x03}}, {0x730B0003, {0x73, 0x0B, 0x00, 0x03}},
      {0x74000004, {0x74, 0x00, 0x00, 0x04}},
  };
  for (const auto& [client, version_bytes] : cases) {
    ByteWriter w;
    write_loginack(w, version(client));
    Bytes expected = concat({{0xAD, 0x32, 0x00, 0x01},
                             version_bytes,
                             {20},
                             utf16("Microsoft SQL Server"),
                             {0x0F, 0x00, 0x10, 0x39}});
    EXPECT_EQ(w.data(), expected) << std::hex << client;
  }
}

TEST(TdsTokensTest, DoneIs13BytesIn72AndLaterAnd9In71) {
  DoneToken d{token::kDone, done_status::kCount | done_status::kMore, 0xC1, 5};
  ByteWriter w72;
  write_done(w72, d, version(kTds72));
  EXPECT_EQ(w72.data(), (Bytes{0xFD, 0x11, 0x00, 0xC1, 0x00, 5, 0, 0, 0, 0, 0, 0, 0}));
  ByteWriter w71;
  write_done(w71, d, version(kTds71));
  EXPECT_EQ(w71.data(), (Bytes{0xFD, 0x11, 0x00, 0xC1, 0x00, 5, 0, 0, 0}));
}

TEST(TdsTokensTest, AttentionAckMatchesTheNotes) {
  ByteWriter w;
  write_done(w, DoneToken{token::kDone, done_status::kAttention, 0, 0}, version(kTds74));
  EXPECT_EQ(w.data(), (Bytes{0xFD, 0x20, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(TdsTokensTest, ErrorTokenLayout) {
  ByteWriter w;
  write_message(w, Message{18456, 1, 14, "No", "proc", 3}, "srv", version(kTds74));
  Bytes body = concat({{0x18, 0x48, 0x00, 0x00, 0x01, 0x0E},
                       {2, 0},
                       utf16("No"),
                       {3},
                       utf16("srv"),
                       {4},
                       utf16("proc"),
                       {3, 0, 0, 0}});
  Bytes expected = concat({{0xAA, static_cast<uint8_t>(body.size()), 0x00}, body});
  EXPECT_EQ(w.data(), expected);
}

TEST(TdsTokensTest, InfoTokenForLowSeverityAndShortLineIn71) {
  ByteWriter w;
  write_message(w, Message{5701, 2, 0, "x", "", 1}, "", version(kTds71));
  Bytes expected = {0xAB, 14, 0x00, 0x45, 0x16, 0x00, 0x00, 0x02, 0x00, 1, 0, 'x', 0, 0, 0, 1, 0};
  EXPECT_EQ(w.data(), expected);
}

TEST(TdsTokensTest, VeryLongMessageKeepsTheTokenLengthInRange) {
  ByteWriter w;
  write_message(w, Message{50000, 1, 16, std::string(100000, 'e'), "", 1}, "s", version(kTds74));
  size_t declared = w.data()[1] | w.data()[2] << 8;
  EXPECT_EQ(declared + 3, w.size());
}

TEST(TdsTokensTest, EnvChangeTokens) {
  ByteWriter db;
  write_envchange_text(db, EnvChange::kDatabase, "ab", "c");
  EXPECT_EQ(db.data(), (Bytes{0xE3, 9, 0, 1, 2, 'a', 0, 'b', 0, 1, 'c', 0}));

  ByteWriter collation;
  write_envchange_collation(collation);
  EXPECT_EQ(collation.data(), (Bytes{0xE3, 0x08, 0x00, 0x07, 0x05, 0x09, 0x04, 0xD0, 0x00, 0x34, 0x00}));

  ByteWriter begin;
  write_envchange_transaction(begin, EnvChange::kBeginTransaction, 0x0102);
  EXPECT_EQ(begin.data(), (Bytes{0xE3, 11, 0, 8, 8, 2, 1, 0, 0, 0, 0, 0, 0, 0}));

  ByteWriter commit;
  write_envchange_transaction(commit, EnvChange::kCommitTransaction, 0x0102);
  EXPECT_EQ(commit.data(), (Bytes{0xE3, 11, 0, 9, 0, 8, 2, 1, 0, 0, 0, 0, 0, 0}));
}

TEST(TdsTokensTest, FeatureExtAckAndReturnStatus) {
  ByteWriter w;
  write_featureextack_utf8(w);
  write_return_status(w, -2);
  EXPECT_EQ(w.data(), (Bytes{0xAE, 0x0A, 1, 0, 0, 0, 0x01, 0xFF, 0x79, 0xFE, 0xFF, 0xFF, 0xFF}));
}

}  // namespace
}  // namespace bakrest::server
