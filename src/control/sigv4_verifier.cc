#include "control/sigv4_verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "common/digest.h"
#include "common/text.h"
#include "storage/sigv4.h"

namespace bakrest::control {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// The values of header name (every one, in order), without regard to the case of the name.
std::vector<std::string_view> header_values(const SignedRequest& request, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : request.headers) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

std::optional<std::string_view> one_header(const SignedRequest& request, std::string_view name) {
  auto values = header_values(request, name);
  if (values.size() != 1) return std::nullopt;
  return values[0];
}

struct Authorization {
  std::string access_key_id;
  storage::sigv4::Scope scope;
  std::vector<std::string> signed_headers;  // lower case, as listed
  std::string signature;
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = text.find(separator);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

// "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date,
// Signature=<64 hex digits>".
Authorization parse_authorization(std::string_view header) {
  if (!header.starts_with(kAlgorithm) || header.size() == kAlgorithm.size() ||
      header[kAlgorithm.size()] != ' ')
    throw AuthError(AuthFailure::kMissing, "the Authorization header is not AWS4-HMAC-SHA256");
  Authorization auth;
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view part : split(header.substr(kAlgorithm.size() + 1), ',')) {
    part = trim_space(part);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      throw AuthError(AuthFailure::kMalformed, "the Authorization header has a part without '='");
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    std::optional<std::string_view>* slot = name == "Credential"      ? &credential
                                            : name == "SignedHeaders" ? &signed_headers
                                            : name == "Signature"     ? &signature
                                                                      : nullptr;
    if (slot == nullptr)
      throw AuthError(AuthFailure::kMalformed,
                      "the Authorization header has an unknown part " + std::string(name));
    if (*slot)
      throw AuthError(AuthFailure::kMalformed, "the Authorization header repeats " + std::string(name));
    *slot = value;
  }
  if (!credential || !signed_headers || !signature)
    throw AuthError(AuthFailure::kMalformed,
                    "the Authorization header needs Credential, SignedHeaders and Signature");
  auto scope = split(*credential, '/');
  if (scope.size() != 5 || scope[0].empty() || scope[4] != "aws4_request")
    throw AuthError(
        AuthFailure::kMalformed,
        "the credential is not ACCESS_KEY_ID/DATE/REGION/SERVICE/aws4_request: " + std::string(*credential));
  auth.access_key_id = scope[0];
  auth.scope = {std::string(scope[1]), std::string(scope[2]), std::string(scope[3])};
  for (std::string_view name : split(*signed_headers, ';')) {
    if (name.empty() || ascii_lower(std::string(name)) != name)
      throw AuthError(AuthFailure::kMalformed, "SignedHeaders must be lower-case names separated by ';'");
    auth.signed_headers.emplace_back(name);
  }
  if (!std::is_sorted(auth.signed_headers.begin(), auth.signed_headers.end()))
    throw AuthError(AuthFailure::kMalformed, "SignedHeaders must be sorted");
  if (signature->size() != 64 || signature->find_first_not_of("0123456789abcdef") != std::string_view::npos)
    throw AuthError(AuthFailure::kMalformed, "the Signature is not 64 lower-case hexadecimal digits");
  auth.signature = *signature;
  return auth;
}

template <typename T>
bool read_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<int64_t> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  // Digits only: from_chars would take "-3" as a minute.
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  int y = 0;
  unsigned mo = 0, d = 0;
  int h = 0, mi = 0, s = 0;
  if (!read_number(text.substr(0, 4), y) || !read_number(text.substr(4, 2), mo) ||
      !read_number(text.substr(6, 2), d) || !read_number(text.substr(9, 2), h) ||
      !read_number(text.substr(11, 2), mi) || !read_number(text.substr(13, 2), s))
    return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(mo), std::chrono::day(d)};
  if (!date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;  // unix time has no leap seconds
  auto days = std::chrono::sys_days(date).time_since_epoch();
  return std::chrono::duration_cast<std::chrono::seconds>(days).count() + h * 3600 + mi * 60 + s;
}

SigV4Verifier::SigV4Verifier(SecretLookup secrets, int64_t max_skew_seconds, size_t remembered)
    : secrets_(std::move(secrets)),
      max_skew_(max_skew_seconds),
      remembered_(std::max<size_t>(remembered, 1)) {}

