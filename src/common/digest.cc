#include "common/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace bakrest {

void Digester::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Digester::Digester(const evp_md_st* algorithm) : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), algorithm, nullptr) != 1) {
    throw std::runtime_error("OpenSSL could not start a digest");
  }
}

void Digester::update(std::span<const uint8_t> bytes) {
  if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("OpenSSL digest update failed");
  }
}

void Digester::finish_into(std::span<uint8_t> out) {
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), out.data(), &length) != 1 || length != out.size()) {
    throw std::runtime_error("OpenSSL digest final failed");
  }
}

Sha256::Sha256() : Digester(EVP_sha256()) {}

Sha256::Digest Sha256::finish() {
  Digest digest{};
  finish_into(digest);
  return digest;
}

Md5::Md5() : Digester(EVP_md5()) {}

Md5::Digest Md5::finish() {
  Digest digest{};
  finish_into(digest);
  return digest;
}

Sha256::Digest sha256(std::span<const uint8_t> bytes) {
  Sha256 sha;
  sha.update(bytes);
  return sha.finish();
}

Sha256::Digest hmac_sha256(std::span<const uint8_t> key, std::string_view message) {
  Sha256::Digest out{};
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &length) ||
      length != out.size()) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    text += kDigits[b >> 4];
    text += kDigits[b & 15];
  }
  return text;
}

std::string to_base64(std::span<const uint8_t> bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(n));
  return text;
}

std::optional<std::vector<uint8_t>> from_base64(std::string_view text) {
  // EVP_DecodeBlock skips white space and takes '=' anywhere; RFC 4648 text has neither, so check first.
  if (text.size() % 4 != 0 || text.size() > (size_t{1} << 30)) return std::nullopt;
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool alphabet =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=')) {
      ++padding;
    } else if (!alphabet || padding > 0) {
      return std::nullopt;
    }
  }
  std::vector<uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  out.resize(static_cast<size_t>(n) - padding);
  // The bits of the last character that no byte uses must be zero ("Zm9=" is not "Zm8="): one text per value.
  if (to_base64(out) != text) return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bakrest
