#include "common/clock.h"

#include <gtest/gtest.h>

namespace bakrest {
namespace {

TEST(ClockTest, FormatAndParseRoundTrip) {
  int64_t t = 1700000000123000;  // 2023-11-14 22:13:20.123
  EXPECT_EQ(format_datetime(t), "2023-11-14 22:13:20.123");
  EXPECT_EQ(parse_datetime("2023-11-14 22:13:20.123"), t);
  EXPECT_EQ(parse_datetime("2023-11-14T22:13:20.123"), t);
  EXPECT_EQ(parse_datetime("2019-12-01 03:57:09"), parse_datetime("2019-12-01 03:57:09.000"));
  EXPECT_EQ(parse_datetime("2019-12-01"), parse_datetime("2019-12-01 00:00"));
}

TEST(ClockTest, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2019-13-01", "2019-02-30", "2019-12-01 24:00", "2019-12-01 -1:00", "2019-12-01 10:-5",
        "2019-12-01 10:00:+5", "-2019-12-01", "2019-12-01 10:00 junk", "yesterday"}) {
    EXPECT_FALSE(parse_datetime(bad)) << bad;
  }
}

}  // namespace
}  // namespace bakrest

namespace bakrest {
namespace {

TEST(ClockTest, ExpirationsThatSystemClockHolds) {
  auto t = parse_expiration("2019-11-09T13:34:41Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1573306481);
  EXPECT_TRUE(parse_expiration("2019-11-09T13:34:41.500"));
  // Past what nanoseconds since 1970 can count (2262), or not a time: nullopt, not an overflow.
  EXPECT_FALSE(parse_expiration("6052-11-09T13:34:41Z"));
  EXPECT_FALSE(parse_expiration("2300-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_expiration("soon"));
  EXPECT_FALSE(parse_expiration(""));
}

}  // namespace
}  // namespace bakrest
