#include "server/row_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "server/tokens.h"
#include "support/tds_bytes.h"

namespace bakrest::server {
namespace {

using namespace tds_bytes;

const Bytes kCollation = {0x09, 0x04, 0xD0, 0x00, 0x34};

TdsVersion v72() { return TdsVersion::negotiate(kTds72); }

// COLMETADATA for a single column named "c".
Bytes metadata(const Column& c, TdsVersion v) {
  ByteWriter w;
  ResultSetEncoder(std::vector<Column>{c}, v).write_metadata(w);
  return w.take();
}

// The value bytes of a one-column ROW, without the 0xD1 token byte.
Bytes row_value(const Column& c, const Value& value, TdsVersion v = v74()) {
  ByteWriter w;
  ResultSetEncoder(std::vector<Column>{c}, v).write_row(w, {value});
  Bytes b = w.take();
  EXPECT_EQ(b.at(0), token::kRow);
  return Bytes(b.begin() + 1, b.end());
}

Bytes col_header(TdsVersion v) {
  // token, count 1, UserType, Flags nullable
  return v.has_72() ? Bytes{0x81, 1, 0, 0, 0, 0, 0, 0x01, 0x00} : Bytes{0x81, 1, 0, 0, 0, 0x01, 0x00};
}
const Bytes kName = {1, 'c', 0};

TEST(TdsRowCodecTest, MetadataForEachColumnType) {
  struct Case {
    Column column;
    Bytes type_info;
  };
  const Case cases[] = {
      {{"c", ColumnType::kBit, 0}, {0x68, 1}},
      {{"c", ColumnType::kInt, 0}, {0x26, 4}},
      {{"c", ColumnType::kBigInt, 0}, {0x26, 8}},
      {{"c", ColumnType::kFloat, 0}, {0x6D, 8}},
      {{"c", ColumnType::kNVarChar, 50}, concat({{0xE7, 100, 0}, kCollation})},
      {{"c", ColumnType::kNVarCharMax, 0}, concat({{0xE7, 0xFF, 0xFF}, kCollation})},
      {{"c", ColumnType::kVarBinary, 16}, {0xA5, 16, 0}},
      {{"c", ColumnType::kVarBinaryMax, 0}, {0xA5, 0xFF, 0xFF}},
      {{"c", ColumnType::kDateTime, 0}, {0x6F, 8}},
      {{"c", ColumnType::kDateTime2, 0}, {0x2A, 7}},
      {{"c", ColumnType::kTinyInt, 0}, {0x26, 1}},
      {{"c", ColumnType::kSmallInt, 0}, {0x26, 2}},
      {{"c", ColumnType::kReal, 0}, {0x6D, 4}},
      {{"c", ColumnType::kDecimal, 0, 10, 2}, {0x6A, 9, 10, 2}},
      {{"c", ColumnType::kDecimal, 0, 38, 0}, {0x6A, 17, 38, 0}},
      {{"c", ColumnType::kMoney, 0}, {0x6E, 8}},
      {{"c", ColumnType::kSmallMoney, 0}, {0x6E, 4}},
      {{"c", ColumnType::kDate, 0}, {0x28}},
      {{"c", ColumnType::kTime, 0, 0, 3}, {0x29, 3}},
      {{"c", ColumnType::kSmallDateTime, 0}, {0x6F, 4}},
      {{"c", ColumnType::kDateTimeOffset, 0}, {0x2B, 7}},
      {{"c", ColumnType::kUniqueIdentifier, 0}, {0x24, 16}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(metadata(c.column, v74()), concat({col_header(v74()), c.type_info, kName}))
        << static_cast<int>(c.column.type);
  }
}

TEST(TdsRowCodecTest, Tds71HasNoMaxTypesOrDateTime2) {
  EXPECT_EQ(metadata({"c", ColumnType::kNVarCharMax, 0}, v71()),
            concat({col_header(v71()), {0x63, 0xFE, 0xFF, 0xFF, 0x7F}, kCollation, {0, 0}, kName}));
  EXPECT_EQ(metadata({"c", ColumnType::kVarBinaryMax, 0}, v71()),
            concat({col_header(v71()), {0x22, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0}, kName}));
  // Before 7.3 the date and time types go as NVARCHAR text, as SQL Server sends them to such clients.
  const Bytes nvarchar34 = concat({{0xE7, 68, 0}, kCollation});
  EXPECT_EQ(metadata({"c", ColumnType::kDateTime2, 0}, v71()),
            concat({col_header(v71()), nvarchar34, kName}));
  EXPECT_EQ(metadata({"c", ColumnType::kDate, 0}, v72()), concat({col_header(v72()), nvarchar34, kName}));
  auto text = [](const char* s) {
    Bytes out{static_cast<uint8_t>(2 * std::strlen(s)), 0};
    for (const char* p = s; *p; ++p) out.insert(out.end(), {static_cast<uint8_t>(*p), 0});
    return out;
  };
  EXPECT_EQ(row_value({"c", ColumnType::kDate, 0}, std::string("2024-02-29"), v71()), text("2024-02-29"));
  EXPECT_EQ(row_value({"c", ColumnType::kDate, 0}, DateTime{0}, v71()), text("1970-01-01"));
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime2, 0}, std::string("2024-02-29 13:14:15.1234567"), v71()),
            text("2024-02-29 13:14:15.1234567"));
}

