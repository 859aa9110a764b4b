#include "iam/authorized_store.h"

#include <gtest/gtest.h>

#include "storage/local_store.h"
#include "temp_dir.h"

namespace bakrest::iam {
namespace {

using storage::StorageError;

std::shared_ptr<const RolePolicies> role_allowing(const std::string& statements) {
  auto role = std::make_shared<RolePolicies>(RolePolicies{
      Role{},
      Policy::parse(R"({"Statement": {"Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"},
                               "Action": "sts:AssumeRole"}})",
                    PolicyKind::kTrust),
      {}});
  role->role.arn = "arn:aws:iam::123456789012:role/r";
  role->permissions.push_back(Policy::parse(R"({"Version": "2012-10-17", "Statement": [)" + statements + "]}",
                                            PolicyKind::kPermissions));
  return role;
}

// The action a call was denied, or "" if it went through.
std::string denied(const std::function<void()>& call) {
  try {
    call();
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::kAccessDenied);
    EXPECT_EQ(e.details().code, "AccessDenied");
    EXPECT_NE(std::string(e.what()).find(
                  "User: arn:aws:iam::123456789012:role/r is not authorized to perform: " +
                  e.details().operation + " on resource: arn:aws:s3:::" + e.details().bucket),
              std::string::npos)
        << e.what();
    return e.details().operation;
  }
  return "";
}

class AuthorizedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store.create_bucket("bkt", "us-east-1");
    auto w = store.create("bkt", "there.bak");
    w->write(std::vector<uint8_t>{1, 2, 3});
    w->commit();
  }
  testing::TempDir dir;
  storage::LocalStore store{dir.path() / "store"};
};

TEST_F(AuthorizedStoreTest, EachCallNeedsItsAction) {
  AuthorizedStore none(store, role_allowing(R"({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})"));
  EXPECT_EQ(denied([&] { none.bucket_region("bkt"); }), "s3:GetBucketLocation");
  EXPECT_EQ(denied([&] { none.list("bkt", ""); }), "s3:ListBucket");
  EXPECT_EQ(denied([&] { none.head("bkt", "there.bak"); }), "s3:GetObject");
  EXPECT_EQ(denied([&] { none.open("bkt", "there.bak"); }), "s3:GetObject");
  EXPECT_EQ(denied([&] { none.create("bkt", "new.bak"); }), "s3:PutObject");
  EXPECT_EQ(denied([&] { none.remove("bkt", "there.bak"); }), "s3:DeleteObject");
  EXPECT_EQ(denied([&] { none.abort_unfinished_uploads("bkt", "x", std::chrono::system_clock::now(), {}); }),
            "s3:AbortMultipartUpload");
  EXPECT_TRUE(store.exists("bkt", "there.bak"));  // the denied remove removed nothing
  EXPECT_FALSE(store.exists("bkt", "new.bak"));

  AuthorizedStore all(store, role_allowing(R"({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})"));
  EXPECT_EQ(all.bucket_region("bkt"), "us-east-1");
  EXPECT_EQ(all.list("bkt", "").size(), 1u);
  EXPECT_TRUE(all.head("bkt", "there.bak").has_value());
  auto w = all.create("bkt", "new.bak");
  w->write(std::vector<uint8_t>{4});
  w->commit();
  EXPECT_TRUE(store.exists("bkt", "new.bak"));
  all.remove("bkt", "new.bak");
  EXPECT_FALSE(store.exists("bkt", "new.bak"));
}

TEST_F(AuthorizedStoreTest, HeadOfAnAbsentKeyNeedsListBucket) {
  AuthorizedStore get_only(
      store, role_allowing(R"({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})"));
  EXPECT_TRUE(get_only.head("bkt", "there.bak").has_value());
  EXPECT_EQ(denied([&] { get_only.head("bkt", "absent.bak"); }), "s3:ListBucket");
  AuthorizedStore with_list(store, role_allowing(R"({"Effect": "Allow", "Action": ["s3:GetObject",
      "s3:ListBucket"], "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]})"));
  EXPECT_FALSE(with_list.head("bkt", "absent.bak").has_value());
}

TEST_F(AuthorizedStoreTest, ResourcesAndDenials) {
  // Objects under one prefix only; an explicit Deny wins.
  AuthorizedStore scoped(store, role_allowing(R"({"Effect": "Allow", "Action": "s3:*",
      "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/mine/*"]},
      {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bkt/mine/locked*"})"));
  EXPECT_EQ(denied([&] { scoped.open("bkt", "there.bak"); }), "s3:GetObject");
  EXPECT_EQ(denied([&] { scoped.create("bkt", "mine/locked.bak"); }), "s3:PutObject");
  EXPECT_EQ(denied([&] { scoped.create("other", "mine/x.bak"); }), "s3:PutObject");  // another bucket
  auto w = scoped.create("bkt", "mine/open.bak");
  w->abort();
  EXPECT_FALSE(store.exists("bkt", "mine/open.bak"));
}

}  // namespace
}  // namespace bakrest::iam
