#include "iam/authorized_kms.h"

namespace bakrest::iam {

bool AuthorizedKms::allows(const std::string& action, const crypto::KeyMetadata& key) const {
  Request as_role{action, key.arn, {Principal::Type::kAws, role_->role.arn}, {}};
  Request as_account = as_role;
  as_account.principal.id = canonical_aws_principal(account_);
  Effect identity = Effect::kNone;
  for (const Policy& p : role_->permissions) {
    Effect e = p.evaluate(as_role);
    if (e == Effect::kDeny) return false;
    if (e == Effect::kAllow) identity = Effect::kAllow;
  }
  if (!key_policies_) return identity == Effect::kAllow;
  // The key policy is read for each call: a put-key-policy takes effect at the next call.
  Policy key_policy = Policy::parse(key_policies_->get_key_policy(key.arn), PolicyKind::kResource);
  const Effect direct = key_policy.evaluate(as_role);
  const Effect delegated = key_policy.evaluate(as_account);
  if (direct == Effect::kDeny || delegated == Effect::kDeny) return false;
  return direct == Effect::kAllow || (delegated == Effect::kAllow && identity == Effect::kAllow);
}

crypto::KeyMetadata AuthorizedKms::checked(const std::string& action, std::string_view key) const {
  crypto::KeyMetadata metadata = inner_.describe_key(key);
  if (!allows(action, metadata)) {
    throw crypto::KmsError("AccessDeniedException", "User " + role_->role.arn +
                                                        " is not authorized to perform " + action +
                                                        " on resource " + metadata.arn);
  }
  return metadata;
}

crypto::KeyMetadata AuthorizedKms::describe_key(std::string_view key) const {
  return checked("kms:DescribeKey", key);
}

crypto::DataKey AuthorizedKms::generate_data_key(std::string_view key,
                                                 const crypto::EncryptionContext& context, size_t bytes) {
  return inner_.generate_data_key(checked("kms:GenerateDataKey", key).arn, context, bytes);
}

crypto::Decrypted AuthorizedKms::decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                                         const crypto::EncryptionContext& context) {
  if (!key) throw std::invalid_argument("AuthorizedKms::decrypt needs the key the blob is of");
  return inner_.decrypt(blob, checked("kms:Decrypt", *key).arn, context);
}

}  // namespace bakrest::iam
