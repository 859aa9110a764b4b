#include "storage/sts.h"

#include <gtest/gtest.h>

#include <ctime>

#include "control/query_protocol.h"
#include "support/recorded_service.h"

namespace bakrest::storage {
namespace {

constexpr const char* kCallerId = "AKIDEXAMPLE";
constexpr const char* kCallerSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kRoleArn = "arn:aws:iam::123456789012:role/demo";

// AssumeRole's reply as the AWS STS API Reference's example gives it (its values; the session token cut
// short), with the expiration in place.
std::string assume_role_reply(const std::string& expiration) {
  return R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
  <SourceIdentity>DevUser123</SourceIdentity>
  <AssumedRoleUser>
    <Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn>
    <AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId>
  </AssumedRoleUser>
  <Credentials>
    <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
    <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
    <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==</SessionToken>
    <Expiration>)" +
         expiration + R"(</Expiration>
  </Credentials>
  <PackedPolicySize>8</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>)";
}

std::string iso_in(std::chrono::seconds from_now) {
  std::time_t t = std::time(nullptr) + from_now.count();
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// STS, signatures checked for the caller's key.
class RecordedSts : public testing::RecordedService {
 public:
  RecordedSts()
      : RecordedService(
            "sts", "us-east-1", {{kCallerId, kCallerSecret}},
            R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
<Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message>
</Error><RequestId>x</RequestId></ErrorResponse>)",
            403) {}
  std::shared_ptr<StsClient> client(const std::string& secret = kCallerSecret) {
    return std::make_shared<StsClient>(url(), "us-east-1",
                                       fixed_credentials({kCallerId, secret, ""}, "the test"));
  }
};

TEST(Sts, ReadsTheDocumentedReply) {
  RoleCredentials got = parse_assume_role_reply(assume_role_reply("2019-11-09T13:34:41Z"));
  EXPECT_EQ(got.keys.access_key_id, "ASIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(got.keys.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_TRUE(got.keys.session_token.starts_with("AQoDYXdzEPT//////////wEXAMPLE"));
  EXPECT_EQ(got.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/demo/John");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(got.expiration), 1573306481);  // 2019-11-09T13:34:41Z

  // Anything less is not credentials.
  for (const char* broken :
       {"not xml", "<AssumeRoleResponse/>",
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
        "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>soon</Expiration></Credentials>"
        "</AssumeRoleResult></AssumeRoleResponse>"}) {
    try {
      parse_assume_role_reply(broken);
      ADD_FAILURE() << broken;
    } catch (const StorageError& e) {
      EXPECT_EQ(e.kind(), StorageError::Kind::kIo) << broken;
    }
  }
}

TEST(Sts, AssumeRoleSendsTheQueryForm) {
  RecordedSts sts;
  sts.reply = assume_role_reply(iso_in(std::chrono::hours(1)));
  RoleCredentials got = sts.client()->assume_role(kRoleArn, "bakrest-db1", 3600, {});
  EXPECT_EQ(got.keys.access_key_id, "ASIAIOSFODNN7EXAMPLE");
  ASSERT_EQ(sts.received.size(), 1u);
  EXPECT_EQ(sts.received[0].headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8");
  auto form = control::parse_form(sts.received[0].body);
  EXPECT_EQ(form, (std::map<std::string, std::string>{{"Action", "AssumeRole"},
                                                      {"Version", "2011-06-15"},
                                                      {"RoleArn", kRoleArn},
                                                      {"RoleSessionName", "bakrest-db1"},
                                                      {"DurationSeconds", "3600"}}));
  // Signed for sts in the region with the caller's long-term key: no session token.
  EXPECT_NE(sts.received[0].headers["authorization"].find("/us-east-1/sts/aws4_request"), std::string::npos);
  EXPECT_FALSE(sts.received[0].headers.contains("x-amz-security-token"));
}

TEST(Sts, RefusalsAreAccessDeniedWithStsWords) {
  RecordedSts sts;
  sts.status = 403;
  sts.reply = R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>
<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/demo</Message>
</Error><RequestId>r</RequestId></ErrorResponse>)";
  try {
    sts.client()->assume_role(kRoleArn, "s1", 3600, {});
    ADD_FAILURE();
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::kAccessDenied);
    EXPECT_NE(
        std::string(e.what()).find("AccessDenied: User: arn:aws:iam::123456789012:user/x is not authorized "
                                   "to perform: sts:AssumeRole"),
        std::string::npos)
        << e.what();
  }
  // A signature STS does not accept (the wrong secret) is refused too, and the secret is not in the message.
  sts.status = 200;
  try {
    sts.client("the-wrong-secret-0123456789")->assume_role(kRoleArn, "s1", 3600, {});
    ADD_FAILURE();
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::kAccessDenied);
    EXPECT_NE(std::string(e.what()).find("SignatureDoesNotMatch"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("the-wrong-secret"), std::string::npos);
  }
}

TEST(Sts, AssumedRoleKeepsKeysUntilNearExpiry) {
  RecordedSts sts;
  sts.reply = assume_role_reply(iso_in(std::chrono::hours(1)));
  AssumedRole role(sts.client(), kRoleArn, "bakrest-i1");
  EXPECT_EQ(sts.requests(), 0u);  // nothing asked before the keys are needed
  EXPECT_EQ(role.get({}).access_key_id, "ASIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(role.get({}).session_token.substr(0, 8), "AQoDYXdz");
  EXPECT_EQ(sts.requests(), 1u);  // kept

  // ExpiredToken from a store: assumed again at the next get().
  role.invalidate();
  sts.reply = assume_role_reply(iso_in(std::chrono::minutes(3)));
  role.get({});
  EXPECT_EQ(sts.requests(), 2u);
  // Keys within five minutes of their expiration are not used: assumed again.
  role.get({});
  EXPECT_EQ(sts.requests(), 3u);
  EXPECT_NE(role.source().find(kRoleArn), std::string::npos);
}

}  // namespace
}  // namespace bakrest::storage
