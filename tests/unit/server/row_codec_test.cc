#include "server/row_codec.h"

#include <gtest/gtest.h>

#include "server/tokens.h"

namespace bakrest::server {
namespace {

const Bytes kCollation = {0x09, 0x04, 0xD0, 0x00, 0x34};

TdsVersion v74() { return TdsVersion::negotiate(kTds74); }
TdsVersion v72() { return TdsVersion::negotiate(kTds72); }
TdsVersion v71() { return TdsVersion::negotiate(kTds71); }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

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
  EXPECT_EQ(metadata({"c", ColumnType::kDateTime2, 0}, v71()), concat({col_header(v71()), {0x6F, 8}, kName}));
  // 7.2 has MAX types but still no DATETIME2.
  EXPECT_EQ(metadata({"c", ColumnType::kDateTime2, 0}, v72()), concat({col_header(v72()), {0x6F, 8}, kName}));
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
