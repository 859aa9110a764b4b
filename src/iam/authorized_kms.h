// A key service as a role may use it: every call of a task is checked, before it is made, as KMS checks a
// request signed with the role's credentials (AWS KMS Developer Guide, "Determining access to a KMS key"):
//
//   describe_key        kms:DescribeKey
//   generate_data_key   kms:GenerateDataKey
//   decrypt             kms:Decrypt
//
// on the key's ARN (an alias is resolved first). The key's policy decides with the role's policies: an
// explicit Deny in either denies; a key policy statement that names the role itself allows on its own; one
// that names the account (arn:aws:iam::<account>:root, as KMS's default key policy does) allows only what the
// role's own policies allow too. Otherwise KmsError AccessDeniedException, "User <role ARN> is not authorized
// to perform <action> on resource <key ARN>" (RDS's wording in task_info). A key that does not exist is KMS's
// NotFoundException. bakrest makes data keys with GenerateDataKey and never calls Encrypt, so kms:Encrypt (in
// the RDS page's policy) is never asked for.
//
// The key's policy is evaluated here when the keys are the instance's own (key_policies given). A key service
// elsewhere (another instance's, AWS's: crypto::KmsClient) keeps its keys' policies itself and applies them
// to whoever signs its requests; here only the role's policies are checked.
//
// Thread safety: any thread (the role's policies are immutable; the KMS locks itself).
#pragma once

#include <memory>
#include <string>

#include "crypto/key_service.h"
#include "crypto/local_kms.h"
#include "iam/role_store.h"

namespace bakrest::iam {

class AuthorizedKms : public crypto::KeyService {
 public:
  // key_policies: the instance's own KMS when inner is it; null for a key service elsewhere.
  AuthorizedKms(crypto::KeyService& inner, const crypto::LocalKms* key_policies,
                std::shared_ptr<const RolePolicies> role, std::string account)
      : inner_(inner), key_policies_(key_policies), role_(std::move(role)), account_(std::move(account)) {}

  crypto::KeyMetadata describe_key(std::string_view key) const override;
  crypto::DataKey generate_data_key(std::string_view key, const crypto::EncryptionContext& context,
                                    size_t bytes) override;
  // key is required: the key a blob is expected to be of is the one the role's permission is checked on.
  crypto::Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                            const crypto::EncryptionContext& context) override;

  // Whether the role may perform action on the key (its metadata from the KMS).
  bool allows(const std::string& action, const crypto::KeyMetadata& key) const;

 private:
  // The key's metadata, after checking that the role may perform action on it.
  crypto::KeyMetadata checked(const std::string& action, std::string_view key) const;

  crypto::KeyService& inner_;
  const crypto::LocalKms* key_policies_;
  std::shared_ptr<const RolePolicies> role_;
  std::string account_;
};

}  // namespace bakrest::iam
