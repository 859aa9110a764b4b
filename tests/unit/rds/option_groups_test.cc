#include "rds/option_groups.h"

#include <gtest/gtest.h>

#include "rds/first_start.h"
#include "temp_dir.h"

namespace bakrest::rds {
namespace {

const InstanceIdentity kIdentity{"db-one", "sqlserver-se", "15.00", "eu-west-1", "123456789012"};

std::string code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const RdsError& e) {
    return e.code();
  }
  return "(accepted)";
}

std::string trust(const std::string& condition) {
  return R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole")" +
         (condition.empty() ? "" : ", \"Condition\": " + condition) + "}]}";
}

class OptionGroupsTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  iam::RoleStore roles{msdb, "123456789012"};
  OptionGroups groups{msdb, roles, kIdentity};

  Option backup_restore(const std::string& role_name) {
    return {kBackupRestoreOption, {{kIamRoleArnSetting, roles.role_arn("/", role_name)}}};
  }
};

TEST_F(OptionGroupsTest, FirstStartMakesTheDefaultRoleAndGroup) {
  EXPECT_FALSE(groups.seeded());
  EXPECT_FALSE(groups.backup_restore_role().has_value());
  EXPECT_TRUE(seed_option_group(roles, groups, std::nullopt, 100));
  EXPECT_TRUE(groups.seeded());
  EXPECT_EQ(groups.instance_group(), "bakrest-backup-restore");
  EXPECT_EQ(groups.backup_restore_role(), "arn:aws:iam::123456789012:role/bakrest-backup-restore");
  OptionGroup g = groups.describe("BAKREST-backup-restore");
  EXPECT_EQ(g.engine_name, "sqlserver-se");
  EXPECT_EQ(g.major_engine_version, "15.00");
  EXPECT_EQ(g.arn, "arn:aws:rds:eu-west-1:123456789012:og:bakrest-backup-restore");
  // The default role's policy allows what a task does, on any bucket and any key of the account.
  auto role = roles.role_policies(*groups.backup_restore_role());
  ASSERT_TRUE(role.has_value());
  ASSERT_EQ(role->permissions.size(), 1u);
  const iam::Policy& p = role->permissions[0];
  EXPECT_EQ(p.evaluate({"s3:PutObject", "arn:aws:s3:::any-bucket/a/b.bak", {}, {}}), iam::Effect::kAllow);
  EXPECT_EQ(p.evaluate({"s3:GetBucketLocation", "arn:aws:s3:::any-bucket", {}, {}}), iam::Effect::kAllow);
  EXPECT_EQ(p.evaluate({"kms:GenerateDataKey", "arn:aws:kms:eu-west-1:123456789012:key/k", {}, {}}),
            iam::Effect::kAllow);
  EXPECT_EQ(p.evaluate({"kms:GenerateDataKey", "arn:aws:kms:eu-west-1:999999999999:key/k", {}, {}}),
            iam::Effect::kNone);
  // A second start changes nothing.
  EXPECT_FALSE(seed_option_group(roles, groups, instance::OptionGroupSeed{"other", {}, ""}, 200));
  EXPECT_EQ(groups.instance_group(), "bakrest-backup-restore");
}

TEST_F(OptionGroupsTest, SeedWithoutTheOption) {
  EXPECT_TRUE(seed_option_group(roles, groups, instance::OptionGroupSeed{"Empty", {}, ""}, 100));
  EXPECT_EQ(groups.instance_group(), "empty");
  EXPECT_FALSE(groups.backup_restore_role().has_value());
  // A seed naming an option bakrest does not have, or a role that is not there, is refused.
  testing::TempDir other;
  instance::Msdb msdb2{other.path() / "msdb.db"};
  iam::RoleStore roles2{msdb2, "123456789012"};
  OptionGroups groups2{msdb2, roles2, kIdentity};
  EXPECT_EQ(code_of([&] {
              seed_option_group(roles2, groups2, instance::OptionGroupSeed{"g", {"TDE"}, ""}, 1);
            }),
            "InvalidParameterValue");
  EXPECT_EQ(code_of([&] {
              seed_option_group(roles2, groups2,
                                instance::OptionGroupSeed{
                                    "g", {kBackupRestoreOption}, "arn:aws:iam::123456789012:role/missing"},
                                1);
            }),
            "InvalidParameterValue");
  EXPECT_FALSE(groups2.seeded());
}

