#include "iam/role_store.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace bakrest::iam {
namespace {

constexpr const char* kTrust = R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]})";
constexpr const char* kBucketPolicy = R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bucket_name/*"}]})";
constexpr const char* kListPolicy = R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket_name"}]})";

std::string code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const IamError& e) {
    return e.code();
  }
  return "(accepted)";
}

class RoleStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  RoleStore roles{msdb, "123456789012"};
};

TEST_F(RoleStoreTest, RolesWithTheirPolicies) {
  Role r = roles.create_role("rds-backup", kTrust, "/service/", "backups", 3600, 1000);
  EXPECT_EQ(r.arn, "arn:aws:iam::123456789012:role/service/rds-backup");
  EXPECT_EQ(r.role_id.size(), 21u);
  EXPECT_EQ(r.role_id.substr(0, 4), "AROA");
  EXPECT_EQ(roles.get_role("RDS-BACKUP").name, "rds-backup");  // names compare without case
  EXPECT_EQ(code_of([&] { roles.create_role("Rds-Backup", kTrust, "/", "", 3600, 0); }),
            "EntityAlreadyExists");

  roles.put_role_policy("rds-backup", "objects", kBucketPolicy);
  roles.put_role_policy("rds-backup", "objects", kBucketPolicy);  // replaced, not added
  EXPECT_EQ(roles.list_role_policies("rds-backup"), std::vector<std::string>{"objects"});
  EXPECT_EQ(roles.get_role_policy("rds-backup", "objects"), kBucketPolicy);
  ManagedPolicy list = roles.create_policy("list", kListPolicy, "/", "", 1000);
  EXPECT_EQ(list.arn, "arn:aws:iam::123456789012:policy/list");
  roles.attach_role_policy("rds-backup", list.arn);
  EXPECT_EQ(roles.get_policy(list.arn).attachment_count, 1);

  auto applied = roles.role_policies(r.arn);
  ASSERT_TRUE(applied.has_value());
  EXPECT_EQ(applied->permissions.size(), 2u);
  std::vector<const Policy*> documents;
  for (const Policy& p : applied->permissions) documents.push_back(&p);
  Request get{"s3:GetObject", "arn:aws:s3:::bucket_name/x.bak", {}, {}};
  Request list_bucket{"s3:ListBucket", "arn:aws:s3:::bucket_name", {}, {}};
  Request other{"s3:GetObject", "arn:aws:s3:::other/x.bak", {}, {}};
  EXPECT_TRUE(allowed(documents, get));
  EXPECT_TRUE(allowed(documents, list_bucket));
  EXPECT_FALSE(allowed(documents, other));
  Request assume{"sts:AssumeRole", "", {Principal::Type::kService, "rds.amazonaws.com"}, {}};
  EXPECT_EQ(applied->trust.evaluate(assume), Effect::kAllow);
  EXPECT_FALSE(roles.role_policies("arn:aws:iam::123456789012:role/none").has_value());

  EXPECT_EQ(code_of([&] { roles.delete_role("rds-backup"); }), "DeleteConflict");
  EXPECT_EQ(code_of([&] { roles.delete_policy(list.arn); }), "DeleteConflict");
  roles.delete_role_policy("rds-backup", "objects");
  EXPECT_EQ(code_of([&] { roles.delete_role("rds-backup"); }), "DeleteConflict");  // still attached
  roles.detach_role_policy("rds-backup", list.arn);
  roles.delete_role("rds-backup");
  roles.delete_policy(list.arn);
  EXPECT_TRUE(roles.list_roles().empty());
  EXPECT_EQ(code_of([&] { roles.get_role("rds-backup"); }), "NoSuchEntity");
  EXPECT_EQ(code_of([&] { roles.get_policy(list.arn); }), "NoSuchEntity");
}

TEST_F(RoleStoreTest, DocumentsNamesAndLimitsAreChecked) {
  EXPECT_EQ(code_of([&] { roles.create_role("r", kBucketPolicy, "/", "", 3600, 0); }),
            "MalformedPolicyDocument");
  EXPECT_EQ(code_of([&] { roles.create_role("has space", kTrust, "/", "", 3600, 0); }), "ValidationError");
  EXPECT_EQ(code_of([&] { roles.create_role(std::string(65, 'r'), kTrust, "/", "", 3600, 0); }),
            "ValidationError");
  EXPECT_EQ(code_of([&] { roles.create_role("r", kTrust, "no-slashes", "", 3600, 0); }), "ValidationError");
  EXPECT_EQ(code_of([&] { roles.create_role("r", kTrust, "/", "", 60, 0); }), "ValidationError");
  // Descriptions: IAM's characters only (replies carry them in XML), up to 1,000 of them.
  for (std::string bad : {std::string("bell \x07"), std::string("bad utf-8 \xC3("),
                          std::string("\xE2\x82\xAC uro"), std::string(1001, 'd')}) {
    EXPECT_EQ(code_of([&] { roles.create_role("d", kTrust, "/", bad, 3600, 0); }), "ValidationError") << bad;
    EXPECT_EQ(code_of([&] { roles.create_policy("d", kBucketPolicy, "/", bad, 0); }), "ValidationError")
        << bad;
  }
  EXPECT_EQ(roles.create_role("d", kTrust, "/", "caf\xC3\xA9\ttab", 3600, 0).description, "caf\xC3\xA9\ttab");
  roles.create_role("r", kTrust, "/", std::string(1000, 'd'), 3600, 0);
  EXPECT_EQ(code_of([&] { roles.put_role_policy("r", "p", kTrust); }), "MalformedPolicyDocument");
  EXPECT_EQ(code_of([&] { roles.put_role_policy("none", "p", kBucketPolicy); }), "NoSuchEntity");
  EXPECT_EQ(code_of([&] { roles.get_role_policy("r", "none"); }), "NoSuchEntity");
  // 10,240 characters of inline policies a role, white space not counted.
  std::string big = R"({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": [)";
  for (int i = 0; i < 200; ++i)
    big += std::string(i ? ", " : "") + "\"arn:aws:s3:::bucket-" + std::to_string(i) + "/*\"";
  big += "]}}";
  ASSERT_GT(big.size(), 5120u);
  roles.put_role_policy("r", "first", big);
  EXPECT_EQ(code_of([&] { roles.put_role_policy("r", "second", big); }), "LimitExceeded");
  roles.put_role_policy("r", "first", kBucketPolicy);  // a replacement counts as itself
  roles.put_role_policy("r", "second", big);
}

}  // namespace
}  // namespace bakrest::iam
