#include "procs/arguments.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace bakrest::procs {
namespace {

const std::vector<ParamSpec> kSpecs = {
    {"@source_db_name", ParamType::kString, true},
    {"@s3_arn_to_backup_to", ParamType::kString, true},
    {"@overwrite_s3_backup_file", ParamType::kInt},
};

int error_number(const ProcCall& call) {
  try {
    Arguments("rds_backup_database", kSpecs, call);
  } catch (const SqlError& e) {
    return e.message().number;
  }
  return 0;
}

TEST(ArgumentsTest, NamedArgumentsMatchIgnoringCase) {
  ProcCall call{
      "x",
      {{"@Source_DB_Name", std::string("db"), false}, {"@s3_arn_to_backup_to", std::string("a"), false}}};
  Arguments args("rds_backup_database", kSpecs, call);
  EXPECT_EQ(args.string("@source_db_name"), "db");
  EXPECT_FALSE(args.given("@overwrite_s3_backup_file"));
}

TEST(ArgumentsTest, PositionalArgumentsFollowDeclarationOrder) {
  ProcCall call{"x",
                {{"", std::string("db"), false}, {"", std::string("a"), false}, {"", int64_t{1}, false}}};
  Arguments args("rds_backup_database", kSpecs, call);
  EXPECT_EQ(args.integer("@overwrite_s3_backup_file"), 1);
}

TEST(ArgumentsTest, NumericStringsConvertToIntegers) {
  ProcCall call{"x",
                {{"@source_db_name", std::string("db"), false},
                 {"@s3_arn_to_backup_to", std::string("a"), false},
                 {"@overwrite_s3_backup_file", std::string(" 1 "), false}}};
  EXPECT_EQ(Arguments("rds_backup_database", kSpecs, call).integer("@overwrite_s3_backup_file"), 1);
}

TEST(ArgumentsTest, SqlServerErrorsForBadCalls) {
  EXPECT_EQ(error_number({"x", {{"@source_db_name", std::string("db"), false}}}), 201);
  EXPECT_EQ(error_number({"x", {{"@nope", int64_t{1}, false}}}), 8145);
  EXPECT_EQ(error_number({"x",
                          {{"", std::string("a"), false},
                           {"", std::string("b"), false},
                           {"", int64_t{1}, false},
                           {"", int64_t{2}, false}}}),
            8144);
  EXPECT_EQ(
      error_number({"x", {{"@source_db_name", std::string("db"), false}, {"", std::string("b"), false}}}),
      119);
  EXPECT_EQ(error_number({"x",
                          {{"@source_db_name", std::string("db"), false},
                           {"@s3_arn_to_backup_to", std::string("a"), false},
                           {"@overwrite_s3_backup_file", std::string("yes"), false}}}),
            8114);
}

TEST(ArgumentsTest, RepeatedParameterIs8143AndHugeDoublesDoNotConvert) {
  EXPECT_EQ(error_number({"x",
                          {{"@source_db_name", std::string("db"), false},
                           {"@s3_arn_to_backup_to", std::string("a"), false},
                           {"@SOURCE_DB_NAME", std::string("again"), false}}}),
            8143);
  EXPECT_EQ(error_number({"x",
                          {{"@source_db_name", std::string("db"), false},
                           {"@s3_arn_to_backup_to", std::string("a"), false},
                           {"@overwrite_s3_backup_file", 1e300, false}}}),
            8114);
}

TEST(ArgumentsTest, NullCountsAsNotGiven) {
  ProcCall call{"x",
                {{"@source_db_name", std::string("db"), false},
                 {"@s3_arn_to_backup_to", std::string("a"), false},
                 {"@overwrite_s3_backup_file", Value(), false}}};
  Arguments args("rds_backup_database", kSpecs, call);
  EXPECT_FALSE(args.given("@overwrite_s3_backup_file"));
  EXPECT_EQ(args.integer("@overwrite_s3_backup_file"), std::nullopt);
}

// 2019-12-01 03:57:09 UTC in microseconds since the Unix epoch.
constexpr int64_t kSeedStopAt = 1575172629LL * 1000000;

TEST(SqlDateTimeTest, ReadsTheFormsSqlServerConvertsByDefault) {
  EXPECT_EQ(parse_sql_datetime("2019-12-01 03:57:09"), kSeedStopAt);
  EXPECT_EQ(parse_sql_datetime("  2019-12-01T03:57:09  "), kSeedStopAt);
  EXPECT_EQ(parse_sql_datetime("20191201 03:57:09"), kSeedStopAt);
  EXPECT_EQ(parse_sql_datetime("12/01/2019 03:57:09"), kSeedStopAt);
  EXPECT_EQ(parse_sql_datetime("12/1/19 3:57:09 AM"), kSeedStopAt);
  EXPECT_EQ(parse_sql_datetime("12/01/2019 3:57:09PM"), kSeedStopAt + 12LL * 3600 * 1000000);
  EXPECT_EQ(parse_sql_datetime("2019-12-01 12:00 AM"), kSeedStopAt - (3 * 3600 + 57 * 60 + 9) * 1000000LL);
  EXPECT_EQ(parse_sql_datetime("2019-12-01 03:57:09.25"), kSeedStopAt + 250000);
  EXPECT_EQ(parse_sql_datetime("2019-12-01"), kSeedStopAt - (3 * 3600 + 57 * 60 + 9) * 1000000LL);
  EXPECT_EQ(parse_sql_datetime("1/1/51"), parse_sql_datetime("1951-01-01"));
}

TEST(SqlDateTimeTest, RefusesWhatSqlServerCannotConvert) {
  for (const char* bad : {"", "yesterday", "2019-13-01", "2019-02-30", "2019-12-01 24:00", "2019-12-01 03:60",
                          "2019-12-01 13:00 PM", "2019-12-01x", "201912011", "1752-12-31", "12/01/019",
                          "2019-12-01 03:57:09 ZZ", "2019-12-01 03:57:09."}) {
    EXPECT_EQ(parse_sql_datetime(bad), std::nullopt) << bad;
  }
}

TEST(ArgumentsTest, DateTimeParametersTakeTextOrDateTimeValues) {
  const std::vector<ParamSpec> specs = {{"@stopat", ParamType::kDateTime}};
  Arguments text("rds_restore_log", specs, {"x", {{"@stopat", std::string("2019-12-01 03:57:09"), false}}});
  EXPECT_EQ(text.datetime("@stopat"), kSeedStopAt);
  Arguments value("rds_restore_log", specs, {"x", {{"@stopat", DateTime{kSeedStopAt}, false}}});
  EXPECT_EQ(value.datetime("@stopat"), kSeedStopAt);
  Arguments null("rds_restore_log", specs, {"x", {{"@stopat", Value(), false}}});
  EXPECT_EQ(null.datetime("@stopat"), std::nullopt);
  try {
    Arguments("rds_restore_log", specs, {"x", {{"@stopat", std::string("not a date"), false}}});
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 241);
    EXPECT_EQ(e.message().text, "Conversion failed when converting date and/or time from character string.");
  }
  try {
    Arguments("rds_restore_log", specs, {"x", {{"@stopat", int64_t{5}, false}}});
    FAIL();
  } catch (const SqlError& e) {
    EXPECT_EQ(e.message().number, 206);
    EXPECT_EQ(e.message().text, "Operand type clash: int is incompatible with datetime");
  }
}

}  // namespace
}  // namespace bakrest::procs