TEST_F(OptionGroupsTest, AddingTheOptionChecksTheRolesTrust) {
  groups.create("backup", "sqlserver-se", "15.00", "d", 1);
  roles.create_role("plain", trust(""), "/", "", 3600, 0);
  roles.create_role("matching", trust(R"({"StringEquals": {"aws:SourceAccount": "123456789012"},
      "ArnLike": {"aws:SourceArn": "arn:aws:rds:eu-west-1:123456789012:db:db-*"}})"),
                    "/", "", 3600, 0);
  roles.create_role("other-account", trust(R"({"StringEquals": {"aws:SourceAccount": "210987654321"}})"), "/",
                    "", 3600, 0);
  roles.create_role(
      "other-instance",
      trust(R"({"ArnEquals": {"aws:SourceArn": "arn:aws:rds:eu-west-1:123456789012:db:db-two"}})"), "/", "",
      3600, 0);
  roles.create_role("ec2",
                    R"({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
      "Action": "sts:AssumeRole"}]})",
                    "/", "", 3600, 0);
  EXPECT_EQ(code_of([&] { groups.modify("backup", {backup_restore("plain")}, {}); }), "(accepted)");
  EXPECT_EQ(code_of([&] { groups.modify("backup", {backup_restore("matching")}, {}); }), "(accepted)");
  for (const char* refused : {"other-account", "other-instance", "ec2", "missing"}) {
    EXPECT_EQ(code_of([&] { groups.modify("backup", {backup_restore(refused)}, {}); }),
              "InvalidParameterValue")
        << refused;
  }
  // The last accepted role stays.
  OptionGroup g = groups.describe("backup");
  ASSERT_EQ(g.options.size(), 1u);
  EXPECT_EQ(g.options[0].settings[0].value, roles.role_arn("/", "matching"));
}

TEST_F(OptionGroupsTest, RdsErrors) {
  groups.create("Backup", "sqlserver-se", "15.00", "d", 1);
  EXPECT_EQ(groups.describe("backup").name, "backup");  // kept in lower case
  EXPECT_EQ(code_of([&] { groups.create("BACKUP", "sqlserver-se", "15.00", "d", 1); }),
            "OptionGroupAlreadyExistsFault");
  for (const char* bad : {"", "1abc", "a--b", "a-", "a_b", "a:b"}) {
    EXPECT_EQ(code_of([&] { groups.create(bad, "sqlserver-se", "15.00", "d", 1); }), "InvalidParameterValue")
        << bad;
  }
  EXPECT_EQ(code_of([&] { groups.create("x", "mysql", "8.0", "d", 1); }), "InvalidParameterValue");
  EXPECT_EQ(code_of([&] { groups.create("x", "sqlserver-se", "9.00", "d", 1); }),
            "InvalidParameterCombination");
  EXPECT_EQ(code_of([&] { groups.describe("nope"); }), "OptionGroupNotFoundFault");
  EXPECT_EQ(code_of([&] { groups.modify("nope", {}, {}); }), "OptionGroupNotFoundFault");
  EXPECT_EQ(code_of([&] { groups.modify("backup", {}, {kBackupRestoreOption}); }), "InvalidParameterValue");
  EXPECT_EQ(code_of([&] {
              groups.modify("backup", {{kBackupRestoreOption, {}}}, {});
            }),
            "InvalidParameterValue");
  EXPECT_EQ(code_of([&] {
              groups.modify("backup", {{kBackupRestoreOption, {{"PORT", "1"}}}}, {});
            }),
            "InvalidParameterValue");
  EXPECT_EQ(code_of([&] { groups.set_instance_group("nope"); }), "OptionGroupNotFoundFault");
  groups.create("ee", "sqlserver-ee", "15.00", "d", 1);
  groups.create("se16", "sqlserver-se", "16.00", "d", 1);
  EXPECT_EQ(code_of([&] { groups.set_instance_group("ee"); }), "InvalidParameterCombination");
  EXPECT_EQ(code_of([&] { groups.set_instance_group("se16"); }), "InvalidParameterCombination");
  groups.set_instance_group("BACKUP");
  EXPECT_EQ(groups.instance_group(), "backup");
  EXPECT_FALSE(groups.backup_restore_role().has_value());
  EXPECT_EQ(groups.list().size(), 3u);
  EXPECT_EQ(groups.list("sqlserver-ee").size(), 1u);
  EXPECT_EQ(groups.list("sqlserver-se", "16.00").size(), 1u);
}

