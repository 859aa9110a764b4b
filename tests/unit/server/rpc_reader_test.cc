#include "server/rpc_reader.h"

#include <gtest/gtest.h>

#include "server/sql_datetime.h"
#include "server/text.h"
#include "support/tds_bytes.h"

namespace bakrest::server {
namespace {

using namespace tds_bytes;

Bytes u16(uint16_t v) { return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}; }
Bytes u32(uint32_t v) { return concat({u16(static_cast<uint16_t>(v)), u16(static_cast<uint16_t>(v >> 16))}); }
Bytes u64(uint64_t v) { return concat({u32(static_cast<uint32_t>(v)), u32(static_cast<uint32_t>(v >> 32))}); }

// ALL_HEADERS with one transaction descriptor header, as 7.2+ clients send it.
const Bytes kAllHeaders = concat({u32(22), u32(18), u16(2), u64(0), u32(1)});

Bytes by_name(std::string_view name) {
  return concat({u16(static_cast<uint16_t>(name.size())), utf16(name), u16(0)});
}
Bytes by_id(uint16_t id) { return concat({u16(0xFFFF), u16(id), u16(0)}); }

Bytes param(std::string_view name, const Bytes& typed_value, uint8_t status = 0) {
  return concat({{static_cast<uint8_t>(name.size())}, utf16(name), {status}, typed_value});
}

// Decodes one typed value the way an RPC parameter carries it.
Value decode(const Bytes& typed_value) {
  auto calls = parse_rpc_request(concat({kAllHeaders, by_name("p"), param("@x", typed_value)}), v74());
  EXPECT_EQ(calls.size(), 1u);
  if (calls.empty()) return std::monostate{};
  EXPECT_FALSE(calls[0].error) << calls[0].error->text;
  if (calls[0].call.args.size() != 1) return std::string("<missing>");
  return calls[0].call.args[0].value;
}

Bytes plp(const Bytes& data, size_t chunk) {
  Bytes out = u64(data.size());
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    size_t n = std::min(chunk, data.size() - pos);
    out = concat({out, u32(static_cast<uint32_t>(n)), Bytes(data.begin() + pos, data.begin() + pos + n)});
  }
  return concat({out, u32(0)});
}

TEST(TdsRpcReaderTest, CallByNameWithNamedAndOutputParameters) {
  Bytes payload =
      concat({kAllHeaders, by_name("msdb.dbo.rds_task_status"),
              param("@db_name", concat({{0xE7}, u16(8000), kLatin1Collation, u16(2), utf16("x")})),
              param("@out", {0x26, 4, 0}, 0x01)});
  auto calls = parse_rpc_request(payload, v74());
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_FALSE(calls[0].error);
  const ProcCall& c = calls[0].call;
  EXPECT_EQ(c.name, "msdb.dbo.rds_task_status");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].name, "@db_name");
  EXPECT_EQ(c.args[0].value, Value(std::string("x")));
  EXPECT_FALSE(c.args[0].output);
  EXPECT_EQ(c.args[1].name, "@out");
  EXPECT_TRUE(is_null(c.args[1].value));
  EXPECT_TRUE(c.args[1].output);
}

TEST(TdsRpcReaderTest, ProcId10IsSpExecuteSql) {
  Bytes stmt = param("", concat({{0xE7}, u16(0xFFFF), kLatin1Collation, plp(utf16("SELECT 1"), 5)}));
  auto calls = parse_rpc_request(concat({kAllHeaders, by_id(10), stmt}), v74());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].call.name, "sp_executesql");
  EXPECT_EQ(calls[0].proc_id, 10);
  ASSERT_EQ(calls[0].call.args.size(), 1u);
  EXPECT_EQ(calls[0].call.args[0].value, Value(std::string("SELECT 1")));
  EXPECT_EQ(calls[0].call.args[0].name, "");
}

