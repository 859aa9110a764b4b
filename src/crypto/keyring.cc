#include "crypto/keyring.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "common/durable_file.h"
#include "common/private_files.h"

namespace bakrest::crypto {

namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

AeadKey load_master_key(const std::filesystem::path& dir) {
  create_private_directories(dir);
  const std::filesystem::path file = dir / "master.key";
  AeadKey key;
  if (!std::filesystem::exists(file)) {
    key = random_key();
    replace_file_durably(file, key);
    return key;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the keyring's master key " + file.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != key.size())
    throw std::runtime_error("the keyring's master key " + file.string() + " is not " +
                             std::to_string(key.size()) + " bytes; the keyring cannot be opened");
  std::memcpy(key.data(), bytes.data(), key.size());
  return key;
}

}  // namespace

Keyring::Keyring(const std::filesystem::path& dir) : dir_(dir), master_(load_master_key(dir)) {}

std::vector<uint8_t> Keyring::seal(std::string_view label, std::span<const uint8_t> secret) const {
  AeadNonce nonce = random_nonce();
  std::vector<uint8_t> out(nonce.begin(), nonce.end());
  std::vector<uint8_t> sealed = crypto::seal(master_, nonce, bytes_of(label), secret);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

std::vector<uint8_t> Keyring::open(std::string_view label, std::span<const uint8_t> sealed) const {
  if (sealed.size() < kAeadNonceBytes + kAeadTagBytes) throw AuthenticationFailed();
  AeadNonce nonce;
  std::copy_n(sealed.begin(), nonce.size(), nonce.begin());
  return crypto::open(master_, nonce, bytes_of(label), sealed.subspan(kAeadNonceBytes));
}

}  // namespace bakrest::crypto
