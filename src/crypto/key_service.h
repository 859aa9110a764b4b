// What a backup or restore task asks of a key service (KMS): a key's metadata, a fresh data key, and the
// unwrapping of a data key it wrapped, with KMS's identifiers and errors (crypto::KmsError). The instance's
// own KMS (crypto/local_kms.h) is one; iam::AuthorizedKms puts a task's role in front of it.
//
// Thread safety: implementations say; the instance's may be called from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "crypto/kms_types.h"

namespace bakrest::crypto {

class KeyService {
 public:
  virtual ~KeyService() = default;
  // key: a key ID, key ARN, alias name or alias ARN. Throws KmsError (NotFoundException, ...).
  virtual KeyMetadata describe_key(std::string_view key) const = 0;
  // A fresh data key of `bytes` bytes and its ciphertext blob, bound to context. Throws KmsError.
  virtual DataKey generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes) = 0;
  // The plaintext of a blob, which must be of `key` (if given) and context. Throws KmsError.
  virtual Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                            const EncryptionContext& context) = 0;
};

}  // namespace bakrest::crypto
