#include "crypto/kms_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "support/recorded_service.h"

namespace bakrest::crypto {
namespace {

using nlohmann::json;

constexpr const char* kKeyArn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

// Replies as AWS KMS does, in the bodies of the AWS KMS API Reference's examples (DescribeKey,
// GenerateDataKey, Decrypt and an error), and keeps what it was sent, each request's signature checked with
// the secret the client signs with.
class RecordedKms : public testing::RecordedService {
 public:
  RecordedKms()
      : RecordedService(
            "kms", "us-west-2", {{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}},
            R"({"__type":"InvalidSignatureException","message":"the signature does not verify"})") {
    content_type = "application/x-amz-json-1.1";
  }
  KmsClient client() {
    return KmsClient({url(), "us-west-2",
                      storage::fixed_credentials(
                          {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, "the test")});
  }
  std::string target(size_t i) { return received.at(i).headers["x-amz-target"]; }
  json body(size_t i) { return json::parse(received.at(i).body); }
  std::string last_target() { return target(received.size() - 1); }
  json last_body() { return body(received.size() - 1); }
};

std::string code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const KmsError& e) {
    return e.code() + ": " + e.what();
  }
  return "(no error)";
}

TEST(KmsClient, DescribeKey) {
  RecordedKms kms;
  kms.reply = R"({"KeyMetadata": {"AWSAccountId": "111122223333",
    "Arn": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "CreationDate": 1.499288695918E9, "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "Description": "",
    "Enabled": true, "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT",
    "KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT", "MultiRegion": false, "Origin": "AWS_KMS"}})";
  KmsClient client = kms.client();
  KeyMetadata key = client.describe_key("alias/ExampleAlias");
  EXPECT_EQ(key.arn, kKeyArn);
  EXPECT_EQ(key.key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_TRUE(key.symmetric());
  EXPECT_EQ(key.key_manager, "CUSTOMER");
  EXPECT_EQ(key.state, KeyState::kEnabled);
  ASSERT_EQ(kms.received.size(), 1u);
  EXPECT_EQ(kms.target(0), "TrentService.DescribeKey");
  EXPECT_EQ(kms.received[0].headers["content-type"], "application/x-amz-json-1.1");
  EXPECT_EQ(kms.body(0), (json{{"KeyId", "alias/ExampleAlias"}}));

  // An AWS managed, disabled or asymmetric key reads as such.
  kms.reply =
      R"({"KeyMetadata": {"Arn": "arn:aws:kms:us-west-2:111122223333:key/0987dcba", "KeyId": "0987dcba",
    "KeyManager": "AWS", "KeySpec": "RSA_2048", "KeyState": "Disabled", "KeyUsage": "ENCRYPT_DECRYPT"}})";
  key = client.describe_key("0987dcba");
  EXPECT_EQ(key.key_manager, "AWS");
  EXPECT_FALSE(key.symmetric());
  EXPECT_EQ(key.state, KeyState::kDisabled);
}

