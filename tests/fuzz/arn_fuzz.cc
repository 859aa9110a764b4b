// S3 object ARNs as the RDS procedures take them: parse_s3_object_arn(), is_valid_object_key() and
// is_valid_bucket_name(). What parses must be valid by the same checks and spell the input exactly.
#include <stdexcept>
#include <string_view>

#include "fuzz_support.h"
#include "storage/arn.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)storage::is_valid_object_key(text);
  (void)storage::is_valid_bucket_name(text);
  try {
    storage::S3ObjectArn arn = storage::parse_s3_object_arn(text);
    fuzz::check(storage::is_valid_bucket_name(arn.bucket), "a parsed ARN's bucket is valid");
    fuzz::check(storage::is_valid_object_key(arn.key), "a parsed ARN's key is valid");
    fuzz::check("arn:aws:s3:::" + arn.bucket + "/" + arn.key == text, "a parsed ARN spells the input");
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