TEST(TdsRpcReaderTest, PreparedStatementProcIdsGetTheirNames) {
  const std::pair<uint16_t, const char*> ids[] = {
      {11, "sp_prepare"}, {12, "sp_execute"}, {13, "sp_prepexec"}, {15, "sp_unprepare"}};
  for (auto [id, name] : ids) {
    auto calls =
        parse_rpc_request(concat({kAllHeaders, by_id(id), param("", {0x26, 4, 4, 1, 0, 0, 0})}), v74());
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_FALSE(calls[0].error);
    EXPECT_EQ(calls[0].call.name, name);
    EXPECT_EQ(calls[0].proc_id, id);
  }
}

TEST(TdsRpcReaderTest, OtherProcIdsAreRefusedByNumberAndName) {
  auto calls = parse_rpc_request(concat({kAllHeaders, by_id(2), param("", {0x26, 4, 4, 1, 0, 0, 0})}), v74());
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].error);
  EXPECT_NE(calls[0].error->text.find("2"), std::string::npos);
  EXPECT_NE(calls[0].error->text.find("sp_cursoropen"), std::string::npos);
  EXPECT_EQ(calls[0].error->severity, 16);

  calls = parse_rpc_request(concat({kAllHeaders, by_id(99)}), v74());
  ASSERT_TRUE(calls[0].error);
  EXPECT_NE(calls[0].error->text.find("99"), std::string::npos);
}

TEST(TdsRpcReaderTest, BatchedCallsAreSeparatedBy0xFFOr0x80In71) {
  Bytes one = concat({by_name("a"), param("@i", {0x38, 1, 0, 0, 0})});
  Bytes two = concat({by_name("b")});
  auto calls = parse_rpc_request(concat({kAllHeaders, one, {0xFF}, two}), v74());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].call.name, "a");
  EXPECT_EQ(calls[1].call.name, "b");
  EXPECT_TRUE(calls[1].call.args.empty());

  calls = parse_rpc_request(concat({one, {0x80}, two}), v71());  // 7.1: no ALL_HEADERS
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].call.name, "b");

  // An unsupported ProcID does not stop the calls after it.
  calls = parse_rpc_request(concat({kAllHeaders, by_id(9), {0xFF}, two}), v74());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].error);
  EXPECT_FALSE(calls[1].error);
}

TEST(TdsRpcReaderTest, Integers) {
  EXPECT_EQ(decode({0x26, 1, 1, 0xFF}), Value(int64_t{255}));  // TINYINT is unsigned
  EXPECT_EQ(decode({0x26, 2, 2, 0xFE, 0xFF}), Value(int64_t{-2}));
  EXPECT_EQ(decode({0x26, 4, 4, 0xFE, 0xFF, 0xFF, 0xFF}), Value(int64_t{-2}));
  EXPECT_EQ(decode(concat({{0x26, 8, 8}, u64(1ULL << 40)})), Value(int64_t{1} << 40));
  EXPECT_EQ(decode({0x26, 4, 0}), Value());
  EXPECT_EQ(decode({0x30, 200}), Value(int64_t{200}));
  EXPECT_EQ(decode({0x34, 0x00, 0x80}), Value(int64_t{-32768}));
  EXPECT_EQ(decode({0x38, 7, 0, 0, 0}), Value(int64_t{7}));
  EXPECT_EQ(decode(concat({{0x7F}, u64(~0ULL)})), Value(int64_t{-1}));
}

TEST(TdsRpcReaderTest, BitsAndFloats) {
  EXPECT_EQ(decode({0x68, 1, 1, 1}), Value(true));
  EXPECT_EQ(decode({0x68, 1, 1, 0}), Value(false));
  EXPECT_EQ(decode({0x68, 1, 0}), Value());
  EXPECT_EQ(decode({0x32, 1}), Value(true));
  EXPECT_EQ(decode({0x6D, 8, 8, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}), Value(1.5));
  EXPECT_EQ(decode({0x6D, 4, 4, 0, 0, 0xC0, 0x3F}), Value(1.5));
  EXPECT_EQ(decode({0x6D, 8, 0}), Value());
  EXPECT_EQ(decode({0x3B, 0, 0, 0xC0, 0x3F}), Value(1.5));
  EXPECT_EQ(decode({0x3E, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}), Value(1.5));
  EXPECT_EQ(decode(concat({{0x6E, 8, 8}, u32(0), u32(15000)})), Value(1.5));  // MONEY
}

