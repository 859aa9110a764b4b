#include "common/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace bakrest {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(to_base64(bytes(plain)), encoded);
    EXPECT_EQ(from_base64(encoded), bytes(plain)) << encoded;
  }
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(from_base64(to_base64(all)), all);
}

TEST(ConstantTimeEqual, ComparesWholeSecrets) {
  EXPECT_TRUE(constant_time_equal("token", "token"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("token", "tokex"));
  EXPECT_FALSE(constant_time_equal("token", "token2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
}

TEST(Base64, AnythingElseIsRefused) {
  for (const char* bad :
       {"Zg=", "Zg", "Z===", "Zg=a", "Z=g=", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v",
        "====", "Zm9v====", "Zm9=", "Zh==", "ion="})  // the last three: bits that no byte uses are set
    EXPECT_EQ(from_base64(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace bakrest
