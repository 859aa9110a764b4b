#include "crypto/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <string>

namespace bakrest::crypto {

namespace {

struct FreeCipherContext {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, FreeCipherContext>;

[[noreturn]] void openssl_failed(const char* what) {
  throw std::runtime_error(std::string("AES-256-GCM: OpenSSL failed to ") + what);
}

CipherContext start(const AeadKey& key, const AeadNonce& nonce, bool encrypt) {
  CipherContext ctx(EVP_CIPHER_CTX_new());
  if (!ctx) openssl_failed("allocate a cipher context");
  // The default IV length of GCM in OpenSSL is 12 bytes, the nonce's.
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) !=
      1)
    openssl_failed("set the key");
  return ctx;
}

// OpenSSL takes lengths as int: feed larger spans in pieces.
template <typename Step>
void in_pieces(std::span<const uint8_t> bytes, Step step) {
  constexpr size_t kPiece = 1 << 30;
  for (size_t done = 0; done < bytes.size(); done += kPiece)
    step(bytes.subspan(done, std::min(kPiece, bytes.size() - done)));
}

// Encrypts or decrypts in into out (as long as in); returns the bytes written.
size_t update(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> in, uint8_t* out, const char* what) {
  size_t written = 0;
  in_pieces(in, [&](std::span<const uint8_t> piece) {
    int n = 0;
    if (EVP_CipherUpdate(ctx, out + written, &n, piece.data(), static_cast<int>(piece.size())) != 1)
      openssl_failed(what);
    written += static_cast<size_t>(n);
  });
  return written;
}

void add_associated(EVP_CIPHER_CTX* ctx, std::span<const uint8_t> associated) {
  in_pieces(associated, [&](std::span<const uint8_t> piece) {
    int unused = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &unused, piece.data(), static_cast<int>(piece.size())) != 1)
      openssl_failed("take the associated data");
  });
}

}  // namespace

size_t seal_into(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                 std::span<const uint8_t> plaintext, std::span<uint8_t> out) {
  if (out.size() < plaintext.size() + kAeadTagBytes)
    throw std::invalid_argument("AES-256-GCM: the output is shorter than the text and its tag");
  CipherContext ctx = start(key, nonce, true);
  add_associated(ctx.get(), associated);
  const size_t written = update(ctx.get(), plaintext, out.data(), "encrypt");
  // GCM gives nothing at the end; a scratch buffer keeps an empty text's null pointer away from OpenSSL.
  uint8_t final_block[16];
  int n = 0;
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &n) != 1 || n != 0) openssl_failed("finish encrypting");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAeadTagBytes, out.data() + written) != 1)
    openssl_failed("give the tag");
  return written + kAeadTagBytes;
}

size_t open_into(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                 std::span<const uint8_t> sealed, std::span<uint8_t> out) {
  if (sealed.size() < kAeadTagBytes) throw AuthenticationFailed();
  std::span<const uint8_t> ciphertext = sealed.first(sealed.size() - kAeadTagBytes);
  if (out.size() < ciphertext.size())
    throw std::invalid_argument("AES-256-GCM: the output is shorter than the text");
  // Taken first: out may be where sealed is.
  std::array<uint8_t, kAeadTagBytes> tag;
  std::copy(sealed.end() - kAeadTagBytes, sealed.end(), tag.begin());
  CipherContext ctx = start(key, nonce, false);
  add_associated(ctx.get(), associated);
  const size_t written = update(ctx.get(), ciphertext, out.data(), "decrypt");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAeadTagBytes, tag.data()) != 1)
    openssl_failed("take the tag");
  uint8_t final_block[16];
  int n = 0;
  // Fails when the tag does not match: nothing of out may be used then.
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &n) != 1 || n != 0) throw AuthenticationFailed();
  return written;
}

std::vector<uint8_t> seal(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                          std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> out(plaintext.size() + kAeadTagBytes);
  out.resize(seal_into(key, nonce, associated, plaintext, out));
  return out;
}

std::vector<uint8_t> open(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> associated,
                          std::span<const uint8_t> sealed) {
  std::vector<uint8_t> out(sealed.size() >= kAeadTagBytes ? sealed.size() - kAeadTagBytes : 0);
  out.resize(open_into(key, nonce, associated, sealed, out));
  return out;
}

void random_bytes(std::span<uint8_t> out) {
  constexpr size_t kPiece = 1 << 30;
  for (size_t done = 0; done < out.size(); done += kPiece) {
    size_t n = std::min(kPiece, out.size() - done);
    if (RAND_bytes(out.data() + done, static_cast<int>(n)) != 1)
      throw std::runtime_error("OpenSSL's random number generator failed");
  }
}

AeadKey random_key() {
  AeadKey key;
  random_bytes(key);
  return key;
}

AeadNonce random_nonce() {
  AeadNonce nonce;
  random_bytes(nonce);
  return nonce;
}

}  // namespace bakrest::crypto
