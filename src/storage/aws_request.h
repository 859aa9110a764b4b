// One signed request to an AWS service's API over HTTP: KMS's JSON protocol (crypto/kms_client.h) and STS's
// query protocol (storage/sts.h) both POST a body to "/" of an endpoint, signed with SigV4 for their service
// and region. This is that request, in one place: the endpoint's URL read once, the body hashed, the headers
// signed (with x-amz-security-token for temporary keys), the reply read whole.
//
// Thread safety: ApiEndpoint is a value; signed_post() may be called from any thread with a shared Client.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/http_client.h"
#include "storage/sigv4.h"

namespace bakrest::storage {

struct ApiEndpoint {
  std::string url;   // "https://kms.us-east-1.amazonaws.com", no trailing slash
  std::string host;  // "kms.us-east-1.amazonaws.com", with its port if the URL has one
};

// Reads "http(s)://host[:port]" (one trailing slash allowed). Throws std::invalid_argument naming what
// (e.g. "the KMS endpoint") for anything else: another scheme, a path, user info.
ApiEndpoint parse_api_endpoint(const std::string& url, std::string_view what);

struct SignedPost {
  std::string service;  // the SigV4 scope's: "kms", "sts"
  std::string region;
  std::vector<std::pair<std::string, std::string>> headers;  // content-type and the like, all signed
  std::string body;
};

// POSTs post to endpoint "/", signed with keys at the current time, and returns the reply whatever its
// status (at most max_body_bytes of body). Throws StorageError when no reply comes (operation names it).
http::Response signed_post(http::Client& client, const ApiEndpoint& endpoint, const SignedPost& post,
                           const sigv4::Credentials& keys, const CallContext& ctx,
                           const std::string& operation, size_t max_body_bytes = 1 << 20);

}  // namespace bakrest::storage
