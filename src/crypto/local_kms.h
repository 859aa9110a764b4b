// The instance's own key service: KMS keys kept in the keyring directory of the data directory, with the
// operations of AWS KMS that bakrest's setup and backups use, the same identifiers (key IDs, key ARNs,
// aliases) and the same errors (KmsError's code is KMS's exception name).
//
// Files (keyring/, mode 0700; each file 0600):
//   master.key  32 random bytes made at first use: the key that seals every KMS key's material.
//   kms.db      SQLite: each key's metadata, its key policy and its material sealed with AES-256-GCM under
//   the
//               master key (the key ID bound in as associated data); the aliases.
// The master key beside the keys protects a copy of kms.db taken alone, not a copy of the whole directory:
// whoever can read the data directory can use the keys, as whoever can read an RDS instance's volume could
// read its databases (docs/OPERATIONS.md, "Keys").
//
// Ciphertext blobs (Encrypt, GenerateDataKey) are: "BKMS", version 1, the key ID (36 characters), a random
// 12-byte nonce, then AES-256-GCM of the plaintext with the key's ARN and the encryption context as
// associated data: a blob opens only under its key and context.
//
// Thread safety: every call may come from any thread (one mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "crypto/aead.h"
#include "crypto/keyring.h"

namespace bakrest::crypto {

// A refusal as KMS words it: code is the exception's name ("NotFoundException"), what() its message.
class KmsError : public std::runtime_error {
 public:
  KmsError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
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
  std::vector<uint8_t> plaintext;
  std::vector<uint8_t> ciphertext_blob;
  std::string key_arn;
};

struct Decrypted {
  std::vector<uint8_t> plaintext;
  std::string key_arn;
};

// Encryption context: string pairs bound to a ciphertext (KMS's EncryptionContext).
using EncryptionContext = std::map<std::string, std::string>;

class LocalKms {
 public:
  // Opens keyring.dir()/kms.db, creating it (and alias/aws/rds, the AWS managed key RDS backups may not use)
  // if needed. region and account make the ARNs. Throws std::runtime_error if the file cannot be used.
  LocalKms(const Keyring& keyring, std::string region, std::string account);
  ~LocalKms();

  // The key specs KMS has; symmetric keys are made with random material, the others exist (for RDS's refusal
  // of asymmetric keys) but bakrest's KMS does not sign or encrypt with them. policy: a key policy document,
  // or the default one (the account's root may do everything, so IAM policies decide). Throws KmsError
  // (ValidationException, MalformedPolicyDocumentException).
  KeyMetadata create_key(std::string_view key_spec, std::string_view key_usage, std::string_view description,
                         const std::optional<std::string>& policy, int64_t now);

  // key: a key ID, key ARN, alias name ("alias/x") or alias ARN. Throws KmsError NotFoundException.
  KeyMetadata describe_key(std::string_view key) const;
  std::vector<KeyMetadata> list_keys() const;

  void create_alias(std::string_view alias_name, std::string_view target_key);
  void delete_alias(std::string_view alias_name);
  std::vector<Alias> list_aliases(std::optional<std::string_view> key = std::nullopt) const;

  void enable_key(std::string_view key);
  void disable_key(std::string_view key);
  // Returns the deletion date; days is 7..30. The key's state becomes PendingDeletion.
  int64_t schedule_key_deletion(std::string_view key, int days, int64_t now);

  void put_key_policy(std::string_view key, std::string_view policy);
  std::string get_key_policy(std::string_view key) const;

  // Throws KmsError: NotFoundException, DisabledException, KMSInvalidStateException (pending deletion),
  // InvalidKeyUsageException (an asymmetric key), InvalidCiphertextException (a blob that does not open),
  // IncorrectKeyException (a blob of another key than the one named).
  // bytes: the data key's length, 1..1024 (32 for AES-256).
  DataKey generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes = 32);
  std::vector<uint8_t> encrypt(std::string_view key, std::span<const uint8_t> plaintext,
                               const EncryptionContext& context);
  Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                    const EncryptionContext& context);

  // The ARN of an alias name, and of a key ID, in this keyring's region and account.
  std::string alias_arn(std::string_view alias_name) const;
  std::string key_arn(std::string_view key_id) const;

 private:
  struct Resolved;
  Resolved resolve(std::string_view key) const;  // caller holds mutex_
  KeyMetadata usable_symmetric(std::string_view key, AeadKey& material) const;
  void set_enabled(std::string_view key, bool enabled);

  std::string region_;
  std::string account_;
  const Keyring& keyring_;
  mutable std::mutex mutex_;
  mutable sqlite::Database db_;
};

}  // namespace bakrest::crypto
