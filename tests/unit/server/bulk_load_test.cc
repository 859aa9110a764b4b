#include "server/bulk_load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "common/error.h"
#include "server/sql_datetime.h"
#include "server/text.h"
#include "support/tds_bytes.h"

namespace bakrest::server {
namespace {

using namespace tds_bytes;

Bytes le(uint64_t v, size_t width) {
  Bytes out;
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}
Bytes u16(uint16_t v) { return le(v, 2); }
Bytes u32(uint32_t v) { return le(v, 4); }
Bytes u64(uint64_t v) { return le(v, 8); }

Bytes b_varchar(std::string_view name) {
  return concat({{static_cast<uint8_t>(utf8_to_utf16(name).size())}, utf16(name)});
}

// One COLMETADATA column as TDS 7.2+ clients send it: UserType, Flags (nullable), TYPE_INFO, name.
Bytes column(const Bytes& type_info, std::string_view name) {
  return concat({u32(0), u16(0x0009), type_info, b_varchar(name)});
}

Bytes colmetadata(std::initializer_list<Bytes> columns) {
  Bytes out = concat({{0x81}, u16(static_cast<uint16_t>(columns.size()))});
  for (const Bytes& c : columns) out = concat({out, c});
  return out;
}

Bytes row(std::initializer_list<Bytes> values) {
  Bytes out = {0xD1};
  for (const Bytes& v : values) out = concat({out, v});
  return out;
}

Bytes done(uint64_t rows = 0) { return concat({{0xFD}, u16(0x10), u16(0), u64(rows)}); }

Bytes plp(const Bytes& data, size_t chunk) {
  Bytes out = u64(data.size());
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    size_t n = std::min(chunk, data.size() - pos);
    out = concat({out, u32(static_cast<uint32_t>(n)), Bytes(data.begin() + pos, data.begin() + pos + n)});
  }
  return concat({out, u32(0)});
}

// A value with a one-byte length in front.
Bytes byte_len(const Bytes& data) { return concat({{static_cast<uint8_t>(data.size())}, data}); }
// A value with a two-byte length in front.
Bytes short_len(const Bytes& data) { return concat({u16(static_cast<uint16_t>(data.size())), data}); }

// DECIMALN / NUMERICN: sign byte (1 positive) and a 4-, 8-, 12- or 16-byte magnitude.
Bytes decimal(bool positive, unsigned __int128 magnitude, size_t width) {
  Bytes out = {static_cast<uint8_t>(positive ? 1 : 0)};
  for (size_t i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(magnitude >> (8 * i)));
  return byte_len(out);
}

constexpr uint32_t k20240101From1900 = 45290;    // DATETIME days
constexpr uint32_t k20240101FromYear1 = 738885;  // DATE / DATETIME2 days
constexpr int64_t k20240101Unix = 19723LL * 86400 * 1000000;

std::string text(const Value& v) { return std::get<std::string>(v); }

TEST(BulkLoadTest, FixedLengthTypes) {
  Bytes payload = concat(
      {colmetadata({column({0x30}, "tiny"), column({0x32}, "flag"), column({0x34}, "small"),
                    column({0x38}, "i"), column({0x7F}, "big"), column({0x3B}, "r"), column({0x3E}, "f"),
                    column({0x7A}, "sm"), column({0x3C}, "m"), column({0x3A}, "sdt"), column({0x3D}, "dt")}),
       row({{200},
            {1},
            u16(static_cast<uint16_t>(-2)),
            u32(static_cast<uint32_t>(-70000)),
            u64(static_cast<uint64_t>(-5000000000LL)),
            u32(0x3FC00000),                                                   // 1.5f
            u64(0x4002000000000000ULL),                                        // 2.25
            u32(static_cast<uint32_t>(-15000)),                                // -1.5
            concat({u32(0), u32(123400)}),                                     // 12.34, high half first
            concat({u16(static_cast<uint16_t>(k20240101From1900)), u16(61)}),  // 01:01
            concat({u32(k20240101From1900), u32(300 * 3600 + 150)})}),         // 01:00:00.500
       done(1)});
  BulkLoad load = decode_bulk_load(payload, v74());
  ASSERT_EQ(load.columns.size(), 11u);
  EXPECT_EQ(load.columns[0].name, "tiny");
  EXPECT_EQ(load.columns[0].type, ColumnType::kTinyInt);
  EXPECT_EQ(load.columns[1].type, ColumnType::kBit);
  EXPECT_EQ(load.columns[2].type, ColumnType::kSmallInt);
  EXPECT_EQ(load.columns[3].type, ColumnType::kInt);
  EXPECT_EQ(load.columns[4].type, ColumnType::kBigInt);
  EXPECT_EQ(load.columns[5].type, ColumnType::kReal);
  EXPECT_EQ(load.columns[6].type, ColumnType::kFloat);
  EXPECT_EQ(load.columns[7].type, ColumnType::kSmallMoney);
  EXPECT_EQ(load.columns[8].type, ColumnType::kMoney);
  EXPECT_EQ(load.columns[9].type, ColumnType::kSmallDateTime);
  EXPECT_EQ(load.columns[10].type, ColumnType::kDateTime);
  ASSERT_EQ(load.rows.size(), 1u);
  const auto& r = load.rows[0];
  EXPECT_EQ(std::get<int64_t>(r[0]), 200);  // TINYINT is unsigned
  EXPECT_EQ(std::get<bool>(r[1]), true);
  EXPECT_EQ(std::get<int64_t>(r[2]), -2);
  EXPECT_EQ(std::get<int64_t>(r[3]), -70000);
  EXPECT_EQ(std::get<int64_t>(r[4]), -5000000000LL);
  EXPECT_EQ(std::get<double>(r[5]), 1.5);
  EXPECT_EQ(std::get<double>(r[6]), 2.25);
  EXPECT_EQ(std::get<double>(r[7]), -1.5);
  EXPECT_EQ(std::get<double>(r[8]), 12.34);
  EXPECT_EQ(std::get<DateTime>(r[9]).unix_micros, k20240101Unix + 61LL * 60 * 1000000);
  EXPECT_EQ(std::get<DateTime>(r[10]).unix_micros, k20240101Unix + 3600LL * 1000000 + 500000);
}

TEST(BulkLoadTest, NullableNumberTypesWithValuesAndNulls) {
  Bytes payload = concat(
      {colmetadata({column({0x26, 4}, "i"), column({0x26, 1}, "tiny"), column({0x68, 1}, "flag"),
                    column({0x6D, 8}, "f"), column({0x6D, 4}, "r"), column({0x6E, 8}, "m"),
                    column({0x6E, 4}, "sm"), column({0x6A, 9, 10, 2}, "d"), column({0x6C, 17, 38, 0}, "n"),
                    column({0x6A, 9, 18, 2}, "neg"), column({0x6A, 9, 18, 0}, "exact")}),
       row({byte_len(u32(42)), byte_len({255}), byte_len({0}), byte_len(u64(0x4002000000000000ULL)),
            byte_len(u32(0x3FC00000)), byte_len(concat({u32(0), u32(123400)})),
            byte_len(u32(static_cast<uint32_t>(-15000))), decimal(true, 1234567, 8),
            decimal(true, static_cast<unsigned __int128>(1234567890123456789ULL) * 10000 + 123, 16),
            decimal(false, 5, 8), decimal(true, 9007199254740993ULL, 8)}),
       row({{0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}}), done(2)});
  BulkLoad load = decode_bulk_load(payload, v74());
  ASSERT_EQ(load.rows.size(), 2u);
  EXPECT_EQ(load.columns[0].type, ColumnType::kInt);
  EXPECT_EQ(load.columns[1].type, ColumnType::kTinyInt);
  EXPECT_EQ(load.columns[3].type, ColumnType::kFloat);
  EXPECT_EQ(load.columns[4].type, ColumnType::kReal);
  EXPECT_EQ(load.columns[5].type, ColumnType::kMoney);
  EXPECT_EQ(load.columns[6].type, ColumnType::kSmallMoney);
  EXPECT_EQ(load.columns[7].type, ColumnType::kDecimal);
  EXPECT_EQ(load.columns[7].precision, 10);
  EXPECT_EQ(load.columns[7].scale, 2);
  const auto& r = load.rows[0];
  EXPECT_EQ(std::get<int64_t>(r[0]), 42);
  EXPECT_EQ(std::get<int64_t>(r[1]), 255);
  EXPECT_EQ(std::get<bool>(r[2]), false);
  EXPECT_EQ(std::get<double>(r[3]), 2.25);
  EXPECT_EQ(std::get<double>(r[4]), 1.5);
  EXPECT_EQ(std::get<double>(r[5]), 12.34);
  EXPECT_EQ(std::get<double>(r[6]), -1.5);
  EXPECT_EQ(std::get<double>(r[7]), 12345.67);
  EXPECT_EQ(text(r[8]), "12345678901234567890123");  // more digits than a double holds: exact text
  EXPECT_EQ(std::get<double>(r[9]), -0.05);
  EXPECT_EQ(std::get<int64_t>(r[10]), 9007199254740993);  // scale 0: exact as an integer
  for (const Value& v : load.rows[1]) EXPECT_TRUE(is_null(v));
}

TEST(BulkLoadTest, ExactTextForDecimalsAndMoneyBeyondADouble) {
  Bytes payload =
      concat({colmetadata({column({0x6A, 17, 38, 10}, "d"), column({0x6E, 8}, "m"),
                           column({0x6A, 17, 38, 20}, "small")}),
              row({decimal(false, static_cast<unsigned __int128>(123456789012345ULL) * 100000 + 6, 16),
                   byte_len(concat({u32(0x7FFFFFFF), u32(0xFFFFFFFF)})), decimal(true, 5, 16)})});
  BulkLoad load = decode_bulk_load(payload, v74());
  ASSERT_EQ(load.rows.size(), 1u);
  EXPECT_EQ(text(load.rows[0][0]), "-1234567890.1234500006");
  EXPECT_EQ(text(load.rows[0][1]), "922337203685477.5807");
  EXPECT_EQ(text(load.rows[0][2]), "0.00000000000000000005");
}

TEST(BulkLoadTest, DateAndTimeTypes) {
  Bytes payload = concat({colmetadata({column({0x6F, 8}, "dt"), column({0x6F, 4}, "sdt"), column({0x28}, "d"),
                                       column({0x29, 7}, "t"), column({0x2A, 3}, "dt2"),
                                       column({0x2B, 7}, "dto"), column({0x24, 16}, "g")}),
                          row({byte_len(concat({u32(k20240101From1900), u32(0)})),
                               byte_len(concat({u16(static_cast<uint16_t>(k20240101From1900)), u16(90)})),
                               byte_len(le(k20240101FromYear1, 3)), byte_len(le(452961234567ULL, 5)),
                               byte_len(concat({le(43200500, 4), le(k20240101FromYear1, 3)})),
                               byte_len(concat({le(18000000000ULL, 5), le(k20240101FromYear1, 3),
                                                u16(static_cast<uint16_t>(-60))})),
                               byte_len({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA,
                                         0xBB, 0xCC, 0xDD, 0xEE, 0xFF})}),
                          row({{0}, {0}, {0}, {0}, {0}, {0}, {0}}), done()});
  BulkLoad load = decode_bulk_load(payload, v74());
  EXPECT_EQ(load.columns[0].type, ColumnType::kDateTime);
  EXPECT_EQ(load.columns[1].type, ColumnType::kSmallDateTime);
  EXPECT_EQ(load.columns[2].type, ColumnType::kDate);
  EXPECT_EQ(load.columns[3].type, ColumnType::kTime);
  EXPECT_EQ(load.columns[3].scale, 7);
  EXPECT_EQ(load.columns[4].type, ColumnType::kDateTime2);
  EXPECT_EQ(load.columns[4].scale, 3);
  EXPECT_EQ(load.columns[5].type, ColumnType::kDateTimeOffset);
  EXPECT_EQ(load.columns[6].type, ColumnType::kUniqueIdentifier);
  ASSERT_EQ(load.rows.size(), 2u);
  const auto& r = load.rows[0];
  EXPECT_EQ(std::get<DateTime>(r[0]).unix_micros, k20240101Unix);
  EXPECT_EQ(std::get<DateTime>(r[1]).unix_micros, k20240101Unix + 90LL * 60 * 1000000);
  EXPECT_EQ(std::get<DateTime>(r[2]).unix_micros, k20240101Unix);
  EXPECT_EQ(text(r[3]), "12:34:56.1234567");
  EXPECT_EQ(text(r[4]), "2024-01-01 12:00:00.5000000");
  EXPECT_EQ(text(r[5]), "2023-12-31 23:30:00.0000000 -01:00");  // 00:30 UTC at -01:00
  EXPECT_EQ(text(r[6]), "33221100-5544-7766-8899-AABBCCDDEEFF");
  for (const Value& v : load.rows[1]) EXPECT_TRUE(is_null(v));
}

TEST(BulkLoadTest, CharacterAndBinaryTypes) {
  Bytes payload =
      concat({colmetadata({column(concat({{0xE7}, u16(100), kLatin1Collation}), "nv"),
                           column(concat({{0xEF}, u16(8), kLatin1Collation}), "nc"),
                           column(concat({{0xA7}, u16(50), kLatin1Collation}), "v"),
                           column(concat({{0xA7}, u16(50), kUtf8Collation}), "u"),
                           column(concat({{0xA5}, u16(16)}), "vb"), column(concat({{0xAD}, u16(4)}), "b")}),
              row({short_len(utf16("Zoë ✓")), short_len(utf16("abcd")), short_len({'c', 'a', 'f', 0xE9}),
                   short_len({'c', 'a', 'f', 0xC3, 0xA9}), short_len({1, 2, 3}), short_len({9, 8, 7, 6})}),
              row({u16(0xFFFF), u16(0xFFFF), u16(0xFFFF), u16(0xFFFF), u16(0xFFFF), u16(0xFFFF)}),
              row({short_len({}), short_len(utf16("    ")), short_len({}), short_len({}), short_len({}),
                   short_len({0, 0, 0, 0})}),
              done(3)});
  BulkLoad load = decode_bulk_load(payload, v74());
  EXPECT_EQ(load.columns[0].type, ColumnType::kNVarChar);
  EXPECT_EQ(load.columns[0].max_length, 50u);  // characters
  EXPECT_EQ(load.columns[1].max_length, 4u);
  EXPECT_EQ(load.columns[2].type, ColumnType::kNVarChar);
  EXPECT_EQ(load.columns[2].max_length, 50u);
  EXPECT_EQ(load.columns[4].type, ColumnType::kVarBinary);
  EXPECT_EQ(load.columns[4].max_length, 16u);
  ASSERT_EQ(load.rows.size(), 3u);
  EXPECT_EQ(text(load.rows[0][0]), "Zoë ✓");
  EXPECT_EQ(text(load.rows[0][1]), "abcd");
  EXPECT_EQ(text(load.rows[0][2]), "café");  // code page 1252
  EXPECT_EQ(text(load.rows[0][3]), "café");  // UTF-8 collation
  EXPECT_EQ(std::get<Bytes>(load.rows[0][4]), (Bytes{1, 2, 3}));
  EXPECT_EQ(std::get<Bytes>(load.rows[0][5]), (Bytes{9, 8, 7, 6}));
  for (const Value& v : load.rows[1]) EXPECT_TRUE(is_null(v));
  EXPECT_EQ(text(load.rows[2][0]), "");  // empty is not NULL
  EXPECT_EQ(std::get<Bytes>(load.rows[2][4]), Bytes{});
}

TEST(BulkLoadTest, PlpValuesInChunks) {
  std::string long_text(10000, 'x');
  long_text += "✓";
  Bytes blob(70000);
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 7);
  Bytes unknown_length = concat({u64(~uint64_t{0} - 1), u32(2), {'h', 0}, u32(4), {'i', 0, '!', 0}, u32(0)});
  Bytes payload = concat({colmetadata({column(concat({{0xE7}, u16(0xFFFF), kLatin1Collation}), "nv"),
                                       column(concat({{0xA5}, u16(0xFFFF)}), "vb"),
                                       column(concat({{0xA7}, u16(0xFFFF), kLatin1Collation}), "v")}),
                          row({plp(utf16(long_text), 4096), plp(blob, 8000), plp({'a', 0xE9}, 1)}),
                          row({unknown_length, u64(~uint64_t{0}), plp({}, 1)}), done(2)});
  BulkLoad load = decode_bulk_load(payload, v74());
  EXPECT_EQ(load.columns[0].type, ColumnType::kNVarCharMax);
  EXPECT_EQ(load.columns[1].type, ColumnType::kVarBinaryMax);
  EXPECT_EQ(load.columns[2].type, ColumnType::kNVarCharMax);
  ASSERT_EQ(load.rows.size(), 2u);
  EXPECT_EQ(text(load.rows[0][0]), long_text);
  EXPECT_EQ(std::get<Bytes>(load.rows[0][1]), blob);
  EXPECT_EQ(text(load.rows[0][2]), "aé");
  EXPECT_EQ(text(load.rows[1][0]), "hi!");
  EXPECT_TRUE(is_null(load.rows[1][1]));
  EXPECT_EQ(text(load.rows[1][2]), "");
}

