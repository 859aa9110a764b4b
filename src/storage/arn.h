// Strict parsing of S3 object ARNs as the RDS procedures take them: arn:aws:s3:::bucket/key.
#pragma once

#include <string>
#include <string_view>

namespace bakrest::storage {

struct S3ObjectArn {
  std::string bucket;
  std::string key;
};

// "arn:aws:s3:::bucket/key": the ARN of an object, as task_info and msdb name it.
inline std::string s3_object_arn(std::string_view bucket, std::string_view key) {
  return "arn:aws:s3:::" + std::string(bucket) + "/" + std::string(key);
}

// Throws std::invalid_argument with a sentence naming what is wrong (for example "The S3 ARN
// 'arn:aws:s3:::b' names no object: expected arn:aws:s3:::bucket_name/file_name.extension").
S3ObjectArn parse_s3_object_arn(std::string_view arn);

// True if key is a safe object key: 1..1024 bytes of UTF-8, no NUL or control characters, not starting with
// '/', no empty, '.' or '..' path segments (a key may never escape its bucket in the local store).
bool is_valid_object_key(std::string_view key);

// True for bucket names of 3..63 characters from [a-zA-Z0-9._-] that start and end with a letter or digit
// (underscores and capitals are allowed as in legacy us-east-1 buckets, e.g. aws_example_bucket).
bool is_valid_bucket_name(std::string_view bucket);

}  // namespace bakrest::storage
