#include "control/kms_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "temp_dir.h"

namespace bakrest::control {
namespace {

using nlohmann::json;

class KmsApiTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  crypto::Keyring keyring{dir.path() / "keyring"};
  crypto::LocalKms kms{keyring, "us-east-1", "123456789012"};
  KmsApi api{kms, "123456789012", [] { return int64_t{1796600000}; }};

  json call(std::string_view operation, const json& body, int status = 200) {
    ApiReply reply = api.handle(operation, body.dump());
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(reply.content_type, "application/x-amz-json-1.1");
    return json::parse(reply.body);
  }
};

TEST_F(KmsApiTest, KeysAndDataKeysInKmsForm) {
  json key = call("CreateKey", {{"Description", "backups"}})["KeyMetadata"];
  EXPECT_EQ(key["KeyState"], "Enabled");
  EXPECT_EQ(key["AWSAccountId"], "123456789012");
  EXPECT_EQ(key["CreationDate"], 1796600000);
  json data = call("GenerateDataKey", {{"KeyId", key["Arn"]}, {"KeySpec", "AES_256"}});
  EXPECT_EQ(data["KeyId"], key["Arn"]);
  json back = call("Decrypt", {{"CiphertextBlob", data["CiphertextBlob"]}});
  EXPECT_EQ(back["Plaintext"], data["Plaintext"]);
}

TEST_F(KmsApiTest, RefusalsAreKmsErrors) {
  EXPECT_EQ(call("DescribeKey", {{"KeyId", "alias/none"}}, 400)["__type"], "NotFoundException");
  EXPECT_EQ(call("DescribeKey", json::object(), 400)["__type"], "ValidationException");
  json tags = call("CreateKey", {{"Tags", json::array()}}, 400);
  EXPECT_EQ(tags["__type"], "ValidationException");
  EXPECT_NE(tags["message"].get<std::string>().find("Tags"), std::string::npos);
  EXPECT_EQ(call("GenerateDataKey",
                 {{"KeyId", "alias/aws/rds"}, {"KeySpec", "AES_256"}, {"NumberOfBytes", 32}}, 400)["__type"],
            "ValidationException");
  EXPECT_EQ(call("Decrypt", {{"CiphertextBlob", "not base64!"}}, 400)["__type"], "SerializationException");
  ApiReply not_json = api.handle("ListKeys", "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(json::parse(not_json.body)["__type"], "SerializationException");
  // An operation name that is not UTF-8 (found by kms_api_fuzz): still a JSON error.
  ApiReply odd = api.handle("Create\xff\xbfKey", "{}");
  EXPECT_EQ(odd.status, 400);
  EXPECT_EQ(json::parse(odd.body)["__type"], "UnknownOperationException");
}

}  // namespace
}  // namespace bakrest::control