TEST(BulkLoadTest, TextNTextAndImageCarryTextPointers) {
  Bytes pointer = concat({{16}, Bytes(16, 0), Bytes(8, 0)});
  Bytes payload = concat(
      {colmetadata({column(concat({{0x23}, u32(0x7FFFFFFF), kLatin1Collation, u16(1), utf16("t")}), "t"),
                    column(concat({{0x63}, u32(0x7FFFFFFE), kLatin1Collation, u16(1), utf16("t")}), "n"),
                    column(concat({{0x22}, u32(0x7FFFFFFF), u16(1), utf16("t")}), "i")}),
       row({concat({pointer, u32(3), {'a', 'b', 0xE9}}), concat({pointer, u32(4), utf16("✓x")}),
            concat({pointer, u32(2), {0xCA, 0xFE}})}),
       row({{0}, {0}, {0}}), done(2)});
  BulkLoad load = decode_bulk_load(payload, v74());
  EXPECT_EQ(load.columns[0].name, "t");
  EXPECT_EQ(load.columns[0].type, ColumnType::kNVarCharMax);
  EXPECT_EQ(load.columns[2].type, ColumnType::kVarBinaryMax);
  ASSERT_EQ(load.rows.size(), 2u);
  EXPECT_EQ(text(load.rows[0][0]), "abé");
  EXPECT_EQ(text(load.rows[0][1]), "✓x");
  EXPECT_EQ(std::get<Bytes>(load.rows[0][2]), (Bytes{0xCA, 0xFE}));
  for (const Value& v : load.rows[1]) EXPECT_TRUE(is_null(v));
}

