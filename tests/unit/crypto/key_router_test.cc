#include "crypto/key_router.h"

#include <gtest/gtest.h>

namespace bakrest::crypto {
namespace {

// A key service that says which it is and what it was asked.
class Named : public KeyService {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  KeyMetadata describe_key(std::string_view key) const override {
    KeyMetadata m;
    m.arn = name_ + ":" + std::string(key);
    return m;
  }
  DataKey generate_data_key(std::string_view key, const EncryptionContext&, size_t) override {
    return DataKey{{}, {}, name_ + ":" + std::string(key)};
  }
  Decrypted decrypt(std::span<const uint8_t>, std::optional<std::string_view> key,
                    const EncryptionContext&) override {
    return Decrypted{{}, name_ + ":" + std::string(key.value_or("-"))};
  }

 private:
  std::string name_;
};

TEST(KeyRouter, KeysOfTheAccountGoToItsService) {
  Named own("own"), aws("aws");
  KeyRouter router(own, aws, "111122223333");
  const std::string aws_key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const std::string aws_alias = "arn:aws:kms:eu-west-1:111122223333:alias/backups";
  const std::string own_key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_EQ(router.describe_key(aws_key).arn, "aws:" + aws_key);
  EXPECT_EQ(router.describe_key(aws_alias).arn, "aws:" + aws_alias);
  EXPECT_EQ(router.generate_data_key(aws_key, {}, 32).key_arn, "aws:" + aws_key);
  EXPECT_EQ(router.decrypt({}, std::string_view(aws_key), {}).key_arn, "aws:" + aws_key);
  // Everything else is the instance's: another account's ARN, a key ID, an alias name, a decrypt without a
  // key.
  EXPECT_EQ(router.describe_key(own_key).arn, "own:" + own_key);
  EXPECT_EQ(router.describe_key("1234abcd-12ab-34cd-56ef-1234567890ab").arn,
            "own:1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_EQ(router.describe_key("alias/backups").arn, "own:alias/backups");
  EXPECT_EQ(router.decrypt({}, std::nullopt, {}).key_arn, "own:-");
  // An account ID that only starts like it is another account.
  EXPECT_FALSE(router.of_account("arn:aws:kms:us-east-1:1111222233334:key/k"));
  EXPECT_FALSE(router.of_account("arn:aws:kms:us-east-1"));
  EXPECT_TRUE(router.of_account("arn:aws:kms::111122223333:key/k"));
}

}  // namespace
}  // namespace bakrest::crypto
