// AES-256-GCM (OpenSSL's EVP interface): authenticated encryption for the keyring's sealed key material, the
// local KMS's ciphertext blobs and encrypted backups' chunks (docs/FORMAT.md, "Encryption"). A 96-bit nonce,
// a 128-bit tag appended to the ciphertext, and associated data that is authenticated but not encrypted.
//
// A nonce must never repeat under one key: callers either draw it at random (random_nonce(), safe for up to
// 2^32 seals under one key) or build it from a counter that cannot repeat. Pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

namespace bakrest::crypto {

inline constexpr size_t kAeadKeyBytes = 32;
inline constexpr size_t kAeadNonceBytes = 12;
inline constexpr size_t kAeadTagBytes = 16;

using AeadKey = std::array<uint8_t, kAeadKeyBytes>;
using AeadNonce = std::array<uint8_t, kAeadNonceBytes>;

// The ciphertext or its tag was changed, or the key, nonce or associated data is not the one it was sealed
// with: AES-GCM cannot tell which.
class AuthenticationFailed : public std::runtime_error {
 public:
  AuthenticationFailed()
      : std::runtime_error("the data does not authenticate (wrong key, or it was changed)") {}
};

// plaintext encrypted, followed by the 16-byte tag. Throws std::runtime_error only if OpenSSL fails.
std::vector<uint8_t> seal(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                          std::span<const uint8_t> plaintext);

// The plaintext of what seal() made; throws AuthenticationFailed if it does not authenticate (including a
// sealed text shorter than a tag).
std::vector<uint8_t> open(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                          std::span<const uint8_t> sealed);

// The same into a buffer the caller gives (no allocation), which may be the input itself (in place): out must
// hold the text and, for seal_into, its tag. Return the bytes written. std::invalid_argument if out is short.
size_t seal_into(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                 std::span<const uint8_t> plaintext, std::span<uint8_t> out);
size_t open_into(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                 std::span<const uint8_t> sealed, std::span<uint8_t> out);
// Bytes from OpenSSL's CSPRNG; throws std::runtime_error if it cannot give them.
void random_bytes(std::span<uint8_t> out);
AeadKey random_key();
AeadNonce random_nonce();

}  // namespace bakrest::crypto