TEST(BulkLoadTest, Tds71HasShortUserTypesAndRowCounts) {
  Bytes payload = concat({{0x81},
                          u16(1),
                          u16(0),
                          u16(1),
                          {0x26, 4},
                          b_varchar("id"),
                          row({byte_len(u32(7))}),
                          {0xFD},
                          u16(0),
                          u16(0),
                          u32(0)});
  BulkLoad load = decode_bulk_load(payload, v71());
  ASSERT_EQ(load.rows.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(load.rows[0][0]), 7);
  EXPECT_ANY_THROW(decode_bulk_load(payload, v74()));
}

TEST(BulkLoadTest, LoadsOfNoRowsAndStreamsWithoutDone) {
  // tedious sends a DONE alone for a load of no rows; FreeTDS ends the stream after the last ROW.
  BulkLoad nothing = decode_bulk_load(done(), v74());
  EXPECT_TRUE(nothing.columns.empty());
  EXPECT_TRUE(nothing.rows.empty());
  EXPECT_TRUE(decode_bulk_load(Bytes{}, v74()).rows.empty());
  Bytes metadata = colmetadata({column({0x26, 4}, "id")});
  EXPECT_EQ(decode_bulk_load(metadata, v74()).columns.size(), 1u);
  BulkLoad no_done = decode_bulk_load(concat({metadata, row({byte_len(u32(1))}), row({{0}})}), v74());
  EXPECT_EQ(no_done.rows.size(), 2u);
}

