// S3's XML replies (storage/s3_xml.h), and STS's AssumeRole reply (storage/sts.h), as a hostile or broken
// endpoint might send them: no parser may crash, and what a parser accepts must keep its promises (a
// truncated page always says where to go on; credentials read are complete).
#include <string_view>

#include "fuzz_support.h"
#include "storage/s3_xml.h"
#include "storage/sts.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)storage::s3xml::parse_error(body);
  (void)storage::s3xml::parse_upload_id(body);
  (void)storage::s3xml::parse_complete_result(body);
  (void)storage::s3xml::parse_location(body);
  if (auto page = storage::s3xml::parse_list_objects_v2(body)) {
    fuzz::check(!page->truncated || !page->next_continuation_token.empty(),
                "a truncated listing has a token");
  }
  if (auto page = storage::s3xml::parse_list_uploads(body)) {
    fuzz::check(!page->truncated || !page->next_key_marker.empty(),
                "a truncated upload listing has a marker");
  }
  try {
    storage::RoleCredentials role = storage::parse_assume_role_reply(body);
    fuzz::check(!role.keys.access_key_id.empty() && !role.keys.secret_access_key.empty() &&
                    !role.keys.session_token.empty(),
                "credentials read are complete");
  } catch (const storage::StorageError&) {
  }
  return 0;
}
