// AWS Signature Version 4 (docs.aws.amazon.com, "Signature Version 4 signing process"), as S3 requires it:
// the canonical request, the string to sign, the signing key and the signature, for the Authorization header
// and for presigned URLs. Pure functions of their arguments: no clock, no I/O, safe from any thread. Tested
// against the worked examples of AWS's S3 documentation (tests/unit/storage/sigv4_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bakrest::storage::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
};

// What is signed of a request. path and query are decoded (the signer encodes them the way S3 does); the
// caller must send exactly encode_path(path) and canonical_query(query) on the wire.
struct Request {
  std::string method;                                        // "GET", "PUT", ...
  std::string path;                                          // "/bucket/key" or "/key", decoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values; "uploads" -> ""
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, host included
  std::string payload_hash;                                  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct Scope {
  std::string date;     // "20130524" (UTC)
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
  std::string text() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other
// byte becomes %XX with upper-case hex; '/' stays too when encode_slash is false (object key paths).
std::string uri_encode(std::string_view text, bool encode_slash);
std::string encode_path(std::string_view path);  // uri_encode(path, false)
// The query string in canonical form: names and values encoded, sorted by name then value, "a=1&b=".
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
// "host;range;x-amz-date": the signed header names, lower case, sorted.
std::string signed_headers(const Request& request);
std::string canonical_request(const Request& request);
// The X-Amz-Date of a moment: "20130524T000000Z" (UTC).
std::string amz_date(int64_t unix_seconds);
// amz_date is "20130524T000000Z".
std::string string_to_sign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request);
std::string signature(std::string_view secret_access_key, const Scope& scope,
                      std::string_view string_to_sign);
// The Authorization header's value. The request's headers must already hold x-amz-date (= amz_date),
// x-amz-content-sha256 and, with a session token, x-amz-security-token.
std::string authorization(const Request& request, const Credentials& credentials, std::string_view amz_date,
                          const Scope& scope);
// The query parameters of a presigned URL for request (whose payload_hash is usually UNSIGNED-PAYLOAD):
// X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders (and
// X-Amz-Security-Token), then X-Amz-Signature. request.query holds any other parameters of the URL.
std::vector<std::pair<std::string, std::string>> presign(Request request, const Credentials& credentials,
                                                         std::string_view amz_date, const Scope& scope,
                                                         int expires_seconds);

}  // namespace bakrest::storage::sigv4
