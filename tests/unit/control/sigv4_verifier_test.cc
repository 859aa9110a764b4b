#include "control/sigv4_verifier.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "storage/sigv4.h"

namespace bakrest::control {
namespace {

constexpr const char* kKeyId = "AKIDBAKRESTEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// Two requests Debian's aws CLI 2.9.19 sent (captured on loopback with the key above): `aws kms create-key
// --description backups` and `aws iam create-role --role-name rds-backup --assume-role-policy-document ...`.
SignedRequest recorded_kms() {
  SignedRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {
      {"Host", "127.0.0.1:42761"},
      {"Accept-Encoding", "identity"},
      {"X-Amz-Target", "TrentService.CreateKey"},
      {"Content-Type", "application/x-amz-json-1.1"},
      {"User-Agent",
       "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v1272 source/x86_64.debian.12 prompt/off "
       "command/kms.create-key"},
      {"X-Amz-Date", "20261207T005321Z"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
       "Signature=fca6b47add24ad734bf3443cfa9af05e900d2c9b16ae75af48211c7c1858805c"},
      {"Content-Length", "26"},
  };
  r.body = R"({"Description": "backups"})";
  return r;
}

SignedRequest recorded_iam() {
  SignedRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {
      {"Host", "127.0.0.1:42761"},
      {"Accept-Encoding", "identity"},
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
      {"User-Agent",
       "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v1272 source/x86_64.debian.12 prompt/off "
       "command/iam.create-role"},
      {"X-Amz-Date", "20261207T005322Z"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/iam/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date, "
       "Signature=242ce0d82ae58dcb996dd3fbb7edce87ed0be10a0df2ecac42ec44aaede7d2a6"},
      {"Content-Length", "285"},
  };
  r.body =
      "Action=CreateRole&Version=2010-05-08&RoleName=rds-backup&AssumeRolePolicyDocument=%7B%22Version%22%3A%"
      "222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%"
      "22Service%22%"
      "3A%22rds.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
  return r;
}

const int64_t kKmsTime = *parse_amz_date("20261207T005321Z");
const std::string kRegions[] = {"us-east-1"};

SigV4Verifier verifier(std::map<std::string, std::string> keys = {{kKeyId, kSecret}},
                       size_t remembered = 100) {
  return SigV4Verifier(
      [keys](std::string_view id) -> std::optional<std::string> {
        auto it = keys.find(std::string(id));
        if (it == keys.end()) return std::nullopt;
        return it->second;
      },
      15 * 60, remembered);
}

AuthFailure failure_of(SigV4Verifier& v, const SignedRequest& r, std::string_view service = "kms",
                       int64_t now = kKmsTime) {
  try {
    v.verify(r, service, kRegions, now);
  } catch (const AuthError& e) {
    return e.failure();
  }
  ADD_FAILURE() << "accepted";
  return AuthFailure::kMissing;
}

void set_header(SignedRequest& r, std::string_view name, std::string value) {
  for (auto& [n, v] : r.headers) {
    if (n == name) v = std::move(value);
  }
}

TEST(SigV4Verifier, RequestsTheAwsCliSignedAreAccepted) {
  auto v = verifier();
  Caller kms = v.verify(recorded_kms(), "kms", kRegions, kKmsTime);
  EXPECT_EQ(kms.access_key_id, kKeyId);
  EXPECT_EQ(kms.service, "kms");
  EXPECT_EQ(kms.region, "us-east-1");
  Caller iam = v.verify(recorded_iam(), "iam", kRegions, kKmsTime + 60);
  EXPECT_EQ(iam.service, "iam");
}

TEST(SigV4Verifier, AwsTestSuiteGetVanilla) {
  // get-vanilla of AWS's SigV4 test suite (service "service", 2015-08-30 12:36:00 UTC).
  SignedRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}};
  auto v = verifier({{"AKIDEXAMPLE", kSecret}});
  EXPECT_NO_THROW(v.verify(r, "service", kRegions, *parse_amz_date("20150830T123600Z")));
}

TEST(SigV4Verifier, AlteredRequestsAreRefused) {
  auto v = verifier();
  SignedRequest body = recorded_kms();
  body.body = R"({"Description": "backupz"})";
  EXPECT_EQ(failure_of(v, body), AuthFailure::kBadSignature);
  SignedRequest target = recorded_kms();
  set_header(target, "X-Amz-Target", "TrentService.ScheduleKeyDeletion");
  EXPECT_EQ(failure_of(v, target), AuthFailure::kBadSignature);
  SignedRequest query = recorded_kms();
  query.query = {{"extra", "1"}};
  EXPECT_EQ(failure_of(v, query), AuthFailure::kBadSignature);
  SignedRequest method = recorded_kms();
  method.method = "PUT";
  EXPECT_EQ(failure_of(v, method), AuthFailure::kBadSignature);
  // A header outside SignedHeaders may change (proxies add some).
  SignedRequest agent = recorded_kms();
  set_header(agent, "User-Agent", "something else");
  EXPECT_NO_THROW(v.verify(agent, "kms", kRegions, kKmsTime));
  // A body hash that is not the body's.
  SignedRequest hashed = recorded_iam();
  hashed.headers.emplace_back("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD");
  EXPECT_EQ(failure_of(v, hashed, "iam"), AuthFailure::kBadSignature);
}

TEST(SigV4Verifier, KeysThatAreWrongOrUnknown) {
  auto wrong = verifier({{kKeyId, "another secret"}});
  EXPECT_EQ(failure_of(wrong, recorded_kms()), AuthFailure::kBadSignature);
  auto unknown = verifier({{"AKIDSOMEONEELSE", kSecret}});
  EXPECT_EQ(failure_of(unknown, recorded_kms()), AuthFailure::kUnknownKey);
}

