#include "control/sts_api.h"

#include <gtest/gtest.h>

#include <pugixml.hpp>

#include "temp_dir.h"

namespace bakrest::control {
namespace {

constexpr int64_t kNow = 1796600000;
const Signer kLogin{"arn:aws:iam::123456789012:user/admin", "AKIAEXAMPLE", "123456789012", std::nullopt};

std::string trust(const std::string& principal) {
  return R"({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": ")" + principal +
         R"("}, "Action": "sts:AssumeRole"}})";
}

class StsApiTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  iam::RoleStore roles{msdb, "123456789012"};
  RoleSessions sessions;
  StsApi api{roles, sessions, [] { return kNow; }};

  // The reply's document, after checking its status.
  pugi::xml_document call(std::map<std::string, std::string> form, int status = 200,
                          const Signer& signer = kLogin) {
    form["Version"] = "2011-06-15";
    ApiReply reply = api.handle(form, signer);
    EXPECT_EQ(reply.status, status) << reply.body;
    pugi::xml_document doc;
    EXPECT_TRUE(doc.load_string(reply.body.c_str())) << reply.body;
    return doc;
  }
  std::string error_code(std::map<std::string, std::string> form, int status, const Signer& signer = kLogin) {
    return call(std::move(form), status, signer).child("ErrorResponse").child("Error").child_value("Code");
  }
  std::map<std::string, std::string> assume(const std::string& role, const std::string& session = "s1") {
    return {{"Action", "AssumeRole"},
            {"RoleArn", "arn:aws:iam::123456789012:role/" + role},
            {"RoleSessionName", session}};
  }
};

TEST_F(StsApiTest, AssumeRoleIssuesKeysOfTheRole) {
  iam::Role role =
      roles.create_role("backup", trust("arn:aws:iam::123456789012:user/admin"), "/", "", 3600, 0);
  pugi::xml_document doc = call(assume("backup", "bakrest-i1"));
  pugi::xml_node result = doc.child("AssumeRoleResponse").child("AssumeRoleResult");
  pugi::xml_node credentials = result.child("Credentials");
  const std::string key_id = credentials.child_value("AccessKeyId");
  EXPECT_TRUE(key_id.starts_with("ASIA")) << key_id;
  EXPECT_EQ(credentials.child_value("Expiration"), std::string("2026-12-07T00:33:20Z"));  // kNow + 3600
  EXPECT_EQ(result.child("AssumedRoleUser").child_value("Arn"),
            std::string("arn:aws:sts::123456789012:assumed-role/backup/bakrest-i1"));
  EXPECT_EQ(result.child("AssumedRoleUser").child_value("AssumedRoleId"), role.role_id + ":bakrest-i1");
  auto session = sessions.find(key_id);
  ASSERT_TRUE(session);
  EXPECT_EQ(session->role_arn, role.arn);
  EXPECT_EQ(session->secret_access_key, credentials.child_value("SecretAccessKey"));
  EXPECT_EQ(session->expiration, kNow + 3600);

  // Asked for 900 seconds, the least.
  pugi::xml_document shorter = call({{"Action", "AssumeRole"},
                                     {"RoleArn", role.arn},
                                     {"RoleSessionName", "s2"},
                                     {"DurationSeconds", "900"}});
  EXPECT_EQ(sessions
                .find(shorter.child("AssumeRoleResponse")
                          .child("AssumeRoleResult")
                          .child("Credentials")
                          .child_value("AccessKeyId"))
                ->expiration,
            kNow + 900);
}