TEST(BulkLoadTest, ReaderStreamsRowByRow) {
  Bytes payload = concat(
      {colmetadata({column({0x26, 4}, "id")}), row({byte_len(u32(1))}), row({byte_len(u32(2))}), done(2)});
  BulkLoadReader reader(payload, v74());
  ASSERT_EQ(reader.wire_types().size(), 1u);
  EXPECT_EQ(reader.wire_types()[0].code, 0x26);
  EXPECT_EQ(reader.wire_types()[0].length, 4u);
  std::vector<Value> values;
  ASSERT_TRUE(reader.next(values));
  EXPECT_EQ(std::get<int64_t>(values[0]), 1);
  ASSERT_TRUE(reader.next(values));
  EXPECT_EQ(std::get<int64_t>(values[0]), 2);
  EXPECT_FALSE(reader.next(values));
  EXPECT_FALSE(reader.next(values));
  EXPECT_EQ(reader.rows_read(), 2u);
}

// Every type of the tests above in one payload, for cutting short.
Bytes every_type_payload() {
  Bytes pointer = concat({{16}, Bytes(16, 0), Bytes(8, 0)});
  return concat(
      {colmetadata({column({0x38}, "i"), column({0x26, 8}, "big"), column({0x6A, 9, 10, 2}, "d"),
                    column({0x2B, 7}, "dto"), column(concat({{0xE7}, u16(20), kLatin1Collation}), "nv"),
                    column(concat({{0xA5}, u16(0xFFFF)}), "vb"),
                    column(concat({{0x63}, u32(100), kLatin1Collation, u16(1), utf16("t")}), "n")}),
       row({u32(1), byte_len(u64(2)), decimal(true, 314, 4),
            byte_len(concat({le(0, 5), le(k20240101FromYear1, 3), u16(0)})), short_len(utf16("hé")),
            plp({1, 2, 3, 4, 5}, 2), concat({pointer, u32(2), utf16("x")})}),
       row({u32(2), {0}, {0}, {0}, u16(0xFFFF), u64(~uint64_t{0}), {0}}), done(2)});
}

