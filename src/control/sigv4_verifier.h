// Checks the AWS Signature Version 4 of a request to the control endpoint, as AWS's services check the
// requests of the AWS CLI and the SDKs: the Authorization header's credential scope, the request time, the
// access key, and the signature over the canonical request (storage/sigv4.h computes it, the same code that
// signs bakrest's own S3 requests). A signature already accepted is refused if it comes again while it is
// still fresh (a replayed request), within a bounded memory of recent signatures.
//
// What is refused, and how each service then words it, is the caller's (control/): verify() only says why.
//
// Thread safety: verify() may be called from any thread (the memory of recent signatures is locked).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace bakrest::control {

// A request as the HTTP layer read it: the path and query already percent-decoded.
struct SignedRequest {
  std::string method;                                        // "POST"
  std::string path;                                          // "/"
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // as received; names compare without case
  std::string_view body;
};

enum class AuthFailure {
  kMissing,       // no Authorization header, or not AWS4-HMAC-SHA256
  kMalformed,     // an Authorization header, X-Amz-Date or credential scope that cannot be read
  kUnknownKey,    // the access key is not one this instance issued
  kWrongScope,    // signed for another service or region, or a scope date that is not the request's
  kExpired,       // X-Amz-Date more than the allowed skew from the server's clock
  kBadSignature,  // the signature is not the one the key gives this request
  kReplayed,      // this very signature was accepted before
  kExpiredToken,  // temporary keys past their expiration (the endpoint's check, after verify())
};

class AuthError : public std::runtime_error {
 public:
  AuthError(AuthFailure failure, const std::string& detail) : std::runtime_error(detail), failure_(failure) {}
  AuthFailure failure() const { return failure_; }

 private:
  AuthFailure failure_;
};

struct Caller {
  std::string access_key_id;
  std::string region;   // the scope's
  std::string service;  // the scope's
};

class SigV4Verifier {
 public:
  // The secret access key of an access key ID, or nullopt if there is no such key.
  using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

  // max_skew: how far X-Amz-Date may be from the server's clock (AWS allows 15 minutes); remembered: how
  // many recent signatures are kept to refuse replays (each about 100 bytes).
  explicit SigV4Verifier(SecretLookup secrets, int64_t max_skew_seconds = 15 * 60, size_t remembered = 65536);

  // Checks request as signed for service in one of regions at unix time now. Returns who signed it; throws
  // AuthError.
  Caller verify(const SignedRequest& request, std::string_view service, std::span<const std::string> regions,
                int64_t now);

 private:
  // Refuses a signature seen before; remembers it otherwise, forgetting those too old to be accepted again.
  void remember(const std::string& signature, int64_t request_time, int64_t now);

  SecretLookup secrets_;
  int64_t max_skew_;
  size_t remembered_;
  std::mutex mutex_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<int64_t, std::string>> seen_order_;  // (request time, signature), oldest first
};

// "20261207T005321Z" as unix seconds, or nullopt if it is not that form.
std::optional<int64_t> parse_amz_date(std::string_view text);

}  // namespace bakrest::control