TEST_F(StsApiTest, TheTrustPolicyDecides) {
  roles.create_role("by-account", trust("123456789012"), "/", "", 3600, 0);
  roles.create_role("by-root", trust("arn:aws:iam::123456789012:root"), "/", "", 3600, 0);
  roles.create_role("other-user", trust("arn:aws:iam::123456789012:user/someone"), "/", "", 3600, 0);
  roles.create_role("other-account", trust("999999999999"), "/", "", 3600, 0);
  // The account's own login administers the account: a trust policy naming the account lets it in.
  call(assume("by-account"));
  call(assume("by-root"));
  EXPECT_EQ(error_code(assume("other-user"), 403), "AccessDenied");
  EXPECT_EQ(error_code(assume("other-account"), 403), "AccessDenied");
  EXPECT_EQ(error_code(assume("no-such-role"), 403), "AccessDenied");
  pugi::xml_document doc = call(assume("other-user"), 403);
  EXPECT_EQ(doc.child("ErrorResponse").child("Error").child_value("Message"),
            std::string("User: arn:aws:iam::123456789012:user/admin is not authorized to perform: "
                        "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/other-user"));
  // A session does not assume a role (no role chaining), even one that trusts the account.
  Signer session = kLogin;
  session.session = RoleSession{};
  session.arn = "arn:aws:sts::123456789012:assumed-role/by-account/s1";
  EXPECT_EQ(error_code(assume("by-account"), 403, session), "AccessDenied");
}

TEST_F(StsApiTest, ParametersAreChecked) {
  roles.create_role("backup", trust("123456789012"), "/", "", 3600, 0);
  auto with = [&](std::string name, std::string value) {
    auto form = assume("backup");
    form[name] = value;
    return form;
  };
  EXPECT_EQ(error_code(with("DurationSeconds", "899"), 400), "ValidationError");
  EXPECT_EQ(error_code(with("DurationSeconds", "3601"), 400), "ValidationError");  // over MaxSessionDuration
  EXPECT_EQ(error_code(with("RoleSessionName", "x"), 400), "ValidationError");
  EXPECT_EQ(error_code(with("RoleSessionName", "has space"), 400), "ValidationError");
  EXPECT_EQ(error_code(with("RoleSessionName", std::string(65, 's')), 400), "ValidationError");
  EXPECT_EQ(error_code(with("Policy", "{}"), 400), "ValidationError");  // refused by name, not ignored
  EXPECT_EQ(error_code({{"Action", "AssumeRole"}, {"RoleSessionName", "s1"}}, 400), "ValidationError");
  EXPECT_EQ(error_code({{"Action", "GetSessionToken"}}, 400), "InvalidAction");
  // GetCallerIdentity names the signer.
  pugi::xml_document reply = call({{"Action", "GetCallerIdentity"}});
  pugi::xml_node who = reply.child("GetCallerIdentityResponse").child("GetCallerIdentityResult");
  EXPECT_EQ(who.child_value("Arn"), kLogin.arn);
  EXPECT_EQ(who.child_value("Account"), std::string("123456789012"));
  EXPECT_EQ(who.child_value("UserId"), std::string("AKIAEXAMPLE"));
}

TEST(RoleSessions, RequestsNeedTheTokenBeforeTheExpiration) {
  RoleSessions sessions;
  RoleSession s = sessions.issue("arn:aws:iam::123456789012:role/r", "arn", "id", 900, kNow);
  EXPECT_NO_THROW(RoleSessions::check(s, s.session_token, kNow + 899));
  auto failure = [&](std::string_view token, int64_t now) {
    try {
      RoleSessions::check(s, token, now);
    } catch (const AuthError& e) {
      return e.failure();
    }
    return AuthFailure::kMissing;  // (not thrown)
  };
  EXPECT_EQ(failure(s.session_token, kNow + 900), AuthFailure::kExpiredToken);
  EXPECT_EQ(failure("", kNow), AuthFailure::kUnknownKey);
  EXPECT_EQ(failure(s.session_token + "x", kNow), AuthFailure::kUnknownKey);
  EXPECT_NE(sessions.find(s.access_key_id)->secret_access_key, "");
}

TEST(RoleSessions, AtMostTheLimitLiveAtOnce) {
  RoleSessions sessions;
  for (size_t i = 0; i < RoleSessions::kMaxSessions; ++i) sessions.issue("r", "a", "i", 900, kNow);
  EXPECT_THROW(sessions.issue("r", "a", "i", 900, kNow + 899), std::runtime_error);
  // Once they have expired, they make room.
  RoleSession later = sessions.issue("r", "a", "i", 900, kNow + 900);
  EXPECT_TRUE(sessions.find(later.access_key_id));
}

}  // namespace
}  // namespace bakrest::control
