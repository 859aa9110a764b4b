// A key service over two: keys of one AWS account (the [aws] account's, docs/OPERATIONS.md "Roles and keys on
// AWS") go to the service that keeps them (AWS KMS), every other key to the instance's own. A key is the
// account's when it is written as an ARN of it (arn:aws:kms:<region>:<account>:key/... or :alias/...); a
// bare key ID or alias name is the instance's. A decrypt without a key goes to the instance's.
//
// Thread safety: as the two services.
#pragma once

#include <string>
#include <string_view>

#include "crypto/key_service.h"

namespace bakrest::crypto {

class KeyRouter : public KeyService {
 public:
  KeyRouter(KeyService& own, KeyService& account_keys, std::string account)
      : own_(own), account_keys_(account_keys), account_(std::move(account)) {}

  KeyMetadata describe_key(std::string_view key) const override { return route(key).describe_key(key); }
  DataKey generate_data_key(std::string_view key, const EncryptionContext& context, size_t bytes) override {
    return route(key).generate_data_key(key, context, bytes);
  }
  Decrypted decrypt(std::span<const uint8_t> blob, std::optional<std::string_view> key,
                    const EncryptionContext& context) override {
    return (key ? route(*key) : own_).decrypt(blob, key, context);
  }

  // Whether key is written as a key or alias ARN of the account.
  bool of_account(std::string_view key) const;

 private:
  KeyService& route(std::string_view key) const { return of_account(key) ? account_keys_ : own_; }

  KeyService& own_;
  KeyService& account_keys_;
  std::string account_;
};

}  // namespace bakrest::crypto