TEST(TdsRpcReaderTest, UnicodeText) {
  EXPECT_EQ(decode(concat({{0xE7}, u16(100), kLatin1Collation, u16(4), utf16("h\xC3\xA9")})),
            Value(std::string("h\xC3\xA9")));
  EXPECT_EQ(decode(concat({{0xE7}, u16(100), kLatin1Collation, u16(0xFFFF)})), Value());
  EXPECT_EQ(decode(concat({{0xE7}, u16(100), kLatin1Collation, u16(0)})), Value(std::string()));
  // NVARCHAR(MAX) as PLP in several chunks, and as PLP NULL.
  std::string long_text(3000, 'q');
  EXPECT_EQ(decode(concat({{0xE7}, u16(0xFFFF), kLatin1Collation, plp(utf16(long_text), 1000)})),
            Value(long_text));
  EXPECT_EQ(decode(concat({{0xE7}, u16(0xFFFF), kLatin1Collation, u64(~0ULL)})), Value());
  // PLP with unknown total length.
  EXPECT_EQ(
      decode(concat({{0xE7}, u16(0xFFFF), kLatin1Collation, u64(~0ULL - 1), u32(2), utf16("z"), u32(0)})),
      Value(std::string("z")));
  EXPECT_EQ(decode(concat({{0xEF}, u16(4), kLatin1Collation, u16(4), utf16("ab")})),
            Value(std::string("ab")));
  // NTEXT: u32 length, no text pointer.
  EXPECT_EQ(decode(concat({{0x63}, u32(0x7FFFFFFE), kLatin1Collation, u32(2), utf16("n")})),
            Value(std::string("n")));
  EXPECT_EQ(decode(concat({{0x63}, u32(0x7FFFFFFE), kLatin1Collation, u32(0xFFFFFFFF)})), Value());
}

TEST(TdsRpcReaderTest, SingleByteTextIsCp1252UnlessTheCollationSaysUtf8) {
  EXPECT_EQ(decode(concat({{0xA7}, u16(100), kLatin1Collation, u16(5), {'c', 'a', 'f', 0xE9, 0x80}})),
            Value(std::string("caf\xC3\xA9\xE2\x82\xAC")));
  EXPECT_EQ(decode(concat({{0xA7}, u16(100), kUtf8Collation, u16(2), {0xC3, 0xA9}})),
            Value(std::string("\xC3\xA9")));
  EXPECT_EQ(decode(concat({{0xA7}, u16(0xFFFF), kLatin1Collation, plp({'a', 'b', 'c'}, 2)})),
            Value(std::string("abc")));
  EXPECT_EQ(decode(concat({{0xA7}, u16(100), kLatin1Collation, u16(0xFFFF)})), Value());
  EXPECT_EQ(decode(concat({{0xAF}, u16(3), kLatin1Collation, u16(3), {'a', 'b', ' '}})),
            Value(std::string("ab ")));
  EXPECT_EQ(decode({0x27, 10, 2, 'h', 'i'}), Value(std::string("hi")));  // legacy VARCHAR
  EXPECT_EQ(decode(concat({{0x23}, u32(0x7FFFFFFF), kLatin1Collation, u32(1), {0xE9}})),
            Value(std::string("\xC3\xA9")));  // TEXT
}