TEST(BulkLoadTest, EveryTruncationIsAnErrorOrAShorterLoad) {
  Bytes full = every_type_payload();
  BulkLoad whole = decode_bulk_load(full, v74());
  ASSERT_EQ(whole.rows.size(), 2u);
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      BulkLoad part = decode_bulk_load(cut, v74());
      // Only a cut at a token boundary reads: then it is the rows before the cut.
      ASSERT_LE(part.rows.size(), whole.rows.size()) << n;
      for (size_t r = 0; r < part.rows.size(); ++r) EXPECT_EQ(part.rows[r], whole.rows[r]) << n;
    } catch (const ProtocolError&) {
    }
  }
}

// The message the decoder refuses a payload with.
std::string refusal(const Bytes& payload) {
  try {
    decode_bulk_load(payload, v74());
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(BulkLoadTest, RefusesHostileLengths) {
  Bytes nv20 = colmetadata({column(concat({{0xE7}, u16(20), kLatin1Collation}), "nv")});
  // A value longer than its column, and one longer than the message.
  EXPECT_NE(refusal(concat({nv20, row({short_len(utf16(std::string(11, 'x')))})})).find("at most 20"),
            std::string::npos);
  EXPECT_NE(refusal(concat({nv20, row({u16(18), utf16("abc")})})).find("truncated"), std::string::npos);
  EXPECT_NE(refusal(concat({nv20, row({short_len({'a', 0, 'b'})})})).find("odd"), std::string::npos);
  Bytes vbmax = colmetadata({column(concat({{0xA5}, u16(0xFFFF)}), "vb")});
  // A PLP length of 2^63 with a few bytes left: refused before anything is allocated.
  EXPECT_NE(refusal(concat({vbmax, row({u64(1ULL << 63), u32(1), {1}, u32(0)})})).find("PLP value"),
            std::string::npos);
  // Chunks that add up to more, or less, than the stated length.
  EXPECT_NE(refusal(concat({vbmax, row({u64(2), u32(3), {1, 2, 3}, u32(0)})})).find("PLP chunks"),
            std::string::npos);
  EXPECT_NE(refusal(concat({vbmax, row({u64(4), u32(3), {1, 2, 3}, u32(0), u32(0)})})).find("PLP chunks"),
            std::string::npos);
  // A chunk longer than what is left.
  EXPECT_NE(refusal(concat({vbmax, row({u64(~uint64_t{0} - 1), u32(0xFFFFFFFF), {1}})})).find("truncated"),
            std::string::npos);
  // Text pointers and TEXT lengths beyond the message.
  Bytes ntext = colmetadata({column(concat({{0x63}, u32(100), kLatin1Collation, u16(1), utf16("t")}), "n")});
  EXPECT_NE(refusal(concat({ntext, row({{200}, Bytes(10, 0)})})).find("truncated"), std::string::npos);
  EXPECT_NE(refusal(concat({ntext, row({{16}, Bytes(24, 0), u32(0xFFFFFFF0)})})).find("at most 100"),
            std::string::npos);
}

TEST(BulkLoadTest, RefusesValuesOutOfRange) {
  auto one = [](const Bytes& type_info, const Bytes& value) {
    return refusal(concat({colmetadata({column(type_info, "c")}), row({value})}));
  };
  EXPECT_NE(one({0x26, 4}, byte_len(u64(1))).find("at most 4"), std::string::npos);
  EXPECT_NE(one({0x26, 8}, byte_len({1, 2, 3})).find("does not have"), std::string::npos);
  EXPECT_NE(one({0x6A, 5, 9, 0}, decimal(true, 1000000000, 4)).find("digits"), std::string::npos);
  EXPECT_NE(one({0x6A, 5, 9, 0}, byte_len({2, 1, 0, 0, 0})).find("sign"), std::string::npos);
  EXPECT_NE(one({0x28}, byte_len(le(3652059, 3))).find("9999-12-31"), std::string::npos);
  EXPECT_NE(one({0x29, 0}, byte_len(le(86400, 3))).find("time of day"), std::string::npos);
  EXPECT_NE(one({0x2B, 0}, byte_len(concat({le(0, 3), le(0, 3), u16(841)}))).find("offset"),
            std::string::npos);
  EXPECT_NE(one({0x2B, 0}, byte_len(concat({le(0, 3), le(0, 3), u16(static_cast<uint16_t>(-60))})))
                .find("0001-01-01"),
            std::string::npos);
  EXPECT_NE(one({0x2A, 7}, byte_len(le(0, 3))).find("bytes where scale"), std::string::npos);
  EXPECT_NE(one({0x6F, 8}, byte_len(concat({u32(0), u32(300 * 86400)}))).find("tick"), std::string::npos);
  EXPECT_NE(one({0x6F, 8}, byte_len(concat({u32(static_cast<uint32_t>(-60000)), u32(0)}))).find("1753"),
            std::string::npos);
  EXPECT_NE(one({0x6F, 4}, byte_len(concat({u16(0), u16(1440)}))).find("minute"), std::string::npos);
}

TEST(BulkLoadTest, RefusesMalformedStreams) {
  Bytes metadata = colmetadata({column({0x26, 4}, "id")});
  EXPECT_NE(refusal(row({byte_len(u32(1))})).find("starts with COLMETADATA"), std::string::npos);
  EXPECT_NE(refusal(concat({{0x81}, u16(0)})).find("0 columns"), std::string::npos);
  EXPECT_NE(refusal(concat({{0x81}, u16(5000)})).find("5000 columns"), std::string::npos);
  EXPECT_NE(refusal(concat({metadata, {0xD2}})).find("0xD2"), std::string::npos);
  EXPECT_NE(refusal(concat({metadata, done(), {0xD1}})).find("after the DONE"), std::string::npos);
  EXPECT_NE(refusal(concat({done(), done()})).find("after the DONE"), std::string::npos);
  EXPECT_NE(refusal(colmetadata({column({0x26, 3}, "id")})).find("length 3"), std::string::npos);
  EXPECT_NE(refusal(colmetadata({column({0x6A, 9, 39, 0}, "d")})).find("precision 39"), std::string::npos);
  EXPECT_NE(refusal(colmetadata({column({0x6A, 9, 10, 11}, "d")})).find("DECIMAL(10,11)"), std::string::npos);
  EXPECT_NE(refusal(colmetadata({column({0x29, 8}, "t")})).find("scale 8"), std::string::npos);
  EXPECT_NE(
      refusal(colmetadata({column(concat({{0xEF}, u16(0xFFFF), kLatin1Collation}), "c")})).find("length"),
      std::string::npos);
  EXPECT_NE(refusal(colmetadata({column(concat({{0xE7}, u16(9), kLatin1Collation}), "c")})).find("length 9"),
            std::string::npos);
  EXPECT_NE(refusal(colmetadata({column(concat({{0xA5}, u16(8001)}), "c")})).find("length 8001"),
            std::string::npos);
  // Errors name the row and column they are in.
  EXPECT_NE(refusal(concat({metadata, row({byte_len(u32(1))}), row({byte_len({1, 2, 3})})}))
                .find("row 2, column 1 ('id')"),
            std::string::npos);
}

TEST(BulkLoadTest, TypesBakrestDoesNotTakeAreError4816) {
  for (Bytes type_info : {Bytes{0x37, 5, 9, 0}, Bytes{0x3F, 5, 9, 0}, Bytes{0x27, 10}, Bytes{0xF1, 0},
                          Bytes{0x62, 0, 0, 0, 0}, Bytes{0x00}, Bytes{0xFF}}) {
    Bytes payload = colmetadata({column({0x26, 4}, "id"), column(type_info, "x")});
    try {
      decode_bulk_load(payload, v74());
      ADD_FAILURE() << "type 0x" << std::hex << int{type_info[0]} << " accepted";
    } catch (const SqlError& e) {
      EXPECT_EQ(e.message().number, 4816);
      EXPECT_NE(e.message().text.find("colid 2"), std::string::npos) << e.message().text;
    }
  }
}

// Decoding a payload that arrives through a MessageStream, cut into packets.
class StreamedBulkLoadTest : public ::testing::Test {
 protected:
  RequestBudget budget{uint64_t{1} << 30, uint64_t{1} << 30};
  std::shared_ptr<RequestBudget::Account> account = budget.open_account();

  // A stream that holds payload cut at the given offsets (ascending), ended as `how`.
  std::unique_ptr<MessageStream> fed(const Bytes& payload, const std::vector<size_t>& cuts,
                                     MessageEnd how = MessageEnd::kComplete) {
    auto stream = std::make_unique<MessageStream>(account, std::numeric_limits<uint64_t>::max());
    size_t from = 0;
    for (size_t cut : cuts) {
      stream->push(Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from),
                         payload.begin() + static_cast<std::ptrdiff_t>(cut)));
      from = cut;
    }
    stream->push(Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from), payload.end()));
    stream->end(how);
    return stream;
  }

  static BulkLoad decode(MessageStream& stream, BulkRowLimits limits = {}) {
    BulkLoadReader reader(stream, v74(), std::move(limits));
    BulkLoad load;
    load.columns = reader.columns();
    std::vector<Value> row;
    while (reader.next(row)) load.rows.push_back(row);
    return load;
  }
};

