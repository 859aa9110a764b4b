#include "crypto/local_kms.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "temp_dir.h"

namespace bakrest::crypto {
namespace {

constexpr const char* kRegion = "us-east-1";
constexpr const char* kAccount = "123456789012";
constexpr int64_t kNow = 1796600000;

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const KmsError& e) {
    return e.code();
  }
  return "(accepted)";
}

class LocalKmsTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::unique_ptr<Keyring> keyring = std::make_unique<Keyring>(dir.path() / "keyring");
  std::unique_ptr<LocalKms> kms = std::make_unique<LocalKms>(*keyring, kRegion, kAccount);
  KeyMetadata symmetric(std::string_view description = "backups") {
    return kms->create_key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", description, std::nullopt, kNow);
  }
};

TEST_F(LocalKmsTest, CreateDescribeAndListKeys) {
  KeyMetadata k = symmetric();
  EXPECT_EQ(k.key_id.size(), 36u);
  EXPECT_EQ(k.arn, "arn:aws:kms:us-east-1:123456789012:key/" + k.key_id);
  EXPECT_EQ(k.state, KeyState::kEnabled);
  EXPECT_EQ(k.key_manager, "CUSTOMER");
  EXPECT_EQ(k.creation_date, kNow);
  EXPECT_EQ(kms->describe_key(k.key_id).arn, k.arn);
  EXPECT_EQ(kms->describe_key(k.arn).key_id, k.key_id);
  // The AWS managed key for RDS is there from the start.
  KeyMetadata rds = kms->describe_key("alias/aws/rds");
  EXPECT_EQ(rds.key_manager, "AWS");
  EXPECT_EQ(kms->describe_key("arn:aws:kms:us-east-1:123456789012:alias/aws/rds").key_id, rds.key_id);
  EXPECT_EQ(kms->list_keys().size(), 2u);
  EXPECT_EQ(code_of([&] { kms->describe_key("1234abcd-12ab-34cd-56ef-1234567890ab"); }), "NotFoundException");
  EXPECT_EQ(code_of([&] { kms->describe_key("arn:aws:kms:eu-west-1:123456789012:key/" + k.key_id); }),
            "NotFoundException");
  EXPECT_EQ(code_of([&] { kms->describe_key("alias/none"); }), "NotFoundException");
}

