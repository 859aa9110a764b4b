#include "sql/raiserror_format.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace bakrest::sql {
namespace {

int error_number(std::string_view format, const std::vector<Value>& arguments) {
  try {
    format_raiserror(format, arguments);
  } catch (const SqlError& e) {
    return e.message().number;
  }
  return 0;
}

TEST(RaiserrorFormatTest, SubstitutesIntegersAndText) {
  EXPECT_EQ(format_raiserror("boom %d of %s", {int64_t{5}, std::string("five")}), "boom 5 of five");
  EXPECT_EQ(format_raiserror("%i%%", {int64_t{-3}}), "-3%");
  EXPECT_EQ(format_raiserror("no specifications", {int64_t{1}}), "no specifications");  // extra ignored
}

TEST(RaiserrorFormatTest, FlagsWidthsAndPrecisions) {
  EXPECT_EQ(format_raiserror("[%5d][%-5d][%05d][%+d][% d]",
                             {int64_t{42}, int64_t{42}, int64_t{42}, int64_t{42}, int64_t{42}}),
            "[   42][42   ][00042][+42][ 42]");
  EXPECT_EQ(format_raiserror("[%5.3d][%.0d]", {int64_t{7}, int64_t{0}}), "[  007][]");
  EXPECT_EQ(format_raiserror("[%*.*s]", {int64_t{6}, int64_t{2}, std::string("abcdef")}), "[    ab]");
  EXPECT_EQ(format_raiserror("[%-4s|%.2s]", {std::string("x"), std::string("\xC3\xA9t\xC3\xA9")}),
            "[x   |\xC3\xA9t]");  // the precision counts characters, not bytes
}

TEST(RaiserrorFormatTest, IntegersAre32BitUnlessI64) {
  EXPECT_EQ(format_raiserror("%u %x %X %#x %o %#o",
                             {int64_t{-1}, int64_t{255}, int64_t{255}, int64_t{255}, int64_t{8}, int64_t{8}}),
            "4294967295 ff FF 0xff 10 010");
  EXPECT_EQ(format_raiserror("%d", {int64_t{4294967297}}), "1");
  EXPECT_EQ(format_raiserror("%I64d %I64u", {int64_t{INT64_MIN}, int64_t{-1}}),
            "-9223372036854775808 18446744073709551615");
  EXPECT_EQ(format_raiserror("%ld %hd", {int64_t{1}, int64_t{2}}), "1 2");
}

TEST(RaiserrorFormatTest, MissingAndNullArgumentsPrintNull) {
  EXPECT_EQ(format_raiserror("%d and %s", {std::monostate{}}), "(null) and (null)");
  EXPECT_EQ(format_raiserror("[%8s]", {}), "[  (null)]");
}

TEST(RaiserrorFormatTest, BadSpecificationsAndMismatchedArguments) {
  EXPECT_EQ(error_number("%z", {}), 2787);
  EXPECT_EQ(error_number("%5", {}), 2787);
  EXPECT_EQ(error_number("%f", {1.5}), 2787);  // SQL Server has no float specification
  EXPECT_EQ(error_number("%d", {std::string("text")}), 2786);
  EXPECT_EQ(error_number("%s", {int64_t{1}}), 2786);
  EXPECT_EQ(error_number("%*d", {std::string("w"), int64_t{1}}), 2786);
}

TEST(RaiserrorFormatTest, LongMessagesAreCut) {
  std::string text = format_raiserror(std::string(3000, 'a'), {});
  EXPECT_EQ(text.size(), kMaxRaiserrorMessage);
  EXPECT_EQ(text.substr(text.size() - 3), "...");
  // A width can't make more than the cut keeps.
  EXPECT_EQ(format_raiserror("%999999999999d", {int64_t{1}}).size(), kMaxRaiserrorMessage);
}

}  // namespace
}  // namespace bakrest::sql
