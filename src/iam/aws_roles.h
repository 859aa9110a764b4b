// IAM roles that are AWS's, not the instance's: those of the account in [aws] (docs/OPERATIONS.md, "Roles and
// keys on AWS"). When the option group names one, a task acts as that role the way RDS does: it assumes the
// role through STS with the instance's own credentials (storage/sts.h), and its S3 requests
// (storage/role_signed_store.h) and KMS requests (crypto/kms_client.h, to AWS KMS) are signed with the
// role's temporary keys. The instance checks none of that role's permissions itself: AWS does, with the
// role's policies, the buckets' and the keys'.
//
// One set of temporary keys per role serves every task until it nears expiry (storage::AssumedRole), so a
// stream of tasks does not call STS for each.
//
// Keys of the account are AWS's too: a task whose role is the instance's own reaches them at AWS KMS signed
// with the instance's own credentials (instance_kms(), behind crypto::KeyRouter), after its role's policies
// allowed the call here.
//
// Thread safety: any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "crypto/kms_client.h"
#include "storage/sts.h"

namespace bakrest::iam {

struct AwsRolesSettings {
  std::string region;
  std::string sts_endpoint;  // empty: https://sts.<region>.amazonaws.com
  std::string kms_endpoint;  // empty: https://kms.<region>.amazonaws.com
  std::string session_name;  // RoleSessionName of the instance's sessions (cut to STS's 64 characters)
  std::shared_ptr<storage::CredentialProvider> caller;  // the instance's own credentials
};

class AwsRoles {
 public:
  // Throws std::invalid_argument for an endpoint that is not a URL, or no caller credentials.
  explicit AwsRoles(AwsRolesSettings settings);

  struct Access {
    std::shared_ptr<storage::AssumedRole> credentials;
    std::shared_ptr<crypto::KmsClient> kms;  // AWS KMS, signed as the role
  };
  // What a task acting as role_arn signs with. Nothing is asked of STS until the keys are first needed.
  Access of(const std::string& role_arn);

  // AWS KMS signed with the instance's own credentials.
  crypto::KmsClient& instance_kms() { return instance_kms_; }

  const std::string& sts_endpoint() const { return sts_->endpoint(); }
  const std::string& kms_endpoint() const { return kms_endpoint_; }

 private:
  std::shared_ptr<const storage::StsClient> sts_;
  std::string region_;
  std::string kms_endpoint_;
  std::string session_name_;
  crypto::KmsClient instance_kms_;
  std::mutex mutex_;
  std::map<std::string, Access> roles_;
};

}  // namespace bakrest::iam