void expect_same(const BulkLoad& a, const BulkLoad& b, const std::string& where) {
  ASSERT_EQ(a.columns.size(), b.columns.size()) << where;
  for (size_t c = 0; c < a.columns.size(); ++c) {
    EXPECT_EQ(a.columns[c].name, b.columns[c].name) << where;
    EXPECT_EQ(a.columns[c].type, b.columns[c].type) << where;
    EXPECT_EQ(a.columns[c].max_length, b.columns[c].max_length) << where;
  }
  EXPECT_EQ(a.rows, b.rows) << where;
}

TEST_F(StreamedBulkLoadTest, EveryTokenSplitAtEveryByteReadsAsTheWholePayload) {
  Bytes full = every_type_payload();
  BulkLoad whole = decode_bulk_load(full, v74());
  for (size_t cut = 0; cut <= full.size(); ++cut) {
    auto stream = fed(full, {cut});
    expect_same(decode(*stream), whole, "cut at " + std::to_string(cut));
  }
  // And three packets, the middle one a single byte; and a byte a packet.
  for (size_t cut = 0; cut + 1 <= full.size(); ++cut) {
    auto stream = fed(full, {cut, cut + 1});
    expect_same(decode(*stream), whole, "byte " + std::to_string(cut) + " alone");
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < full.size(); ++i) every.push_back(i);
  auto stream = fed(full, every);
  expect_same(decode(*stream), whole, "a byte a packet");
}

