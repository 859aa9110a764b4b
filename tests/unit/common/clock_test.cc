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