TEST_F(LocalKmsTest, KeysSurviveReopeningAndTheFilesArePrivate) {
  KeyMetadata k = symmetric();
  auto blob = kms->encrypt(k.key_id, bytes("secret"), {});
  kms.reset();
  keyring = std::make_unique<Keyring>(dir.path() / "keyring");
  kms = std::make_unique<LocalKms>(*keyring, kRegion, kAccount);
  EXPECT_EQ(kms->decrypt(blob, std::nullopt, {}).plaintext, bytes("secret"));
  EXPECT_EQ(kms->list_keys().size(), 2u);  // alias/aws/rds is made once
  for (const char* name : {"master.key", "kms.db"}) {
    struct stat st;
    ASSERT_EQ(::stat((dir.path() / "keyring" / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u) << name;
  }
  // Without its master key, the keyring cannot be used.
  std::filesystem::resize_file(dir.path() / "keyring" / "master.key", 5);
  EXPECT_THROW(Keyring(dir.path() / "keyring"), std::runtime_error);
}

TEST_F(LocalKmsTest, EncryptDecryptWithContext) {
  KeyMetadata k = symmetric();
  EncryptionContext context{{"backup", "b-1"}, {"database", "sales"}};
  auto blob = kms->encrypt(k.arn, bytes("data key"), context);
  Decrypted d = kms->decrypt(blob, std::nullopt, context);
  EXPECT_EQ(d.plaintext, bytes("data key"));
  EXPECT_EQ(d.key_arn, k.arn);
  EXPECT_EQ(kms->decrypt(blob, k.key_id, context).plaintext, bytes("data key"));
  EXPECT_EQ(code_of([&] { kms->decrypt(blob, std::nullopt, {}); }), "InvalidCiphertextException");
  EXPECT_EQ(code_of([&] {
              kms->decrypt(blob, std::nullopt, {{"backup", "b-2"}, {"database", "sales"}});
            }),
            "InvalidCiphertextException");
  auto flipped = blob;
  flipped.back() ^= 1;
  EXPECT_EQ(code_of([&] { kms->decrypt(flipped, std::nullopt, context); }), "InvalidCiphertextException");
  EXPECT_EQ(code_of([&] { kms->decrypt(bytes("not a blob at all, not at all."), std::nullopt, {}); }),
            "InvalidCiphertextException");
  KeyMetadata other = symmetric("other");
  EXPECT_EQ(code_of([&] { kms->decrypt(blob, other.key_id, context); }), "IncorrectKeyException");
  EXPECT_EQ(code_of([&] { kms->encrypt(k.key_id, {}, {}); }), "ValidationException");
  EXPECT_EQ(code_of([&] { kms->encrypt(k.key_id, std::vector<uint8_t>(4097, 1), {}); }),
            "ValidationException");
}

TEST_F(LocalKmsTest, DataKeysAndAliases) {
  KeyMetadata k = symmetric();
  kms->create_alias("alias/backups", k.key_id);
  EXPECT_EQ(code_of([&] { kms->create_alias("alias/backups", k.key_id); }), "AlreadyExistsException");
  EXPECT_EQ(code_of([&] { kms->create_alias("backups", k.key_id); }), "ValidationException");
  EXPECT_EQ(code_of([&] { kms->create_alias("alias/aws/mine", k.key_id); }), "NotAuthorizedException");
  DataKey dk = kms->generate_data_key("alias/backups", {{"backup", "b-1"}});
  EXPECT_EQ(dk.key_arn, k.arn);
  Decrypted d = kms->decrypt(dk.ciphertext_blob, std::nullopt, {{"backup", "b-1"}});
  EXPECT_TRUE(std::equal(d.plaintext.begin(), d.plaintext.end(), dk.plaintext.begin()));
  EXPECT_NE(kms->generate_data_key(k.arn, {}).plaintext, dk.plaintext);
  auto aliases = kms->list_aliases();
  ASSERT_EQ(aliases.size(), 2u);
  EXPECT_EQ(aliases[0].name, "alias/aws/rds");
  EXPECT_EQ(aliases[1].name, "alias/backups");
  EXPECT_EQ(aliases[1].arn, "arn:aws:kms:us-east-1:123456789012:alias/backups");
  EXPECT_EQ(kms->list_aliases(k.arn).size(), 1u);
  kms->delete_alias("alias/backups");
  EXPECT_EQ(code_of([&] { kms->describe_key("alias/backups"); }), "NotFoundException");
  EXPECT_EQ(code_of([&] { kms->delete_alias("alias/backups"); }), "NotFoundException");
}

TEST_F(LocalKmsTest, DisabledAndPendingDeletionKeysDoNotWork) {
  KeyMetadata k = symmetric();
  auto blob = kms->encrypt(k.key_id, bytes("x"), {});
  kms->disable_key(k.key_id);
  EXPECT_EQ(kms->describe_key(k.key_id).state, KeyState::kDisabled);
  EXPECT_EQ(code_of([&] { kms->generate_data_key(k.key_id, {}); }), "DisabledException");
  EXPECT_EQ(code_of([&] { kms->decrypt(blob, std::nullopt, {}); }), "DisabledException");
  kms->enable_key(k.key_id);
  EXPECT_EQ(kms->decrypt(blob, std::nullopt, {}).plaintext, bytes("x"));
  EXPECT_EQ(code_of([&] { kms->schedule_key_deletion(k.key_id, 6, kNow); }), "ValidationException");
  EXPECT_EQ(kms->schedule_key_deletion(k.key_id, 7, kNow), kNow + 7 * 86400);
  EXPECT_EQ(kms->describe_key(k.key_id).state, KeyState::kPendingDeletion);
  EXPECT_EQ(code_of([&] { kms->decrypt(blob, std::nullopt, {}); }), "KMSInvalidStateException");
  EXPECT_EQ(code_of([&] { kms->enable_key(k.key_id); }), "KMSInvalidStateException");
  // The AWS managed key cannot be changed.
  EXPECT_EQ(code_of([&] { kms->disable_key("alias/aws/rds"); }), "UnsupportedOperationException");
}

TEST_F(LocalKmsTest, AsymmetricKeysExistButDoNotEncrypt) {
  KeyMetadata rsa = kms->create_key("RSA_2048", "ENCRYPT_DECRYPT", "rsa", std::nullopt, kNow);
  EXPECT_EQ(rsa.key_spec, "RSA_2048");
  EXPECT_FALSE(rsa.symmetric());
  EXPECT_EQ(code_of([&] { kms->generate_data_key(rsa.key_id, {}); }), "InvalidKeyUsageException");
  KeyMetadata ec = kms->create_key("ECC_NIST_P256", "SIGN_VERIFY", "ec", std::nullopt, kNow);
  EXPECT_EQ(ec.key_usage, "SIGN_VERIFY");
  EXPECT_EQ(code_of([&] { kms->create_key("ECC_NIST_P256", "ENCRYPT_DECRYPT", "", std::nullopt, kNow); }),
            "ValidationException");
  EXPECT_EQ(code_of([&] { kms->create_key("AES_512", "ENCRYPT_DECRYPT", "", std::nullopt, kNow); }),
            "ValidationException");
  EXPECT_EQ(code_of([&] { kms->create_key("HMAC_256", "GENERATE_VERIFY_MAC", "", std::nullopt, kNow); }),
            "UnsupportedOperationException");
}

TEST_F(LocalKmsTest, KeyPolicies) {
  KeyMetadata k = symmetric();
  EXPECT_NE(kms->get_key_policy(k.key_id).find("arn:aws:iam::123456789012:root"), std::string::npos);
  const std::string policy = R"({"Version": "2012-10-17", "Statement": [{"Sid": "Use by the backup role",
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/rds-backup"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]})";
  kms->put_key_policy(k.key_id, policy);
  EXPECT_EQ(kms->get_key_policy(k.arn), policy);
  EXPECT_EQ(code_of([&] { kms->put_key_policy(k.key_id, R"({"Statement": {"Effect": "Allow"}})"); }),
            "MalformedPolicyDocumentException");
  EXPECT_EQ(
      code_of([&] { kms->create_key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "", std::string("{"), kNow); }),
      "MalformedPolicyDocumentException");
}

}  // namespace
}  // namespace bakrest::crypto
