#include "storage/arn.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace bakrest::storage {
namespace {

struct Accepted {
  std::string arn;
  std::string bucket;
  std::string key;
};

TEST(ParseS3ObjectArn, AcceptsObjectArns) {
  const std::string long_key(1024, 'k');
  const std::string long_bucket(63, 'b');
  const std::vector<Accepted> cases = {
      {"arn:aws:s3:::aws_example_bucket/backup1.bak", "aws_example_bucket", "backup1.bak"},
      {"arn:aws:s3:::bucket_name/file_name.extension", "bucket_name", "file_name.extension"},
      {"arn:aws:s3:::my.bucket-1/dir/sub/file.bak", "my.bucket-1", "dir/sub/file.bak"},
      {"arn:aws:s3:::aws_example_bucket/backup*", "aws_example_bucket", "backup*"},
      {"arn:aws:s3:::bkt/*", "bkt", "*"},
      {"arn:aws:s3:::bkt/a:b:c", "bkt", "a:b:c"},
      {"arn:aws:s3:::bkt/with space.bak", "bkt", "with space.bak"},
      {"arn:aws:s3:::bkt/\xC3\xBCnic\xC3\xB6"
       "de.bak",
       "bkt",
       "\xC3\xBCnic\xC3\xB6"
       "de.bak"},
      {"arn:aws:s3:::Legacy_Bucket/x", "Legacy_Bucket", "x"},
      {"arn:aws:s3:::abc/..hidden", "abc", "..hidden"},
      {"arn:aws:s3:::123/4", "123", "4"},
      {"arn:aws:s3:::" + long_bucket + "/k", long_bucket, "k"},
      {"arn:aws:s3:::bkt/" + long_key, "bkt", long_key},
  };
  for (const Accepted& c : cases) {
    SCOPED_TRACE(c.arn);
    const S3ObjectArn parsed = parse_s3_object_arn(c.arn);
    EXPECT_EQ(parsed.bucket, c.bucket);
    EXPECT_EQ(parsed.key, c.key);
  }
}

struct Rejected {
  std::string arn;
  std::string problem;  // a phrase the message must contain
};

std::string message_for(const std::string& arn) {
  try {
    parse_s3_object_arn(arn);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<accepted>";
}

TEST(ParseS3ObjectArn, RejectsEverythingElseWithASentence) {
  const std::vector<Rejected> cases = {
      {"", "is empty"},
      {" arn:aws:s3:::bkt/key", "leading or trailing whitespace"},
      {"arn:aws:s3:::bkt/key ", "leading or trailing whitespace"},
      {"arn:aws:s3:::bkt/key\n", "leading or trailing whitespace"},
      {"\tarn:aws:s3:::bkt/key", "leading or trailing whitespace"},
      {"arn:aws:s3", "is not an ARN"},
      {"arn:aws:s3::", "is not an ARN"},
      {"s3://bkt/key", "is not an ARN"},
      {"bkt/key", "is not an ARN"},
      {"ARN:aws:s3:::bkt/key", "must start with 'arn:'"},
      {"urn:aws:s3:::bkt/key", "must start with 'arn:'"},
      {"arn:aws-cn:s3:::bkt/key", "partition 'aws-cn'"},
      {"arn:aws-us-gov:s3:::bkt/key", "partition 'aws-us-gov'"},
      {"arn::s3:::bkt/key", "partition ''"},
      {"arn:AWS:s3:::bkt/key", "partition 'AWS'"},
      {"arn:aws:kms:us-east-1:123456789012:key/abc", "service 'kms'"},
      {"arn:aws:S3:::bkt/key", "service 'S3'"},
      {"arn:aws::::bkt/key", "service ''"},
      {"arn:aws:s3:us-east-1::bkt/key", "names a region ('us-east-1')"},
      {"arn:aws:s3::123456789012:bkt/key", "names an account ('123456789012')"},
      {"arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/key", "names a region"},
      {"arn:aws:s3:::", "names no bucket"},
      {"arn:aws:s3:::/key", "names no bucket"},
      {"arn:aws:s3:::bkt", "names no object"},
      {"arn:aws:s3:::bkt/", "names no object"},
      {"arn:aws:s3:::ab/key", "invalid bucket 'ab'"},
      {"arn:aws:s3:::-bkt/key", "invalid bucket '-bkt'"},
      {"arn:aws:s3:::bkt-/key", "invalid bucket 'bkt-'"},
      {"arn:aws:s3:::.bkt/key", "invalid bucket '.bkt'"},
      {"arn:aws:s3:::bk!t/key", "invalid bucket 'bk!t'"},
      {"arn:aws:s3:::bk t/key", "invalid bucket 'bk t'"},
      {"arn:aws:s3:::" + std::string(64, 'b') + "/key", "invalid bucket"},
      {"arn:aws:s3:::bkt//key", "invalid object key '/key'"},
      {"arn:aws:s3:::bkt/../x", "invalid object key '../x'"},
      {"arn:aws:s3:::bkt/a/../../x", "invalid object key 'a/../../x'"},
      {"arn:aws:s3:::bkt/a//b", "invalid object key 'a//b'"},
      {"arn:aws:s3:::bkt/.", "invalid object key '.'"},
      {"arn:aws:s3:::bkt/./x", "invalid object key './x'"},
      {"arn:aws:s3:::bkt/dir/", "invalid object key 'dir/'"},
      {"arn:aws:s3:::bkt/a\x01z", "invalid object key 'a\\x01z'"},
      {"arn:aws:s3:::bkt/bad\xFFutf8", "invalid object key"},
      {"arn:aws:s3:::bkt/" + std::string(1025, 'k'), "invalid object key"},
  };
  for (const Rejected& c : cases) {
    SCOPED_TRACE(c.arn);
    const std::string message = message_for(c.arn);
    EXPECT_NE(message.find(c.problem), std::string::npos) << message;
    EXPECT_EQ(message.rfind("The S3 ARN '", 0), 0u) << message;
  }
}

TEST(ParseS3ObjectArn, MessageQuotesTheInputAndTheExpectedForm) {
  EXPECT_EQ(
      message_for("arn:aws:s3:::b"),
      "The S3 ARN 'arn:aws:s3:::b' names no object: expected arn:aws:s3:::bucket_name/file_name.extension");
  const std::string message = message_for("arn:aws:s3:eu-west-1::bkt/key");
  EXPECT_NE(message.find("'arn:aws:s3:eu-west-1::bkt/key'"), std::string::npos) << message;
  EXPECT_NE(message.find("expected arn:aws:s3:::bucket_name/file_name.extension"), std::string::npos)
      << message;
}

TEST(ParseS3ObjectArn, ControlCharactersInTheInputAreEscapedInTheMessage) {
  const std::string message = message_for("arn:aws:s3:::bkt/a\nb");
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.find("a\\x0Ab"), std::string::npos) << message;
}

TEST(IsValidObjectKey, AcceptsSafeKeys) {
  const std::vector<std::string> keys = {"a",
                                         "a/b",
                                         "a/b/c.bak",
                                         "backup*",
                                         "a.b",
                                         "..a",
                                         "a..",
                                         "...",
                                         "a b",
                                         "a\\b",
                                         "a:b",
                                         "~",
                                         "-",
                                         "\xC3\xBC",
                                         "\xE2\x82\xAC",
                                         "\xF0\x9F\x98\x80",
                                         "\xEF\xBF\xBD",
                                         std::string(1024, 'x')};
  for (const std::string& key : keys) EXPECT_TRUE(is_valid_object_key(key)) << key;
}

TEST(IsValidObjectKey, RejectsUnsafeKeys) {
  const std::vector<std::string> keys = {
      "",
      "/a",
      "/",
      "a/",
      "a//b",
      ".",
      "..",
      "./a",
      "a/.",
      "a/./b",
      "a/../b",
      "../x",
      "a/../../x",
      std::string("a\0b", 3),
      "a\nb",
      "a\tb",
      "\x7F",
      "\xC2\x80",          // U+0080, a C1 control character
      "\xC2\x9F",          // U+009F
      "\xFF",              // never valid in UTF-8
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong '/'
      "\xED\xA0\x80",      // UTF-16 surrogate
      "\xF4\x90\x80\x80",  // beyond U+10FFFF
      "\xE2\x82",          // truncated
      "\x80",              // continuation byte alone
      std::string(1025, 'x'),
  };
  for (const std::string& key : keys) EXPECT_FALSE(is_valid_object_key(key)) << key;
}

TEST(IsValidBucketName, AcceptsNamesS3AndLegacyBucketsUse) {
  const std::vector<std::string> names = {
      "abc", "aws_example_bucket", "My.Bucket-1", "1bucket", "a-b", "a.b.c", "a_b", std::string(63, 'z')};
  for (const std::string& name : names) EXPECT_TRUE(is_valid_bucket_name(name)) << name;
}

TEST(IsValidBucketName, RejectsOtherNames) {
  const std::vector<std::string> names = {
      "",
      "a",
      "ab",
      "-ab",
      "ab-",
      ".ab",
      "ab.",
      "_ab",
      "ab_",
      "a b",
      "a/b",
      "ab!c",
      "..",
      "...",
      "\xC3\xBC-bucket",
      std::string(64, 'z'),
  };
  for (const std::string& name : names) EXPECT_FALSE(is_valid_bucket_name(name)) << name;
}

}  // namespace
}  // namespace bakrest::storage