TEST_F(StreamedBulkLoadTest, TruncationsFailAsTheyDoInAWholePayload) {
  Bytes full = every_type_payload();
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    std::string whole_error, streamed_error;
    BulkLoad whole, streamed;
    try {
      whole = decode_bulk_load(cut, v74());
    } catch (const ProtocolError& e) {
      whole_error = e.what();
    }
    std::vector<size_t> halves = {n / 2};
    auto stream = fed(cut, halves);
    try {
      streamed = decode(*stream);
    } catch (const ProtocolError& e) {
      streamed_error = e.what();
    }
    EXPECT_EQ(whole_error.empty(), streamed_error.empty())
        << n << ": " << whole_error << " / " << streamed_error;
    if (whole_error.empty()) expect_same(streamed, whole, "cut at " + std::to_string(n));
  }
}

// The number of the SqlError that decoding throws, or 0.
template <class F>
int32_t sql_error(F&& f, std::string* text = nullptr) {
  try {
    f();
  } catch (const SqlError& e) {
    if (text) *text = e.message().text;
    return e.message().number;
  }
  return 0;
}

TEST_F(StreamedBulkLoadTest, RowsAreBoundedBeforeAnythingIsAllocated) {
  BulkRowLimits limits{1000, nullptr};
  Bytes vbmax = colmetadata({column(concat({{0xA5}, u16(0xFFFF)}), "vb")});
  // A PLP value announced as 2^63 bytes, or a chunk of 4 GiB, with a few bytes behind it: a stream's end is
  // not known ahead, so the row's limit refuses them.
  auto huge = fed(concat({vbmax, row({u64(1ULL << 63), u32(1), {1}, u32(0)})}), {});
  std::string text;
  EXPECT_EQ(sql_error([&] { decode(*huge, limits); }, &text), 701);
  EXPECT_NE(text.find("Row 1 of the bulk load"), std::string::npos) << text;
  auto chunk = fed(concat({vbmax, row({u64(~uint64_t{0} - 1), u32(0xFFFFFFFF), {1}})}), {});
  EXPECT_EQ(sql_error([&] { decode(*chunk, limits); }), 701);
  // Values that fit alone, but not together in one row; the row before them is fine.
  Bytes nv = concat({{0xE7}, u16(8000), kLatin1Collation});
  Bytes three = colmetadata({column(nv, "a"), column(nv, "b"), column(nv, "c")});
  Bytes small = short_len(utf16("x"));
  Bytes big = short_len(utf16(std::string(200, 'y')));  // 400 bytes
  auto rows = fed(concat({three, row({small, small, small}), row({big, big, big})}), {});
  EXPECT_EQ(sql_error([&] { decode(*rows, limits); }, &text), 701);
  EXPECT_NE(text.find("Row 2 of the bulk load"), std::string::npos) << text;
}

