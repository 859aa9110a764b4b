// AWS STS's AssumeRole (API version 2011-06-15, the query protocol) and the credentials it gives: how an
// instance acts as the IAM role its option group names when the role is on AWS (docs/OPERATIONS.md, "Roles
// and keys on AWS"), as RDS assumes that role to reach S3 and KMS. The instance signs AssumeRole with its own
// keys; STS answers with temporary keys (an access key ID, a secret and a session token) valid until an
// expiration, and AWS then applies the role's policies, the buckets' and the keys' to everything signed
// with them.
//
// Errors: StorageError kAccessDenied for STS's refusals (the role's trust policy does not name the caller,
// the role does not exist, the caller may not sts:AssumeRole), with STS's code and message; kIo for a reply
// that does not read; the transport's kinds (kTimeout, kTransient, ...) when STS cannot be reached. Secrets
// never appear in what is thrown or logged.
//
// Thread safety: StsClient and AssumedRole may be used from any thread (AssumedRole locks around refreshes).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/aws_request.h"
#include "storage/credentials.h"

namespace bakrest::storage {

struct RoleCredentials {
  sigv4::Credentials keys;
  std::chrono::system_clock::time_point expiration;
  std::string assumed_role_arn;  // "arn:aws:sts::123456789012:assumed-role/<role>/<session>"
};

class StsClient {
 public:
  // endpoint: "https://sts.us-east-1.amazonaws.com" or another STS (a bakrest instance's control endpoint);
  // caller: the instance's own keys. Throws std::invalid_argument for an endpoint that is not a URL.
  StsClient(const std::string& endpoint, std::string region, std::shared_ptr<CredentialProvider> caller,
            http::Options http = {});
  ~StsClient();

  // AssumeRole of role_arn as session_name (2..64 of [A-Za-z0-9+=,.@_-]) for duration_seconds (STS takes
  // 900 up to the role's maximum session duration).
  RoleCredentials assume_role(const std::string& role_arn, const std::string& session_name,
                              int duration_seconds, const CallContext& ctx) const;

  const std::string& endpoint() const { return endpoint_.url; }

 private:
  ApiEndpoint endpoint_;
  std::string region_;
  std::shared_ptr<CredentialProvider> caller_;
  std::unique_ptr<http::Client> http_;
};

// Reads AssumeRole's reply (the AssumeRoleResponse document). Throws StorageError kIo for anything else.
RoleCredentials parse_assume_role_reply(std::string_view xml);

// A role's temporary keys as a CredentialProvider: assumed at first use, kept until five minutes before
// they expire (the SDKs' margin), then assumed again; invalidate() (the store or KMS said ExpiredToken)
// makes the next get() assume again at once.
class AssumedRole : public CredentialProvider {
 public:
  AssumedRole(std::shared_ptr<const StsClient> sts, std::string role_arn, std::string session_name,
              int duration_seconds = 3600);

  sigv4::Credentials get(const CallContext& ctx) override;
  void invalidate() override;
  std::string source() const override;
  const std::string& role_arn() const { return role_arn_; }

 private:
  std::shared_ptr<const StsClient> sts_;
  std::string role_arn_;
  std::string session_name_;
  int duration_seconds_;
  std::mutex mutex_;
  RoleCredentials current_;  // empty keys: none yet
};

}  // namespace bakrest::storage