TEST(TdsRowCodecTest, ExactNumbersAndTheirSigns) {
  // DECIMAL(10,2): 9 bytes, sign 1 = positive, magnitude little-endian in 8.
  EXPECT_EQ(row_value({"c", ColumnType::kDecimal, 0, 10, 2}, 12.5),
            (Bytes{9, 1, 0xE2, 0x04, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kDecimal, 0, 10, 2}, std::string("-0.01")),
            (Bytes{9, 0, 1, 0, 0, 0, 0, 0, 0, 0}));
  // Text is read digit by digit: 18 digits survive, which a double would not keep.
  EXPECT_EQ(row_value({"c", ColumnType::kDecimal, 0, 18, 4}, std::string("12345678901234.5678")),
            (Bytes{9, 1, 0x4E, 0xF3, 0x30, 0xA6, 0x4B, 0x9B, 0xB6, 0x01}));
  EXPECT_EQ(row_value({"c", ColumnType::kDecimal, 0, 10, 2}, std::monostate{}), (Bytes{0}));
  // MONEY: ten-thousandths, high half first; SMALLMONEY: four bytes.
  EXPECT_EQ(row_value({"c", ColumnType::kMoney}, 1.2346), (Bytes{8, 0, 0, 0, 0, 0x3A, 0x30, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kSmallMoney}, -1.0), (Bytes{4, 0xF0, 0xD8, 0xFF, 0xFF}));
  // MONEY's ends are floats just past them (922337203685477.625): they go as the ends.
  EXPECT_EQ(row_value({"c", ColumnType::kMoney}, 922337203685477.5807),
            (Bytes{8, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(row_value({"c", ColumnType::kMoney}, -922337203685477.5808),
            (Bytes{8, 0, 0, 0, 0x80, 0, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kTinyInt}, int64_t{255}), (Bytes{1, 0xFF}));
  EXPECT_EQ(row_value({"c", ColumnType::kTinyInt}, int64_t{256}), (Bytes{0}));  // out of range: NULL
  EXPECT_EQ(row_value({"c", ColumnType::kSmallInt}, int64_t{-2}), (Bytes{2, 0xFE, 0xFF}));
}

TEST(TdsRowCodecTest, DatesTimesAndGuids) {
  // DATE: days since 0001-01-01 in three bytes (2024-02-29 is day 738944).
  EXPECT_EQ(row_value({"c", ColumnType::kDate}, std::string("2024-02-29")), (Bytes{3, 0x80, 0x46, 0x0B}));
  // TIME(7) from text keeps all seven digits: 13:14:15.1234567 is 476551234567 units of 100 ns.
  EXPECT_EQ(row_value({"c", ColumnType::kTime, 0, 0, 7}, std::string("13:14:15.1234567")),
            (Bytes{5, 0x07, 0xC4, 0xAA, 0xF4, 0x6E}));
  // DATETIME2(7): the time, then the date.
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime2, 0, 0, 7}, std::string("0001-01-01 00:00:00.0000001")),
            (Bytes{8, 1, 0, 0, 0, 0, 0, 0, 0}));
  // DATETIMEOFFSET: the time in UTC, then the offset in minutes.
  EXPECT_EQ(row_value({"c", ColumnType::kDateTimeOffset, 0, 0, 0}, std::string("0001-01-02 01:00:00 +01:00")),
            (Bytes{8, 0, 0, 0, 1, 0, 0, 60, 0}));
  // UNIQUEIDENTIFIER: the first three groups little-endian.
  EXPECT_EQ(
      row_value({"c", ColumnType::kUniqueIdentifier}, std::string("6F9619FF-8B86-D011-B42D-00C04FC964FF")),
      (Bytes{16, 0xFF, 0x19, 0x96, 0x6F, 0x86, 0x8B, 0x11, 0xD0, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64,
             0xFF}));
  EXPECT_EQ(row_value({"c", ColumnType::kUniqueIdentifier}, std::string("not a guid")), (Bytes{0}));
}

