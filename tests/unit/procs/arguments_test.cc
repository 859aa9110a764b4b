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

}  // namespace
}  // namespace bakrest::procs
