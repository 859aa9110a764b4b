// The instance's sealing key: keyring/master.key in the data directory, 32 random bytes made at first use
// (mode 0600). It seals the secrets the instance keeps at rest (the local KMS's key material, the access keys
// it issues) with AES-256-GCM, each under a random nonce and bound to a label that says what it is, so that
// one sealed secret cannot be passed off as another.
//
// The master key beside what it seals protects a copy of a database file taken alone, not a copy of the
// whole data directory (docs/OPERATIONS.md, "Keys").
//
// Thread safety: immutable once made; seal() and open() may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/aead.h"

namespace bakrest::crypto {

class Keyring {
 public:
  // Reads dir/master.key, making dir (0700) and the key first if there is none. Throws std::runtime_error if
  // the key file cannot be read or is not 32 bytes.
  explicit Keyring(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }

  // The nonce, then the ciphertext and tag.
  std::vector<uint8_t> seal(std::string_view label, std::span<const uint8_t> secret) const;
  // Throws AuthenticationFailed if sealed is not what seal(label, ...) made with this key.
  std::vector<uint8_t> open(std::string_view label, std::span<const uint8_t> sealed) const;

 private:
  std::filesystem::path dir_;
  AeadKey master_;
};

}  // namespace bakrest::crypto