TEST(TdsRowCodecTest, OutOfRangeLengthsFallBackToMax) {
  EXPECT_EQ(ResultSetEncoder({{"c", ColumnType::kNVarChar, 0}}, v74()).columns()[0].type,
            WireType::kNVarCharMax);
  EXPECT_EQ(ResultSetEncoder({{"c", ColumnType::kNVarChar, 4001}}, v74()).columns()[0].type,
            WireType::kNVarCharMax);
  EXPECT_EQ(ResultSetEncoder({{"c", ColumnType::kVarBinary, 9000}}, v74()).columns()[0].type,
            WireType::kVarBinaryMax);
}

TEST(TdsRowCodecTest, FixedWidthValuesAndNulls) {
  EXPECT_EQ(row_value({"c", ColumnType::kBit}, true), (Bytes{1, 1}));
  EXPECT_EQ(row_value({"c", ColumnType::kBit}, std::monostate{}), (Bytes{0}));
  EXPECT_EQ(row_value({"c", ColumnType::kInt}, int64_t{-2}), (Bytes{4, 0xFE, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(row_value({"c", ColumnType::kInt}, std::monostate{}), (Bytes{0}));
  EXPECT_EQ(row_value({"c", ColumnType::kBigInt}, int64_t{1} << 40), (Bytes{8, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kFloat}, 1.0), (Bytes{8, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  EXPECT_EQ(row_value({"c", ColumnType::kFloat}, std::monostate{}), (Bytes{0}));
}

TEST(TdsRowCodecTest, DateValues) {
  // 1900-01-02 00:00:01 = day 1, 300 ticks.
  DateTime t{(-25567 + 1) * 86'400'000'000LL + 1'000'000};
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime}, t), (Bytes{8, 1, 0, 0, 0, 0x2C, 0x01, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime}, std::monostate{}), (Bytes{0}));
  // 1970-01-01 00:00:00.0000001 is not representable in micros; use 1 µs = 10 units of 100 ns.
  DateTime epoch{1};
  // days since 0001-01-01 = 719162 = 0x0AF93A
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime2}, epoch), (Bytes{8, 10, 0, 0, 0, 0, 0x3A, 0xF9, 0x0A}));
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime2}, std::monostate{}), (Bytes{0}));
  // Text that looks like a date goes into a date column.
  EXPECT_EQ(row_value({"c", ColumnType::kDateTime2}, std::string("1970-01-01 00:00:00.000001")),
            (Bytes{8, 10, 0, 0, 0, 0, 0x3A, 0xF9, 0x0A}));
}

TEST(TdsRowCodecTest, NVarCharValuesAreUtf16AndCutToTheColumn) {
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 10}, std::string("h\xC3\xA9")),
            (Bytes{4, 0, 'h', 0, 0xE9, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 2}, std::string("abc")), (Bytes{4, 0, 'a', 0, 'b', 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 10}, std::monostate{}), (Bytes{0xFF, 0xFF}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 10}, std::string()), (Bytes{0, 0}));
}

TEST(TdsRowCodecTest, ValuesOfOtherTypesAreConverted) {
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 10}, int64_t{42}), (Bytes{4, 0, '4', 0, '2', 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarChar, 10}, true), (Bytes{2, 0, '1', 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kInt}, std::string(" 7 ")), (Bytes{4, 7, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kInt}, std::string("x")), (Bytes{0}));  // not a number: NULL
  EXPECT_EQ(row_value({"c", ColumnType::kInt}, int64_t{1} << 40), (Bytes{0}));  // does not fit INT
  EXPECT_EQ(row_value({"c", ColumnType::kBigInt}, 2.9), (Bytes{8, 2, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kBit}, int64_t{5}), (Bytes{1, 1}));
  EXPECT_EQ(row_value({"c", ColumnType::kVarBinary, 4}, std::string("ab")), (Bytes{2, 0, 'a', 'b'}));
  EXPECT_EQ(row_value({"c", ColumnType::kVarBinary, 4}, Bytes{1, 2, 3, 4, 5}), (Bytes{4, 0, 1, 2, 3, 4}));
  EXPECT_EQ(row_value({"c", ColumnType::kVarBinary, 4}, std::monostate{}), (Bytes{0xFF, 0xFF}));
}