Caller SigV4Verifier::verify(const SignedRequest& request, std::string_view service,
                             std::span<const std::string> regions, int64_t now) {
  auto header = one_header(request, "authorization");
  if (!header)
    throw AuthError(AuthFailure::kMissing, "the request has no (or more than one) Authorization header");
  Authorization auth = parse_authorization(*header);

  auto amz_date = one_header(request, "x-amz-date");
  std::optional<int64_t> time = amz_date ? parse_amz_date(*amz_date) : std::nullopt;
  if (!time)
    throw AuthError(AuthFailure::kMalformed, "the request needs one X-Amz-Date of the form 20261207T005321Z");
  if (auth.scope.date != amz_date->substr(0, 8))
    throw AuthError(AuthFailure::kWrongScope, "the credential's date " + auth.scope.date +
                                                  " is not the date of X-Amz-Date " + std::string(*amz_date));
  if (auth.scope.service != service)
    throw AuthError(AuthFailure::kWrongScope, "the request is signed for service " + auth.scope.service +
                                                  ", not " + std::string(service));
  if (std::find(regions.begin(), regions.end(), auth.scope.region) == regions.end())
    throw AuthError(AuthFailure::kWrongScope, "the request is signed for region " + auth.scope.region +
                                                  ", which this endpoint does not serve");
  if (*time < now - max_skew_ || *time > now + max_skew_)
    throw AuthError(AuthFailure::kExpired, "Signature expired: " + std::string(*amz_date) + " is more than " +
                                               std::to_string(max_skew_ / 60) +
                                               " minutes from the server's time");
  for (const char* required : {"host", "x-amz-date"}) {
    if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), required) ==
        auth.signed_headers.end())
      throw AuthError(AuthFailure::kMalformed, std::string("SignedHeaders must include ") + required);
  }

  std::optional<std::string> secret = secrets_(auth.access_key_id);
  if (!secret)
    throw AuthError(AuthFailure::kUnknownKey, "the access key " + auth.access_key_id + " is not known here");

  storage::sigv4::Request canonical;
  canonical.method = request.method;
  canonical.path = request.path;
  canonical.query = request.query;
  for (const std::string& name : auth.signed_headers) {
    auto values = header_values(request, name);
    if (values.empty())
      throw AuthError(AuthFailure::kBadSignature, "the signed header " + name + " is not in the request");
    for (std::string_view v : values) canonical.headers.emplace_back(name, std::string(v));
  }
  canonical.payload_hash = to_hex(sha256(request.body));
  // A body hash sent along must be the body's: the services here take no unsigned payloads.
  if (auto sent = one_header(request, "x-amz-content-sha256"); sent && *sent != canonical.payload_hash)
    throw AuthError(AuthFailure::kBadSignature, "X-Amz-Content-SHA256 is not the hash of the body");

  std::string expected = storage::sigv4::signature(
      *secret, auth.scope,
      storage::sigv4::string_to_sign(*amz_date, auth.scope, storage::sigv4::canonical_request(canonical)));
  // Compared in constant time: how long a mismatch takes must not tell how much of it was right.
  if (CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0)
    throw AuthError(
        AuthFailure::kBadSignature,
        "The request signature we calculated does not match the signature you provided. Check your "
        "AWS Secret Access Key and signing method.");
  remember(auth.signature, *time, now);
  return {auth.access_key_id, auth.scope.region, auth.scope.service};
}

void SigV4Verifier::remember(const std::string& signature, int64_t request_time, int64_t now) {
  std::lock_guard lock(mutex_);
  auto forget_oldest = [&] {
    seen_.erase(seen_order_.front().second);
    seen_order_.pop_front();
  };
  // What is older than the skew allows cannot be accepted again anyway.
  while (!seen_order_.empty() && seen_order_.front().first < now - max_skew_) forget_oldest();
  if (seen_.contains(signature))
    throw AuthError(AuthFailure::kReplayed,
                    "this request was already received: each signed request is taken once");
  while (seen_order_.size() >= remembered_) forget_oldest();
  seen_.insert(signature);
  seen_order_.emplace_back(request_time, signature);
}

}  // namespace bakrest::control
