#include "iam/wildcard.h"

#include <gtest/gtest.h>

#include <string>

namespace bakrest::iam {
namespace {

TEST(WildcardMatch, StarAndQuestionMark) {
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("*", "anything:at/all"));
  EXPECT_TRUE(wildcard_match("s3:Get*", "s3:GetObject"));
  EXPECT_TRUE(wildcard_match("s3:Get*", "s3:Get"));
  EXPECT_FALSE(wildcard_match("s3:Get*", "s3:PutObject"));
  EXPECT_TRUE(wildcard_match("s3:?etObject", "s3:GetObject"));
  EXPECT_FALSE(wildcard_match("s3:?etObject", "s3:etObject"));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(wildcard_match("", ""));
  EXPECT_FALSE(wildcard_match("", "x"));
}

TEST(WildcardMatch, CaseIsIgnoredOnlyWhenAsked) {
  EXPECT_FALSE(wildcard_match("S3:getobject", "s3:GetObject"));
  EXPECT_TRUE(wildcard_match("S3:getobject", "s3:GetObject", true));
  EXPECT_TRUE(wildcard_match("KMS:*", "kms:Decrypt", true));
}

TEST(WildcardMatch, AdversarialPatternsStayFast) {
  // A backtracking matcher takes exponential time here; the table is quadratic.
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_FALSE(wildcard_match(pattern, std::string(2000, 'a')));
}

TEST(ResourceMatch, WildcardsStayInsideTheirSegment) {
  EXPECT_TRUE(resource_match("*", "arn:aws:s3:::bucket/key"));
  EXPECT_TRUE(resource_match("arn:aws:s3:::bucket_name/*", "arn:aws:s3:::bucket_name/dir/file.bak"));
  EXPECT_TRUE(resource_match("arn:aws:s3:::bucket_name/*", "arn:aws:s3:::bucket_name/a:b"));
  EXPECT_FALSE(resource_match("arn:aws:s3:::bucket_name/*", "arn:aws:s3:::bucket_name"));
  EXPECT_FALSE(resource_match("arn:aws:s3:::bucket_name", "arn:aws:s3:::bucket_name/x"));
  EXPECT_FALSE(resource_match("arn:aws:s3:::bucket_name", "arn:aws:s3:::Bucket_name"));
  // A '*' inside a segment does not reach past its colon...
  EXPECT_TRUE(
      resource_match("arn:aws:kms:us-*-1:123456789012:key/k", "arn:aws:kms:us-east-1:123456789012:key/k"));
  EXPECT_FALSE(
      resource_match("arn:aws:kms:u*t-1:123456789012:key/k", "arn:aws:kms:u:x:t-1:123456789012:key/k"));
  EXPECT_FALSE(resource_match("arn:aws:kms:us-?ast-1:1:key/k", "arn:aws:kms:us-:ast-1:1:key/k"));
  // ...unless it ends the segment: then it may, as AWS documents.
  EXPECT_TRUE(resource_match("arn:aws:kms:*:*:key/k", "arn:aws:kms:us-east-1:123456789012:key/k"));
  EXPECT_TRUE(
      resource_match("arn:aws:logs:us-east-1:1:log-group:*", "arn:aws:logs:us-east-1:1:log-group:g:s:x"));
  EXPECT_TRUE(resource_match("arn:aws:kms:us-east-1:123456789012:key/*",
                             "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(resource_match("arn:aws:kms:us-east-1:123456789012:key/*",
                              "arn:aws:kms:us-east-1:123456789012:alias/backups"));
}

TEST(ArnLike, EachOfTheSixSegmentsOnItsOwn) {
  const std::string db = "arn:aws:rds:us-east-1:123456789012:db:mydbinstance";
  EXPECT_TRUE(arn_like(db, db));
  EXPECT_TRUE(arn_like("arn:aws:rds:us-east-1:123456789012:db:*", db));
  EXPECT_TRUE(arn_like("arn:aws:rds:*:123456789012:*", db));
  EXPECT_TRUE(arn_like("*", db));
  EXPECT_FALSE(arn_like("arn:aws:rds:us-east-1:111122223333:db:*", db));
  EXPECT_FALSE(arn_like("arn:aws:rds:*", db));  // fewer than six segments
  EXPECT_FALSE(arn_like("arn:aws:rds:us-east-1:123456789012:db:*", "not-an-arn"));
  EXPECT_FALSE(arn_like("arn:aws:RDS:us-east-1:123456789012:db:*", db));  // case matters
  // The resource segment keeps its own colons: "db:*" against "db:mydbinstance".
  EXPECT_FALSE(arn_like("arn:aws:rds:us-east-1:123456789012:cluster:*", db));
}

}  // namespace
}  // namespace bakrest::iam
