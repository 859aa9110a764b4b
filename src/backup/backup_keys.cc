#include "backup/backup_keys.h"

#include <algorithm>

#include "backup/job_support.h"
#include "common/digest.h"

namespace bakrest::backup {

namespace {

crypto::EncryptionContext context_of(const std::array<uint8_t, 16>& backup_id) {
  return {{"bakrest:backup-id", to_hex(backup_id)}};
}

// A key service's refusal as task_info words it. kms_key: the key as the task named it.
[[noreturn]] void key_refused(const crypto::KmsError& e, const std::string& kms_key) {
  if (e.code() == "NotFoundException") throw task_error("Key " + kms_key + " does not exist");
  // AccessDeniedException carries RDS's own sentence; DisabledException and KMSInvalidStateException KMS's.
  throw task_error(e.what());
}

crypto::KeyService& required(crypto::KeyService* keys) {
  if (!keys) throw task_error("Encrypted backups need a key service, and this instance has none.");
  return *keys;
}

format::DataKey data_key_of(const std::vector<uint8_t>& plaintext) {
  format::DataKey key{};
  if (plaintext.size() != key.size())
    throw task_error("The key service gave a data key of " + std::to_string(plaintext.size()) +
                     " bytes; AES-256 needs 32.");
  std::copy(plaintext.begin(), plaintext.end(), key.begin());
  return key;
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

}  // namespace

crypto::KeyMetadata check_backup_key(crypto::KeyService* keys, const std::string& kms_key) {
  crypto::KeyMetadata key;
  try {
    key = required(keys).describe_key(kms_key);
  } catch (const crypto::KmsError& e) {
    key_refused(e, kms_key);
  }
  if (key.key_manager == "AWS") {
    throw task_error("You can't use the default AWS managed key " + key.arn +
                     " (alias/aws/rds) to encrypt backups: use a customer managed symmetric KMS key.");
  }
  if (!key.symmetric()) {
    throw task_error("Key " + key.arn + " is an asymmetric key (" + key.key_spec +
                     "); RDS backups are encrypted with symmetric KMS keys only.");
  }
  if (key.state == crypto::KeyState::kDisabled) throw task_error("Key " + key.arn + " is disabled.");
  if (key.state == crypto::KeyState::kPendingDeletion)
    throw task_error("Key " + key.arn + " is pending deletion.");
  return key;
}

void check_key_exists(crypto::KeyService* keys, const std::string& kms_key) {
  try {
    required(keys).describe_key(kms_key);
  } catch (const crypto::KmsError& e) {
    key_refused(e, kms_key);
  }
}

BackupKey make_backup_key(crypto::KeyService* keys, const std::string& kms_key,
                          const std::array<uint8_t, 16>& backup_id) {
  crypto::KeyMetadata key = check_backup_key(keys, kms_key);
  try {
    crypto::DataKey made = keys->generate_data_key(key.arn, context_of(backup_id), 32);
    return BackupKey{data_key_of(made.plaintext), made.key_arn,
                     std::string(made.ciphertext_blob.begin(), made.ciphertext_blob.end())};
  } catch (const crypto::KmsError& e) {
    key_refused(e, kms_key);
  }
}

void check_restore_key(const format::BackupHeader& header, const std::string& kms_key,
                       const std::string& object_arn) {
  if (header.encryption == format::Encryption::kNone && !kms_key.empty()) {
    throw task_error("The backup " + object_arn +
                     " is not encrypted: restore it without @kms_master_key_arn.");
  }
}

format::DataKey RestoreKey::unwrap(const format::BackupHeader& header) const {
  if (kms_key_.empty()) {
    throw task_error("Key " + header.kms_key_arn + " does not exist: the backup " + object_arn_ +
                     " is encrypted with it; restore it with @kms_master_key_arn='" + header.kms_key_arn +
                     "'.");
  }
  try {
    crypto::KeyMetadata key = required(keys_).describe_key(kms_key_);
    if (key.arn != header.kms_key_arn) {
      throw task_error("Key " + kms_key_ + " does not exist: the backup " + object_arn_ +
                       " is encrypted with another key.");
    }
    return data_key_of(
        keys_->decrypt(bytes_of(header.wrapped_data_key), key.arn, context_of(header.backup_id)).plaintext);
  } catch (const crypto::KmsError& e) {
    if (e.code() == "InvalidCiphertextException" || e.code() == "IncorrectKeyException") {
      throw task_error("The data key of " + object_arn_ + " does not open under " + header.kms_key_arn +
                       ": the backup's header was changed.");
    }
    key_refused(e, kms_key_);
  }
}

format::DataKey OwnKey::unwrap(const format::BackupHeader& header) const {
  // Whatever stops the key from being unwrapped means the backup cannot be verified: the caller's FormatError
  // path.
  try {
    return data_key_of(
        required(keys_)
            .decrypt(bytes_of(header.wrapped_data_key), header.kms_key_arn, context_of(header.backup_id))
            .plaintext);
  } catch (const std::exception& e) {
    throw format::FormatError("its data key does not open under " + header.kms_key_arn + ": " + e.what());
  }
}

}  // namespace bakrest::backup
