#include "server/text.h"

#include <gtest/gtest.h>

#include "server/bytes.h"

namespace bakrest::server {
namespace {

TEST(TdsTextTest, Utf8RoundTripsThroughUtf16IncludingSurrogatePairs) {
  std::string text = "héllo \xE2\x82\xAC \xF0\x9F\x98\x80";  // é, euro sign, emoji
  std::u16string units = utf8_to_utf16(text);
  EXPECT_EQ(units.size(), 10u);  // 6 + euro + space + surrogate pair
  EXPECT_EQ(units[8], 0xD83D);
  EXPECT_EQ(utf16_to_utf8(units), text);
}

TEST(TdsTextTest, InvalidInputBecomesReplacementCharacter) {
  EXPECT_EQ(utf8_to_utf16("a\xFFz"), u"a\uFFFDz");
  EXPECT_EQ(utf8_to_utf16("\xC0\x80"), u"\uFFFD");  // overlong NUL
  EXPECT_EQ(utf16_to_utf8(std::u16string(1, char16_t{0xD800})), "\xEF\xBF\xBD");
}

TEST(TdsTextTest, Utf16LeBytesDecodeAndIgnoreOddTrailingByte) {
  const uint8_t bytes[] = {'h', 0, 'i', 0, 0xE9, 0, 'x'};
  EXPECT_EQ(utf16le_to_utf8(bytes), "hi\xC3\xA9");
}

TEST(TdsTextTest, Cp1252HighRangeMapsToUnicode) {
  const uint8_t bytes[] = {'c', 'a', 'f', 0xE9, 0x80, 0x99};
  EXPECT_EQ(cp1252_to_utf8(bytes), "caf\xC3\xA9\xE2\x82\xAC\xE2\x84\xA2");  // café€™
}

TEST(TdsTextTest, TruncationNeverSplitsASurrogatePair) {
  std::u16string s = u"ab\U0001F600";
  EXPECT_EQ(truncate_utf16(s, 3), u"ab");
  EXPECT_EQ(truncate_utf16(s, 4), s);
}

TEST(TdsTextTest, BVarcharAndUsVarcharCountUtf16Units) {
  ByteWriter w;
  put_b_varchar(w, "\xC3\xA9t");
  put_us_varchar(w, "ab");
  EXPECT_EQ(w.data(), (Bytes{2, 0xE9, 0, 't', 0, 2, 0, 'a', 0, 'b', 0}));
  ByteReader r(w.data());
  EXPECT_EQ(read_b_varchar(r), "\xC3\xA9t");
  EXPECT_EQ(read_us_varchar(r), "ab");
  EXPECT_TRUE(r.at_end());
}

TEST(TdsTextTest, BVarcharTruncatesAt255Units) {
  ByteWriter w;
  put_b_varchar(w, std::string(300, 'x'));
  EXPECT_EQ(w.data()[0], 255);
  EXPECT_EQ(w.size(), 1u + 510);
}

TEST(TdsBytesTest, WriterAndReaderAgreeOnEndianness) {
  ByteWriter w;
  w.u16le(0x1234);
  w.u16be(0x1234);
  w.u32le(0xAABBCCDD);
  w.u32be(0xAABBCCDD);
  w.u64le(0x0102030405060708);
  w.uint_le(0x0A0B0C, 3);
  EXPECT_EQ(w.data(), (Bytes{0x34, 0x12, 0x12, 0x34, 0xDD, 0xCC, 0xBB, 0xAA, 0xAA, 0xBB, 0xCC, 0xDD,
                             8,    7,    6,    5,    4,    3,    2,    1,    0x0C, 0x0B, 0x0A}));
  ByteReader r(w.data());
  EXPECT_EQ(r.u16le(), 0x1234);
  EXPECT_EQ(r.u16be(), 0x1234);
  EXPECT_EQ(r.u32le(), 0xAABBCCDDu);
  EXPECT_EQ(r.u32be(), 0xAABBCCDDu);
  EXPECT_EQ(r.u64le(), 0x0102030405060708u);
  EXPECT_EQ(r.uint_le(3), 0x0A0B0Cu);
}

TEST(TdsBytesTest, ReadingPastTheEndThrowsProtocolError) {
  const uint8_t bytes[] = {1, 2, 3};
  ByteReader r(bytes);
  r.u16le();
  EXPECT_THROW(r.u16le(), ProtocolError);
  EXPECT_EQ(r.remaining(), 1u);
}

}  // namespace
}  // namespace bakrest::server