TEST(TdsRowCodecTest, MaxValuesArePlpWithChunksAndTerminator) {
  EXPECT_EQ(row_value({"c", ColumnType::kNVarCharMax}, std::string("ab")),
            (Bytes{4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 'a', 0, 'b', 0, 0, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarCharMax}, std::string()),
            (Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(row_value({"c", ColumnType::kNVarCharMax}, std::monostate{}), Bytes(8, 0xFF));
  EXPECT_EQ(row_value({"c", ColumnType::kVarBinaryMax}, std::monostate{}), Bytes(8, 0xFF));

  Bytes big(kPlpChunkSize + 10, 0x5A);
  Bytes v = row_value({"c", ColumnType::kVarBinaryMax}, big);
  ByteReader r(v);
  EXPECT_EQ(r.u64le(), big.size());
  EXPECT_EQ(r.u32le(), kPlpChunkSize);
  r.skip(kPlpChunkSize);
  EXPECT_EQ(r.u32le(), 10u);
  r.skip(10);
  EXPECT_EQ(r.u32le(), 0u);
  EXPECT_TRUE(r.at_end());
}

TEST(TdsRowCodecTest, MaxColumnsAsLobsForClientsThatCantReadThem) {
  // ct-lib clients (TokenSink::set_max_types_as_lobs) get NTEXT and IMAGE even at TDS 7.4.
  auto lob_metadata = [](const Column& c) {
    ByteWriter w;
    ResultSetEncoder(std::vector<Column>{c}, v74(), true).write_metadata(w);
    return w.take();
  };
  // From 7.2 the table name of a text column is a count of parts (none) rather than one 2-byte length.
  EXPECT_EQ(lob_metadata({"c", ColumnType::kNVarCharMax, 0}),
            concat({col_header(v74()), {0x63, 0xFE, 0xFF, 0xFF, 0x7F}, kCollation, {0}, kName}));
  EXPECT_EQ(lob_metadata({"c", ColumnType::kVarBinaryMax, 0}),
            concat({col_header(v74()), {0x22, 0xFF, 0xFF, 0xFF, 0x7F, 0}, kName}));
  ByteWriter w;
  ResultSetEncoder(std::vector<Column>{{"c", ColumnType::kNVarCharMax, 0}}, v74(), true)
      .write_row(w, {std::string("a")});
  EXPECT_EQ(w.take(), concat({{token::kRow, 16}, Bytes(16, 0xFF), Bytes(8, 0), {2, 0, 0, 0, 'a', 0}}));
  // Columns with a length stay as they are.
  EXPECT_EQ(lob_metadata({"c", ColumnType::kNVarChar, 10}),
            metadata({"c", ColumnType::kNVarChar, 10}, v74()));
}

TEST(TdsRowCodecTest, TextPointerValuesIn71) {
  Bytes v = row_value({"c", ColumnType::kNVarCharMax}, std::string("a"), v71());
  Bytes expected = concat({{16}, Bytes(16, 0xFF), Bytes(8, 0), {2, 0, 0, 0, 'a', 0}});
  EXPECT_EQ(v, expected);
  EXPECT_EQ(row_value({"c", ColumnType::kNVarCharMax}, std::monostate{}, v71()), (Bytes{0}));
  EXPECT_EQ(row_value({"c", ColumnType::kVarBinaryMax}, std::monostate{}, v71()), (Bytes{0}));
}

TEST(TdsRowCodecTest, MissingValuesAreNullAndExtraValuesIgnored) {
  ResultSetEncoder e({{"a", ColumnType::kInt}, {"b", ColumnType::kBit}}, v74());
  ByteWriter w;
  e.write_row(w, {int64_t{1}});
  EXPECT_EQ(w.data(), (Bytes{0xD1, 4, 1, 0, 0, 0, 0}));
  w.clear();
  e.write_row(w, {int64_t{1}, false, int64_t{3}});
  EXPECT_EQ(w.data(), (Bytes{0xD1, 4, 1, 0, 0, 0, 1, 0}));
}

TEST(TdsRowCodecTest, MultiColumnMetadataIncludesEveryName) {
  ByteWriter w;
  ResultSetEncoder({{"id", ColumnType::kInt}, {"", ColumnType::kBit}}, v74()).write_metadata(w);
  EXPECT_EQ(w.data(),
            (Bytes{0x81, 2, 0, 0, 0, 0, 0, 1, 0, 0x26, 4, 2, 'i', 0, 'd', 0, 0, 0, 0, 0, 1, 0, 0x68, 1, 0}));
}

TEST(TdsRowCodecTest, ReturnValueForAnIntOutputParameter) {
  ByteWriter w;
  write_return_value(w, 0, "@h", {"", ColumnType::kInt, 0}, int64_t{7}, v74());
  EXPECT_EQ(w.data(),
            (Bytes{0xAC, 0, 0, 2, '@', 0, 'h', 0, 0x01, 0, 0, 0, 0, 0x01, 0x00, 0x26, 4, 4, 7, 0, 0, 0}));
  w.clear();
  write_return_value(w, 1, "", {"", ColumnType::kNVarChar, 10}, std::monostate{}, v71());
  EXPECT_EQ(w.data(), (Bytes{0xAC, 1, 0, 0, 0x01, 0, 0, 0x01, 0x00, 0xE7, 20, 0, 0x09, 0x04, 0xD0, 0x00, 0x34,
                             0xFF, 0xFF}));
}

}  // namespace
}  // namespace bakrest::server