TEST(TdsRpcReaderTest, Binary) {
  EXPECT_EQ(decode(concat({{0xA5}, u16(10), u16(3), {1, 2, 3}})), Value(Bytes{1, 2, 3}));
  EXPECT_EQ(decode(concat({{0xA5}, u16(10), u16(0xFFFF)})), Value());
  Bytes big(20000, 0x42);
  EXPECT_EQ(decode(concat({{0xA5}, u16(0xFFFF), plp(big, 8000)})), Value(big));
  EXPECT_EQ(decode(concat({{0xA5}, u16(0xFFFF), u64(~0ULL)})), Value());
  EXPECT_EQ(decode(concat({{0xAD}, u16(2), u16(2), {9, 8}})), Value(Bytes{9, 8}));
  EXPECT_EQ(decode({0x25, 4, 1, 7}), Value(Bytes{7}));
  EXPECT_EQ(decode(concat({{0x22}, u32(0x7FFFFFFF), u32(2), {5, 6}})), Value(Bytes{5, 6}));  // IMAGE
}

TEST(TdsRpcReaderTest, DatesAndTimes) {
  DateTime noon_2024 = *parse_datetime("2024-01-02 12:00:00");
  SqlDateTime dt = to_sql_datetime(noon_2024);
  Bytes dt_bytes = concat({u32(static_cast<uint32_t>(dt.days)), u32(dt.ticks)});
  EXPECT_EQ(decode(concat({{0x6F, 8, 8}, dt_bytes})), Value(noon_2024));
  EXPECT_EQ(decode(concat({{0x3D}, dt_bytes})), Value(noon_2024));
  EXPECT_EQ(decode({0x6F, 8, 0}), Value());
  // SMALLDATETIME: days u16, minutes u16.
  EXPECT_EQ(decode(concat({{0x6F, 4, 4}, u16(static_cast<uint16_t>(dt.days)), u16(720)})), Value(noon_2024));

  // DATE: 3 bytes of days since 0001-01-01.
  DateTime day = *parse_datetime("2024-05-06");
  uint32_t days = to_sql_datetime2(day, 0).days;
  EXPECT_EQ(decode({0x28, 3, static_cast<uint8_t>(days), static_cast<uint8_t>(days >> 8),
                    static_cast<uint8_t>(days >> 16)}),
            Value(day));
  EXPECT_EQ(decode({0x28, 0}), Value());

  // DATETIME2(7): 5 bytes of 100 ns units, then the date.
  DateTime precise = *parse_datetime("2024-05-06 01:02:03.456789");
  SqlDateTime2 d2 = to_sql_datetime2(precise, 7);
  ByteWriter w;
  w.u8(0x2A);
  w.u8(7);
  w.u8(8);
  w.uint_le(d2.time, 5);
  w.uint_le(d2.days, 3);
  EXPECT_EQ(decode(w.data()), Value(precise));
  EXPECT_EQ(decode({0x2A, 7, 0}), Value());

  // DATETIME2(3): 4 bytes of milliseconds.
  SqlDateTime2 d3 = to_sql_datetime2(precise, 3);
  ByteWriter w3;
  w3.u8(0x2A);
  w3.u8(3);
  w3.u8(7);
  w3.uint_le(d3.time, 4);
  w3.uint_le(d3.days, 3);
  EXPECT_EQ(decode(w3.data()), Value(*parse_datetime("2024-05-06 01:02:03.456")));

  // TIME(0) becomes text; DATETIMEOFFSET text at its offset (the wire carries UTC and the offset).
  EXPECT_EQ(decode({0x29, 0, 3, 0x0B, 0xE3, 0x00}), Value(std::string("16:08:43")));  // 58123 s
  ByteWriter dto;
  dto.u8(0x2B);
  dto.u8(7);
  dto.u8(10);
  dto.uint_le(d2.time, 5);
  dto.uint_le(d2.days, 3);
  dto.u16le(120);
  EXPECT_EQ(decode(dto.data()), Value(std::string("2024-05-06 03:02:03.4567890 +02:00")));
  // A length that is not the scale's, an offset beyond 14 hours: malformed.
  for (const Bytes& bad :
       {Bytes{0x2B, 7, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Bytes{0x2B, 0, 8, 0, 0, 0, 0, 0, 0, 0x61, 0x03}}) {
    auto calls = parse_rpc_request(concat({kAllHeaders, by_name("p"), param("@x", bad)}), v74());
    ASSERT_EQ(calls.size(), 1u);
    ASSERT_TRUE(calls[0].error);
    EXPECT_NE(calls[0].error->text.find("DATETIMEOFFSET"), std::string::npos) << calls[0].error->text;
  }
}

TEST(TdsRpcReaderTest, Decimals) {
  // DECIMAL(10,0) 12345 positive
  EXPECT_EQ(decode({0x6A, 5, 10, 0, 5, 1, 0x39, 0x30, 0, 0}), Value(int64_t{12345}));
  EXPECT_EQ(decode({0x6C, 5, 10, 0, 5, 0, 0x39, 0x30, 0, 0}), Value(int64_t{-12345}));  // NUMERIC, negative
  EXPECT_EQ(decode({0x6A, 5, 10, 2, 5, 1, 0x39, 0x30, 0, 0}), Value(123.45));
  EXPECT_EQ(decode({0x6A, 5, 10, 0, 0}), Value());
  // 2^64 with scale 0 does not fit int64: double.
  EXPECT_EQ(decode({0x6A, 13, 38, 0, 13, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}),
            Value(18446744073709551616.0));
  // INT64_MIN fits.
  EXPECT_EQ(decode({0x6A, 9, 19, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}), Value(INT64_MIN));
}

TEST(TdsRpcReaderTest, GuidNullXml) {
  Bytes guid = {0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56,
                0x9A, 0xBC, 0xDE, 0xF0, 0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(decode(concat({{0x24, 16, 16}, guid})),
            Value(std::string("12345678-1234-5678-9ABC-DEF012345678")));
  EXPECT_EQ(decode({0x24, 16, 0}), Value());
  EXPECT_EQ(decode({0x1F}), Value());
  EXPECT_EQ(decode(concat({{0xF1, 0}, plp(utf16("<a/>"), 100)})), Value(std::string("<a/>")));
}

TEST(TdsRpcReaderTest, UnsupportedTypeFailsTheCallAndStopsDecoding) {
  Bytes payload = concat({kAllHeaders, by_name("a"), param("@v", {0x62, 0, 0, 0, 0}), {0xFF}, by_name("b")});
  auto calls = parse_rpc_request(payload, v74());
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].error);
  EXPECT_NE(calls[0].error->text.find("@v"), std::string::npos);
  EXPECT_NE(calls[0].error->text.find("0x62"), std::string::npos);
}

TEST(TdsRpcReaderTest, TruncatedOrInconsistentValuesFailTheCall) {
  Bytes truncated = concat(
      {kAllHeaders, by_name("a"), param("@v", concat({{0xE7}, u16(100), kLatin1Collation, u16(10), {1}}))});
  auto calls = parse_rpc_request(truncated, v74());
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].error);
  EXPECT_NE(calls[0].error->text.find("Malformed"), std::string::npos);

  calls = parse_rpc_request(concat({kAllHeaders, by_name("a"), param("@v", {0x26, 4, 3, 1, 2, 3})}), v74());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].error);  // INTN of 3 bytes

  calls =
      parse_rpc_request(concat({kAllHeaders, u16(50), utf16("ab")}), v74());  // name longer than the payload
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].error);
}

TEST(TdsRpcReaderTest, ProcIdNames) {
  EXPECT_STREQ(proc_id_name(10), "sp_executesql");
  EXPECT_STREQ(proc_id_name(15), "sp_unprepare");
  EXPECT_STREQ(proc_id_name(99), "");
}

}  // namespace
}  // namespace bakrest::server
