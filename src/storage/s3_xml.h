// The XML documents S3 sends and receives (S3 API reference), read and written with pugixml. Replies are
// hostile input: a parser never throws for bad XML; it returns nullopt (or an empty result) and the caller
// reports the reply as malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_store.h"

namespace bakrest::storage::s3xml {

// <Error><Code/><Message/><RequestId/>... (also inside a 200 reply to CompleteMultipartUpload).
struct Error {
  std::string code;
  std::string message;
  std::string request_id;
  std::string region;  // <Region>, sent with AuthorizationHeaderMalformed and PermanentRedirect
};
std::optional<Error> parse_error(std::string_view body);

struct ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_continuation_token;
};
std::optional<ListPage> parse_list_objects_v2(std::string_view body);

std::optional<std::string> parse_upload_id(std::string_view body);  // InitiateMultipartUploadResult

// CompleteMultipartUploadResult's ETag (quotes removed); nullopt if the body is not that document.
std::optional<std::string> parse_complete_result(std::string_view body);

struct Upload {
  std::string key;
  std::string upload_id;
  int64_t initiated_us = 0;  // 0 if the store did not say
};
struct UploadPage {
  std::vector<Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
std::optional<UploadPage> parse_list_uploads(std::string_view body);

// GetBucketLocation's LocationConstraint as a region: empty means us-east-1 and "EU" eu-west-1.
std::optional<std::string> parse_location(std::string_view body);

struct Part {
  int number = 0;
  std::string etag;  // as UploadPart returned it, quotes included
};
std::string complete_request(const std::vector<Part>& parts);
std::string create_bucket_request(const std::string& region);  // empty for us-east-1

// "abc" -> abc: S3 sends ETags quoted.
std::string unquote(std::string_view etag);

}  // namespace bakrest::storage::s3xml