TEST_F(StreamedBulkLoadTest, LargeRowsDrawOnTheBudgetUntilTheNextRow) {
  RequestBudget rows_budget(4 << 20, 4 << 20);
  auto rows_account = rows_budget.open_account();
  Bytes vbmax = colmetadata({column(concat({{0xA5}, u16(0xFFFF)}), "vb")});
  Bytes large(300 * 1024, 0xAB);
  auto stream =
      fed(concat({vbmax, row({plp(large, 8000)}), row({plp({1, 2}, 2)}), done(2)}), {100, 5000, 70000});
  BulkLoadReader reader(*stream, v74(), BulkRowLimits{4 << 20, rows_account});
  std::vector<Value> values;
  ASSERT_TRUE(reader.next(values));
  EXPECT_EQ(std::get<Bytes>(values[0]), large);
  EXPECT_GE(rows_account->held(), large.size());
  ASSERT_TRUE(reader.next(values));
  EXPECT_EQ(rows_account->held(), 0u);  // a small row draws on nothing
  EXPECT_FALSE(reader.next(values));

  // A row the instance has no room for is refused, not waited for.
  RequestBudget full(4 << 20, 1);
  auto refused = fed(concat({vbmax, row({plp(large, 8000)})}), {});
  std::string text;
  EXPECT_EQ(sql_error([&] { decode(*refused, BulkRowLimits{4 << 20, full.open_account()}); }, &text), 701);
  EXPECT_NE(text.find("max_buffered_request_mb"), std::string::npos) << text;
}

TEST_F(StreamedBulkLoadTest, AnAbandonedMessageStopsTheReader) {
  Bytes metadata = colmetadata({column({0x26, 4}, "id")});
  // Abandoned before the reader starts: the COLMETADATA it would have read is gone with the rest.
  auto ignored = fed(concat({metadata, row({byte_len(u32(1))})}), {}, MessageEnd::kIgnored);
  BulkLoadReader early(*ignored, v74(), {});
  EXPECT_THROW(early.columns(), MessageAbandoned);
  // Abandoned after a row: the next one throws.
  MessageStream stream(account, 1 << 20);
  stream.push(concat({metadata, row({byte_len(u32(1))}), {0xD1, 0x04}}));
  BulkLoadReader reader(stream, v74(), {});
  std::vector<Value> values;
  ASSERT_TRUE(reader.next(values));
  stream.end(MessageEnd::kIgnored);
  try {
    reader.next(values);
    ADD_FAILURE() << "an abandoned row was read";
  } catch (const MessageAbandoned& e) {
    EXPECT_EQ(e.how(), MessageEnd::kIgnored);
  }
}

TEST_F(StreamedBulkLoadTest, DiscardRestWaitsForTheEndOfTheMessage) {
  Bytes metadata = colmetadata({column({0x26, 4}, "id")});
  MessageStream stream(account, 64);
  stream.push(concat({metadata, row({byte_len(u32(1))})}));
  BulkLoadReader reader(stream, v74(), {});
  std::vector<Value> values;
  ASSERT_TRUE(reader.next(values));
  std::atomic<int> dropped{0};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      if (!stream.push(row({byte_len(u32(static_cast<uint32_t>(i)))}))) ++dropped;
    }
    stream.end(MessageEnd::kComplete);
  });
  reader.discard_rest();  // the load failed after row 1: the rest is read, not kept
  producer.join();
  EXPECT_GT(dropped.load(), 0);
  EXPECT_EQ(stream.ended(), MessageEnd::kComplete);
  EXPECT_EQ(account->held(), 0u);
  EXPECT_FALSE(reader.next(values));
  EXPECT_EQ(reader.rows_read(), 1u);
}

TEST_F(StreamedBulkLoadTest, RowsAreDecodedWhileTheRestArrives) {
  Bytes nv = concat({{0xE7}, u16(100), kLatin1Collation});
  Bytes payload = colmetadata({column({0x26, 4}, "id"), column(nv, "s")});
  const uint32_t kRows = 20000;
  // Appended in place: concatenating into a new buffer per row copied O(rows^2) bytes, a minute under ASan.
  for (uint32_t i = 0; i < kRows; ++i) {
    Bytes r = row({byte_len(u32(i)), short_len(utf16("row " + std::to_string(i)))});
    payload.insert(payload.end(), r.begin(), r.end());
  }
  Bytes end = done(kRows);
  payload.insert(payload.end(), end.begin(), end.end());
  MessageStream stream(account, 4096);  // far less than the payload
  std::thread producer([&] {
    for (size_t from = 0; from < payload.size(); from += 509) {
      size_t to = std::min(payload.size(), from + 509);
      stream.push(Bytes(payload.begin() + static_cast<std::ptrdiff_t>(from),
                        payload.begin() + static_cast<std::ptrdiff_t>(to)));
    }
    stream.end(MessageEnd::kComplete);
  });
  BulkLoadReader reader(stream, v74(), {});
  std::vector<Value> values;
  uint32_t n = 0;
  while (reader.next(values)) {
    ASSERT_EQ(std::get<int64_t>(values[0]), n);
    ASSERT_EQ(text(values[1]), "row " + std::to_string(n));
    EXPECT_LE(account->held(), 4096u + 509u);  // what the stream holds, and the packet being read
    ++n;
  }
  producer.join();
  EXPECT_EQ(n, kRows);
}

}  // namespace
}  // namespace bakrest::server
