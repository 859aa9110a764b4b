// Key material that is wiped when it goes: data keys, the plaintext of a KMS reply. Memory freed with a key
// still in it can be handed to the next allocation, written to swap or to a core dump; these types overwrite
// their bytes (OPENSSL_cleanse, which the compiler may not optimise away) in their destructors. A moved-from
// SecretBytes is empty, so a move leaves nothing behind; every copy wipes itself.
//
// Thread safety: as std::vector and std::array.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bakrest::crypto {

// Overwrites bytes with zeros in a way the compiler keeps.
void wipe(std::span<uint8_t> bytes);

class SecretBytes : public std::vector<uint8_t> {
 public:
  using std::vector<uint8_t>::vector;
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = default;
  SecretBytes(SecretBytes&&) = default;
  SecretBytes& operator=(const SecretBytes&) = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    wipe(*this);
    std::vector<uint8_t>::operator=(std::move(other));
    return *this;
  }
  ~SecretBytes() { wipe(*this); }
};

template <size_t N>
class SecretArray : public std::array<uint8_t, N> {
 public:
  SecretArray() : std::array<uint8_t, N>{} {}
  SecretArray(const SecretArray&) = default;
  SecretArray& operator=(const SecretArray&) = default;
  ~SecretArray() { wipe(*this); }
};

}  // namespace bakrest::crypto
