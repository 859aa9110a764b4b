#include "crypto/secret.h"

#include <openssl/crypto.h>

namespace bakrest::crypto {

void wipe(std::span<uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

}  // namespace bakrest::crypto