TEST(EngineNames, FromTheConfiguration) {
  EXPECT_EQ(engine_of_edition("enterprise"), "sqlserver-ee");
  EXPECT_EQ(engine_of_edition("standard"), "sqlserver-se");
  EXPECT_EQ(engine_of_edition("express"), "sqlserver-ex");
  EXPECT_EQ(engine_of_edition("web"), "sqlserver-web");
  EXPECT_EQ(major_version_of("15.00.4153.1.v1"), "15.00");
  EXPECT_EQ(major_version_of("16.00"), "16.00");
}

}  // namespace
}  // namespace bakrest::rds

namespace bakrest::rds {
namespace {

TEST(OptionGroupsAws, RolesOfTheAwsAccountAreAwssToCheck) {
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  iam::RoleStore roles{msdb, "123456789012"};
  OptionGroups groups{msdb, roles, kIdentity, "111122223333"};
  ASSERT_TRUE(seed_option_group(roles, groups, instance::OptionGroupSeed{"g", {}, ""}, 1));
  // A role that the instance does not have, but of the AWS account: its form is all that is checked here.
  const std::string aws_role = "arn:aws:iam::111122223333:role/service-role/rds-backup";
  EXPECT_TRUE(groups.is_aws_role(aws_role));
  EXPECT_NO_THROW(groups.modify("g", {{kBackupRestoreOption, {{kIamRoleArnSetting, aws_role}}}}, {}));
  EXPECT_EQ(groups.backup_restore_role(), aws_role);
  EXPECT_EQ(code_of([&] {
              groups.modify(
                  "g", {{kBackupRestoreOption, {{kIamRoleArnSetting, "arn:aws:iam::111122223333:role/"}}}},
                  {});
            }),
            "InvalidParameterValue");
  // Any other account's role is the instance's to check: absent here, so refused.
  EXPECT_FALSE(groups.is_aws_role("arn:aws:iam::999999999999:role/rds-backup"));
  EXPECT_EQ(code_of([&] {
              groups.modify("g",
                            {{kBackupRestoreOption,
                              {{kIamRoleArnSetting, "arn:aws:iam::999999999999:role/rds-backup"}}}},
                            {});
            }),
            "InvalidParameterValue");
  // Replies carry descriptions in XML: what XML cannot carry is refused.
  EXPECT_EQ(code_of([&] { groups.create("bad-text", "sqlserver-se", "15.00", "bell \x07", 1); }),
            "InvalidParameterValue");
  EXPECT_EQ(code_of([&] { groups.create("bad-utf8", "sqlserver-se", "15.00", "\xC3(", 1); }),
            "InvalidParameterValue");
  EXPECT_EQ(groups.create("good-text", "sqlserver-se", "15.00", "caf\xC3\xA9", 1).description, "caf\xC3\xA9");
  // Without [aws], no role is AWS's.
  OptionGroups plain{msdb, roles, kIdentity};
  EXPECT_FALSE(plain.is_aws_role(aws_role));
}

}  // namespace
}  // namespace bakrest::rds