TEST(KmsClient, GenerateDataKeyAndDecrypt) {
  RecordedKms kms;
  kms.reply =
      R"({"CiphertextBlob": "AQEDAHjRYf5WytIc0C857tFSnBaPn2F8DgfmThrOhOpKbDlUlwAAAH4wfAYJKoZIhvcNAQcGoG8wbQIBADBoBgkqhkiG9w0BBwEwHgYJYIZIAWUDBAEuMBEEDM7ZWW/eT7drRa35XAIBEIA7gHxLBzFI2uVE6w4wxaVbGYjN3PL/NPPs0i2s9XCDJAc6IhiyoiJnWhNH1jvGsF/M4gUIQP7GEAjNa5Q=",
    "KeyId": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "Plaintext": "VdzKNHGzUAzJeRBVY+uUmofUGGiDzyB3+i9fVkh3piw="})";
  KmsClient client = kms.client();
  DataKey made = client.generate_data_key(kKeyArn, {{"bakrest:backup-id", "00ff"}}, 32);
  EXPECT_EQ(made.key_arn, kKeyArn);
  EXPECT_EQ(made.plaintext.size(), 32u);
  EXPECT_EQ(to_base64(made.plaintext), "VdzKNHGzUAzJeRBVY+uUmofUGGiDzyB3+i9fVkh3piw=");
  EXPECT_EQ(kms.last_target(), "TrentService.GenerateDataKey");
  EXPECT_EQ(kms.last_body(), (json{{"KeyId", kKeyArn},
                                   {"NumberOfBytes", 32},
                                   {"EncryptionContext", {{"bakrest:backup-id", "00ff"}}}}));

  kms.reply = R"({"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
    "KeyId": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "Plaintext": "VdzKNHGzUAzJeRBVY+uUmofUGGiDzyB3+i9fVkh3piw="})";
  Decrypted opened =
      client.decrypt(made.ciphertext_blob, std::string_view(kKeyArn), {{"bakrest:backup-id", "00ff"}});
  EXPECT_EQ(opened.plaintext, made.plaintext);
  EXPECT_EQ(opened.key_arn, kKeyArn);
  EXPECT_EQ(kms.last_target(), "TrentService.Decrypt");
  EXPECT_EQ(kms.last_body()["CiphertextBlob"], to_base64(made.ciphertext_blob));
  EXPECT_EQ(kms.last_body()["KeyId"], kKeyArn);

  // The same call twice in one second is two requests, each signed anew (the control endpoint refuses a
  // replayed signature; RecordedKms checks them as it does).
  EXPECT_NO_THROW(
      client.decrypt(made.ciphertext_blob, std::string_view(kKeyArn), {{"bakrest:backup-id", "00ff"}}));
  EXPECT_NO_THROW(
      client.decrypt(made.ciphertext_blob, std::string_view(kKeyArn), {{"bakrest:backup-id", "00ff"}}));
}

TEST(KmsClient, ErrorsAsKmsWordsThem) {
  RecordedKms kms;
  KmsClient client = kms.client();
  kms.status = 400;
  kms.reply =
      R"({"__type": "NotFoundException", "message": "Key 'arn:aws:kms:us-west-2:111122223333:key/nope' does not exist"})";
  EXPECT_EQ(code_of([&] { client.describe_key("arn:aws:kms:us-west-2:111122223333:key/nope"); }),
            "NotFoundException: Key 'arn:aws:kms:us-west-2:111122223333:key/nope' does not exist");
  kms.reply =
      R"({"__type": "com.amazonaws.kms#DisabledException", "Message": "arn:aws:kms:us-west-2:111122223333:key/x is disabled."})";
  EXPECT_EQ(code_of([&] { client.generate_data_key("x", {}, 32); }),
            "DisabledException: arn:aws:kms:us-west-2:111122223333:key/x is disabled.");
  kms.status = 500;
  kms.reply = "not json";
  EXPECT_EQ(code_of([&] { client.describe_key("x"); }), "KMSInternalException: not json");
  // A reply that is not KMS's shape.
  kms.status = 200;
  kms.reply = R"({"Plaintext": "not base64!", "KeyId": "k", "CiphertextBlob": ""})";
  EXPECT_EQ(code_of([&] { client.generate_data_key("x", {}, 32); }),
            "KMSInternalException: the KMS replied with a Plaintext that is not base64");
  // Nobody listening.
  KmsClient nowhere({"http://127.0.0.1:9", "us-west-2",
                     storage::fixed_credentials({"AKIDEXAMPLE", "secret", ""}, "the test")});
  EXPECT_NE(
      code_of([&] { nowhere.describe_key("x"); }).find("the KMS at http://127.0.0.1:9 could not be reached"),
      std::string::npos);
  EXPECT_THROW(KmsClient({"ftp://host", "us-west-2", storage::fixed_credentials({}, "the test")}),
               std::invalid_argument);
  EXPECT_THROW(KmsClient({"http://host", "us-west-2", nullptr}), std::invalid_argument);
}

}  // namespace
}  // namespace bakrest::crypto
