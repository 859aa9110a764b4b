#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

namespace bakrest::crypto {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

AeadKey key_of(uint8_t b) {
  AeadKey k;
  k.fill(b);
  return k;
}

TEST(Aead, NistGcmVector) {
  // The GCM specification's test case 13 (key and IV of zeros, empty plaintext): only the tag.
  AeadKey key{};
  AeadNonce nonce{};
  std::vector<uint8_t> sealed = seal(key, nonce, {}, {});
  ASSERT_EQ(sealed.size(), kAeadTagBytes);
  const uint8_t tag[] = {0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
                         0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
  EXPECT_TRUE(std::equal(sealed.begin(), sealed.end(), tag));
  // Test case 14: one zero block.
  std::vector<uint8_t> zeros(16, 0);
  sealed = seal(key, nonce, {}, zeros);
  const uint8_t ct[] = {0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5,
                        0xd3, 0xba, 0xf3, 0x9d, 0x18, 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99,
                        0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
  ASSERT_EQ(sealed.size(), sizeof ct);
  EXPECT_TRUE(std::equal(sealed.begin(), sealed.end(), ct));
  EXPECT_EQ(open(key, nonce, {}, sealed), zeros);
}

TEST(Aead, RoundTripAndEveryChangeIsCaught) {
  AeadKey key = random_key();
  AeadNonce nonce = random_nonce();
  auto aad = bytes("chunk 7 of backup 42");
  auto text = bytes("the pages of a database");
  std::vector<uint8_t> sealed = seal(key, nonce, aad, text);
  EXPECT_EQ(sealed.size(), text.size() + kAeadTagBytes);
  EXPECT_EQ(open(key, nonce, aad, sealed), text);
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_THROW(open(key, nonce, aad, flipped), AuthenticationFailed) << "byte " << i;
  }
  EXPECT_THROW(open(key_of(1), nonce, aad, sealed), AuthenticationFailed);
  AeadNonce other = nonce;
  other[0] ^= 1;
  EXPECT_THROW(open(key, other, aad, sealed), AuthenticationFailed);
  EXPECT_THROW(open(key, nonce, bytes("chunk 8 of backup 42"), sealed), AuthenticationFailed);
  EXPECT_THROW(open(key, nonce, aad, std::span(sealed).first(sealed.size() - 1)), AuthenticationFailed);
  EXPECT_THROW(open(key, nonce, aad, std::span(sealed).first(3)), AuthenticationFailed);
}

TEST(Aead, RandomBytesDiffer) {
  EXPECT_NE(random_key(), random_key());
  EXPECT_NE(random_nonce(), random_nonce());
}

}  // namespace
}  // namespace bakrest::crypto
