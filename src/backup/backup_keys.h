// The keys of encrypted backups (docs/PROCEDURES.md, "Encrypted backups"): a backup given
// @kms_master_key_arn gets a fresh 256-bit data key from the key service's GenerateDataKey, bound to the
// backup's ID as encryption context ("bakrest:backup-id" = the ID in hex); the key's ARN and the wrapped data
// key go into every stripe's header (docs/FORMAT.md). A restore unwraps it with Decrypt under the key it is
// given, which must be the backup's.
//
// Errors are task errors (what task_info says), in RDS's words where RDS has them: `Key <ARN> does not
// exist`, `User <role ARN> is not authorized to perform <action> on resource <key ARN>`.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "crypto/key_service.h"
#include "format/backup_file.h"

namespace bakrest::backup {

// Checks kms_key (a key ID, key ARN, alias name or alias ARN) for a backup: it exists, the task may
// describe it, it is a customer managed symmetric key, and it is enabled. Returns its metadata. keys null:
// the instance has no key service.
crypto::KeyMetadata check_backup_key(crypto::KeyService* keys, const std::string& kms_key);

// Checks that kms_key exists and that the task may describe it (a restore's first step when given a key).
void check_key_exists(crypto::KeyService* keys, const std::string& kms_key);

struct BackupKey {
  format::DataKey data_key{};
  std::string key_arn;  // the key's ARN (an alias resolved)
  std::string wrapped;  // the key service's ciphertext of data_key (bytes)
};
BackupKey make_backup_key(crypto::KeyService* keys, const std::string& kms_key,
                          const std::array<uint8_t, 16>& backup_id);

// The data key of a backup a restore reads from object_arn given kms_key (empty: none given): the key must
// be the one the backup names. For a backup that is not encrypted it is never asked; check_restore_key()
// refuses a key given for one.
class RestoreKey : public format::DataKeySource {
 public:
  RestoreKey(crypto::KeyService* keys, std::string kms_key, std::string object_arn)
      : keys_(keys), kms_key_(std::move(kms_key)), object_arn_(std::move(object_arn)) {}
  format::DataKey unwrap(const format::BackupHeader& header) const override;

 private:
  crypto::KeyService* keys_;
  std::string kms_key_;
  std::string object_arn_;
};
// Throws if kms_key was given for a backup that is not encrypted.
void check_restore_key(const format::BackupHeader& header, const std::string& kms_key,
                       const std::string& object_arn);

// The data key of a backup as the instance itself unwraps it (its own clean-up after a restart): under the
// key its header names. A key that does not unwrap is format::FormatError (the backup cannot be verified).
class OwnKey : public format::DataKeySource {
 public:
  explicit OwnKey(crypto::KeyService* keys) : keys_(keys) {}
  format::DataKey unwrap(const format::BackupHeader& header) const override;

 private:
  crypto::KeyService* keys_;
};

}  // namespace bakrest::backup