TEST(SigV4Verifier, ExpiredAndFutureRequestsAreRefused) {
  auto v = verifier();
  EXPECT_EQ(failure_of(v, recorded_kms(), "kms", kKmsTime + 15 * 60 + 1), AuthFailure::kExpired);
  EXPECT_EQ(failure_of(v, recorded_kms(), "kms", kKmsTime - 15 * 60 - 1), AuthFailure::kExpired);
  EXPECT_NO_THROW(v.verify(recorded_kms(), "kms", kRegions, kKmsTime + 15 * 60));
}

TEST(SigV4Verifier, ReplayedRequestsAreRefused) {
  auto v = verifier();
  EXPECT_NO_THROW(v.verify(recorded_kms(), "kms", kRegions, kKmsTime));
  EXPECT_EQ(failure_of(v, recorded_kms()), AuthFailure::kReplayed);
  EXPECT_EQ(failure_of(v, recorded_kms(), "kms", kKmsTime + 600), AuthFailure::kReplayed);
  // A refused request is not remembered: it was never taken.
  auto fresh = verifier();
  SignedRequest bad = recorded_kms();
  bad.body = "{}";
  EXPECT_EQ(failure_of(fresh, bad), AuthFailure::kBadSignature);
  EXPECT_NO_THROW(fresh.verify(recorded_kms(), "kms", kRegions, kKmsTime));
}

TEST(SigV4Verifier, TheMemoryOfSignaturesIsBounded) {
  auto v = verifier({{kKeyId, kSecret}}, 1);
  EXPECT_NO_THROW(v.verify(recorded_kms(), "kms", kRegions, kKmsTime));
  EXPECT_NO_THROW(v.verify(recorded_iam(), "iam", kRegions, kKmsTime));
  // Only the last one is remembered now; the first was forgotten to make room.
  EXPECT_EQ(failure_of(v, recorded_iam(), "iam"), AuthFailure::kReplayed);
  EXPECT_NO_THROW(v.verify(recorded_kms(), "kms", kRegions, kKmsTime));
}

TEST(SigV4Verifier, ScopeMustBeThisServiceAndRegion) {
  auto v = verifier();
  EXPECT_EQ(failure_of(v, recorded_kms(), "iam"), AuthFailure::kWrongScope);
  const std::string elsewhere[] = {"eu-west-1"};
  try {
    v.verify(recorded_kms(), "kms", elsewhere, kKmsTime);
    ADD_FAILURE();
  } catch (const AuthError& e) {
    EXPECT_EQ(e.failure(), AuthFailure::kWrongScope);
  }
  SignedRequest date = recorded_kms();
  set_header(date, "X-Amz-Date", "20261208T005321Z");
  EXPECT_EQ(failure_of(v, date, "kms", kKmsTime + 86400), AuthFailure::kWrongScope);
}

TEST(SigV4Verifier, MissingAndMalformedAuthorization) {
  auto v = verifier();
  SignedRequest none = recorded_kms();
  std::erase_if(none.headers, [](const auto& h) { return h.first == "Authorization"; });
  EXPECT_EQ(failure_of(v, none), AuthFailure::kMissing);
  SignedRequest basic = recorded_kms();
  set_header(basic, "Authorization", "Basic dXNlcjpwYXNz");
  EXPECT_EQ(failure_of(v, basic), AuthFailure::kMissing);
  for (const char* bad : {
           "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms, "
           "SignedHeaders=host;x-amz-date, "
           "Signature=fca6b47add24ad734bf3443cfa9af05e900d2c9b16ae75af48211c7c1858805c",
           "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms/aws4_request, "
           "SignedHeaders=x-amz-date;host, "
           "Signature=fca6b47add24ad734bf3443cfa9af05e900d2c9b16ae75af48211c7c1858805c",
           "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms/aws4_request, "
           "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=FCA6",
           "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms/aws4_request, "
           "SignedHeaders=content-type;x-amz-target, "
           "Signature=fca6b47add24ad734bf3443cfa9af05e900d2c9b16ae75af48211c7c1858805c",
           "AWS4-HMAC-SHA256 Credential=AKIDBAKRESTEXAMPLE/20261207/us-east-1/kms/aws4_request",
       }) {
    SignedRequest r = recorded_kms();
    set_header(r, "Authorization", bad);
    EXPECT_EQ(failure_of(v, r), AuthFailure::kMalformed) << bad;
  }
  SignedRequest no_date = recorded_kms();
  set_header(no_date, "X-Amz-Date", "Mon, 07 Dec 2026 00:53:21 GMT");
  EXPECT_EQ(failure_of(v, no_date), AuthFailure::kMalformed);
}

TEST(ParseAmzDate, TheBasicIsoForm) {
  EXPECT_EQ(parse_amz_date("19700101T000000Z"), 0);
  EXPECT_EQ(parse_amz_date("20150830T123600Z"), 1440938160);
  EXPECT_EQ(parse_amz_date("20240229T000000Z"), 1709164800);
  for (const char* bad : {"20150830T123600", "2015-08-30T12:36:00Z", "20150230T123600Z", "20151330T123600Z",
                          "20150830T253600Z", "20150830T123660Z", "2015083OT123600Z", "20150830T12-300Z",
                          "+0150830T123600Z", "", "20150830 123600Z"})
    EXPECT_EQ(parse_amz_date(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace bakrest::control
