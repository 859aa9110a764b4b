#include "server/sql_datetime.h"

#include <gtest/gtest.h>

#include "server/value_convert.h"

namespace bakrest::server {
namespace {

constexpr int64_t kDay = 86'400'000'000;

TEST(TdsSqlDateTimeTest, DateTimeTicksRoundTrip) {
  DateTime t = *parse_datetime("2023-11-14 22:13:20.123");
  SqlDateTime v = to_sql_datetime(t);
  EXPECT_EQ(v.days, 45242);                                          // days since 1900-01-01
  EXPECT_EQ(v.ticks, 80000u * 300 + 37);                             // 22:13:20 and 123 ms rounded to 1/300 s
  EXPECT_EQ(from_sql_datetime(v).unix_micros, t.unix_micros + 333);  // 37 ticks = 123.333 ms
}

TEST(TdsSqlDateTimeTest, DateTimeRoundsIntoTheNextDayAndClampsItsRange) {
  DateTime almost_midnight{kDay - 1};  // 1970-01-01 23:59:59.999999
  SqlDateTime v = to_sql_datetime(almost_midnight);
  EXPECT_EQ(v.days, 25568);
  EXPECT_EQ(v.ticks, 0u);
  EXPECT_EQ(to_sql_datetime(*parse_datetime("0001-01-01")).days, -53690);  // 1753-01-01
  EXPECT_EQ(to_sql_datetime(DateTime{INT64_MAX / 2}).days, 2958463);       // 9999-12-31
}

TEST(TdsSqlDateTimeTest, DecodedDateTimeOutsideItsRangeIsClamped) {
  // A client's RPC parameter can carry any 32-bit day count (found by rpc_fuzz: it overflowed).
  EXPECT_EQ(format_datetime(from_sql_datetime({INT32_MAX, 0})), "9999-12-31 00:00:00");
  EXPECT_EQ(format_datetime(from_sql_datetime({INT32_MIN, 300})), "1753-01-01 00:00:01");
}

TEST(TdsSqlDateTimeTest, DateTime2UsesDaysSinceYearOneAndScaledTime) {
  DateTime t = *parse_datetime("1970-01-02 00:00:01.5");
  SqlDateTime2 v7 = to_sql_datetime2(t, 7);
  EXPECT_EQ(v7.days, 719163u);
  EXPECT_EQ(v7.time, 15'000'000u);
  EXPECT_EQ(from_sql_datetime2(v7, 7), t);
  SqlDateTime2 v0 = to_sql_datetime2(t, 0);
  EXPECT_EQ(v0.time, 1u);
  EXPECT_EQ(from_sql_datetime2(SqlDateTime2{719162, 0}, 0).unix_micros, 0);
}

TEST(TdsSqlDateTimeTest, PreEpochValuesUseFloorDivision) {
  DateTime t{-1};  // 1969-12-31 23:59:59.999999
  SqlDateTime2 v = to_sql_datetime2(t, 7);
  EXPECT_EQ(v.days, 719161u);
  EXPECT_EQ(v.time, 863'999'999'990u);
  EXPECT_EQ(format_datetime(t), "1969-12-31 23:59:59.999999");
}

TEST(TdsSqlDateTimeTest, FormatAndParse) {
  EXPECT_EQ(format_datetime(DateTime{0}), "1970-01-01 00:00:00");
  EXPECT_EQ(format_datetime(DateTime{1'500'000}), "1970-01-01 00:00:01.5");
  EXPECT_EQ(parse_datetime("2024-02-29T10:20:30Z")->unix_micros, 1709202030LL * 1'000'000);
  EXPECT_EQ(parse_datetime("2024-02-29 10:20")->unix_micros, 1709202000LL * 1'000'000);
  EXPECT_EQ(parse_datetime("2024-02-29")->unix_micros, 1709164800LL * 1'000'000);
  EXPECT_FALSE(parse_datetime("2023-02-29"));
  EXPECT_FALSE(parse_datetime("2024-01-01 25:00"));
  EXPECT_FALSE(parse_datetime("hello"));
  EXPECT_FALSE(parse_datetime("2024-01-01 10:00:00 trailing"));
}

TEST(TdsValueConvertTest, Conversions) {
  EXPECT_EQ(value_to_text(int64_t{-5}), "-5");
  EXPECT_EQ(value_to_text(0.1), "0.1");
  EXPECT_EQ(value_to_text(Bytes{0xAB, 0x01}), "0xAB01");
  EXPECT_EQ(value_to_text(DateTime{0}), "1970-01-01 00:00:00");
  EXPECT_FALSE(value_to_text(std::monostate{}));
  EXPECT_EQ(value_to_int(std::string("12"), INT32_MIN, INT32_MAX), 12);
  EXPECT_EQ(value_to_int(std::string("1.9"), INT32_MIN, INT32_MAX), 1);
  EXPECT_FALSE(value_to_int(1e30, INT64_MIN, INT64_MAX));
  EXPECT_FALSE(value_to_int(std::string("9223372036854775808"), INT64_MIN, INT64_MAX));
  EXPECT_EQ(value_to_int(std::string("-9223372036854775808"), INT64_MIN, INT64_MAX), INT64_MIN);
  EXPECT_EQ(value_to_bit(std::string("true")), true);
  EXPECT_EQ(value_to_bit(std::string("0")), false);
  EXPECT_FALSE(value_to_bit(std::string("maybe")));
  EXPECT_EQ(value_to_float(std::string("2.5")), 2.5);
  EXPECT_FALSE(value_to_float(std::string("nan")));
  EXPECT_EQ(value_to_binary(int64_t{1}), (Bytes{0, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_FALSE(value_to_datetime(int64_t{1}));
}

}  // namespace
}  // namespace bakrest::server
