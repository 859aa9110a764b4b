#include "crypto/keyring.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace bakrest::crypto {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Keyring, SealedSecretsOpenOnlyWithTheirLabelAndKey) {
  testing::TempDir dir;
  std::vector<uint8_t> sealed;
  {
    Keyring keyring(dir.path() / "keyring");
    sealed = keyring.seal("access key AKID1", bytes("secret"));
    EXPECT_EQ(keyring.open("access key AKID1", sealed), bytes("secret"));
    EXPECT_THROW(keyring.open("access key AKID2", sealed), AuthenticationFailed);
    EXPECT_NE(keyring.seal("access key AKID1", bytes("secret")), sealed);  // a fresh nonce each time
    EXPECT_THROW(keyring.open("access key AKID1", std::span(sealed).first(10)), AuthenticationFailed);
  }
  // The same key next time; another directory has another.
  EXPECT_EQ(Keyring(dir.path() / "keyring").open("access key AKID1", sealed), bytes("secret"));
  EXPECT_THROW(Keyring(dir.path() / "other").open("access key AKID1", sealed), AuthenticationFailed);
}

}  // namespace
}  // namespace bakrest::crypto
