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
#include "crypto/key_service.h"
#include "crypto/keyring.h"
#include "crypto/kms_types.h"

namespace bakrest::crypto {

class LocalKms : public KeyService {
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
  KeyMetadata describe_key(std::string_view key) const override;
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
  DataKey generate_data_key(std::string_view key, const EncryptionContext& context,
                            size_t bytes = 32) override;
  std::vector<uint8_t> encrypt(std::string_view key, std::span<const uint8_t> plaintext,
                               const EncryptionContext& context);
  Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                    const EncryptionContext& context) override;

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
