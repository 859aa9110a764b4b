// The KMS's vocabulary, shared by the instance's own KMS (crypto/local_kms.h) and what tasks ask of a key
// service (crypto/key_service.h): KMS's errors, a key's metadata, aliases, data keys and encryption contexts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/service_error.h"
#include "crypto/secret.h"

namespace bakrest::crypto {

// A refusal as KMS words it: code is the exception's name ("NotFoundException"), what() its message.
class KmsError : public ServiceError {
 public:
  KmsError(std::string code, const std::string& message) : ServiceError(std::move(code), message) {}
};

enum class KeyState { kEnabled, kDisabled, kPendingDeletion };
const char* key_state_name(KeyState state);  // "Enabled", "Disabled", "PendingDeletion"

struct KeyMetadata {
  std::string key_id;  // "1234abcd-12ab-34cd-56ef-1234567890ab"
  std::string arn;     // "arn:aws:kms:us-east-1:123456789012:key/<key_id>"
  std::string description;
  std::string key_spec;     // "SYMMETRIC_DEFAULT", "RSA_2048", ...
  std::string key_usage;    // "ENCRYPT_DECRYPT" or "SIGN_VERIFY"
  std::string key_manager;  // "CUSTOMER", or "AWS" for the AWS managed alias/aws/rds
  KeyState state = KeyState::kEnabled;
  int64_t creation_date = 0;             // unix seconds
  std::optional<int64_t> deletion_date;  // when PendingDeletion
  bool symmetric() const { return key_spec == "SYMMETRIC_DEFAULT"; }
};

struct Alias {
  std::string name;    // "alias/backups"
  std::string arn;     // "arn:aws:kms:us-east-1:123456789012:alias/backups"
  std::string key_id;  // the target key
};

struct DataKey {
  SecretBytes plaintext;
  std::vector<uint8_t> ciphertext_blob;
  std::string key_arn;
};

struct Decrypted {
  SecretBytes plaintext;
  std::string key_arn;
};

// Encryption context: string pairs bound to a ciphertext (KMS's EncryptionContext).
using EncryptionContext = std::map<std::string, std::string>;

}  // namespace bakrest::crypto
