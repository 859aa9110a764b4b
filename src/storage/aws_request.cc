#include "storage/aws_request.h"

#include <ctime>
#include <regex>
#include <stdexcept>

#include "common/digest.h"
#include "common/ids.h"
#include "common/text.h"

namespace bakrest::storage {

ApiEndpoint parse_api_endpoint(const std::string& url, std::string_view what) {
  static const std::regex form(R"((https?)://([A-Za-z0-9.\-]+(:[0-9]{1,5})?)/?)");
  std::smatch m;
  if (!std::regex_match(url, m, form))
    throw std::invalid_argument(std::string(what) + " '" + url +
                                "' is not http:// or https:// and a host (and port)");
  ApiEndpoint out{url, m[2]};
  if (out.url.back() == '/') out.url.pop_back();
  return out;
}

http::Response signed_post(http::Client& client, const ApiEndpoint& endpoint, const SignedPost& post,
                           const sigv4::Credentials& keys, const CallContext& ctx,
                           const std::string& operation, size_t max_body_bytes) {
  const std::string date = sigv4::amz_date(std::time(nullptr));
  const std::string payload = to_hex(sha256(post.body));
  sigv4::Request signed_request;
  signed_request.method = "POST";
  signed_request.path = "/";
  signed_request.payload_hash = payload;
  signed_request.headers = post.headers;
  signed_request.headers.emplace_back("host", endpoint.host);
  signed_request.headers.emplace_back("x-amz-date", date);
  signed_request.headers.emplace_back("x-amz-content-sha256", payload);
  // A fresh id per call, as the SDKs send it: two identical calls in one second are two requests, not a
  // replay of one.
  signed_request.headers.emplace_back("amz-sdk-invocation-id", ascii_lower(guid_to_string(random_guid())));
  if (!keys.session_token.empty())
    signed_request.headers.emplace_back("x-amz-security-token", keys.session_token);
  const sigv4::Scope scope{date.substr(0, 8), post.region, post.service};
  http::Request request;
  request.method = "POST";
  request.url = endpoint.url + "/";
  request.headers = signed_request.headers;
  request.headers.emplace_back("Authorization", sigv4::authorization(signed_request, keys, date, scope));
  request.body = {reinterpret_cast<const uint8_t*>(post.body.data()), post.body.size()};
  return client.perform(request, ctx, operation, {}, max_body_bytes);
}

}  // namespace bakrest::storage
