// The credential chain in the AWS SDKs' order: instance.toml, environment, shared credentials file, then
// instance metadata (IMDSv2, here a responder on loopback: tests/support/imds_server.py).
#include "storage/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "support/child_process.h"

namespace bakrest::storage {
namespace {

namespace fs = std::filesystem;

// Sets (or with nullopt unsets) environment variables for one test and puts back what was there.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::map<std::string, std::optional<std::string>> values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      set(name, value);
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) set(name, value);
  }

 private:
  static void set(const std::string& name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "bakrest-credentials-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "credentials")
        << "# a comment\n[default]\naws_access_key_id = AKIDFILE\n"
           "aws_secret_access_key=file-secret\n\n; another\n[backup]\n"
           "aws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n"
           "aws_session_token = profile-token\n[broken]\naws_access_key_id = X\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Nothing from the machine running the tests leaks in: no keys in the environment, no ~/.aws, no IMDS.
  std::map<std::string, std::optional<std::string>> clean_env() const {
    return {{"AWS_ACCESS_KEY_ID", std::nullopt},
            {"AWS_SECRET_ACCESS_KEY", std::nullopt},
            {"AWS_SESSION_TOKEN", std::nullopt},
            {"AWS_PROFILE", std::nullopt},
            {"AWS_SHARED_CREDENTIALS_FILE", (dir_ / "none").string()},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT", std::nullopt}};
  }

  fs::path dir_;
};

TEST_F(CredentialsTest, TheBucketsOwnKeysComeFirst) {
  auto env = clean_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  ScopedEnv scoped(env);
  CredentialSettings s;
  s.access_key_id = "AKIDCONFIG";
  s.secret_access_key = "config-secret";
  s.session_token = "config-token";
  auto provider = default_credential_chain(s, {});
  auto keys = provider->get({});
  EXPECT_EQ(keys.access_key_id, "AKIDCONFIG");
  EXPECT_EQ(keys.secret_access_key, "config-secret");
  EXPECT_EQ(keys.session_token, "config-token");
  EXPECT_EQ(provider->source(), "instance.toml");
}

TEST_F(CredentialsTest, ASecretFileKeepsTheSecretOutOfTheConfiguration) {
  ScopedEnv scoped(clean_env());
  std::ofstream(dir_ / "secret") << "  file-held-secret\n";
  CredentialSettings s;
  s.access_key_id = "AKIDCONFIG";
  s.secret_file = (dir_ / "secret").string();
  EXPECT_EQ(default_credential_chain(s, {})->get({}).secret_access_key, "file-held-secret");
  s.secret_file = (dir_ / "missing").string();
  try {
    default_credential_chain(s, {});
    ADD_FAILURE() << "a missing secret_file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("secret_file"), std::string::npos) << e.what();
  }
  s.secret_file.clear();
  EXPECT_THROW(default_credential_chain(s, {}), std::runtime_error);  // a key id without a secret
}

TEST_F(CredentialsTest, TheEnvironmentComesNext) {
  auto env = clean_env();
  env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  env["AWS_SESSION_TOKEN"] = "env-token";
  env["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "credentials").string();
  ScopedEnv scoped(env);
  auto provider = default_credential_chain({}, {});
  EXPECT_EQ(provider->get({}).access_key_id, "AKIDENV");
  EXPECT_EQ(provider->get({}).session_token, "env-token");
  EXPECT_NE(provider->source().find("environment"), std::string::npos);
}

TEST_F(CredentialsTest, ThenTheSharedCredentialsFileAndItsProfiles) {
  auto env = clean_env();
  env["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "credentials").string();
  {
    ScopedEnv scoped(env);
    auto keys = default_credential_chain({}, {})->get({});
    EXPECT_EQ(keys.access_key_id, "AKIDFILE");
    EXPECT_EQ(keys.secret_access_key, "file-secret");
    EXPECT_EQ(keys.session_token, "");
  }
  env["AWS_PROFILE"] = "backup";
  {
    ScopedEnv scoped(env);
    auto keys = default_credential_chain({}, {})->get({});
    EXPECT_EQ(keys.access_key_id, "AKIDPROFILE");
    EXPECT_EQ(keys.session_token, "profile-token");
    CredentialSettings s;
    s.profile = "default";  // the bucket's profile wins over AWS_PROFILE
    EXPECT_EQ(default_credential_chain(s, {})->get({}).access_key_id, "AKIDFILE");
    s.profile = "broken";
    EXPECT_THROW(default_credential_chain(s, {}), std::runtime_error);
  }
}

TEST_F(CredentialsTest, WithNothingAnywhereTheErrorSaysWhereItLooked) {
  ScopedEnv scoped(clean_env());
  try {
    default_credential_chain({}, {});
    ADD_FAILURE() << "no credentials, yet a provider";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("No AWS credentials were found"), std::string::npos) << what;
    EXPECT_NE(what.find("AWS_EC2_METADATA_DISABLED"), std::string::npos) << what;
  }
}

TEST_F(CredentialsTest, InstanceMetadataKeysAreFetchedWithATokenAndRefreshedBeforeTheyExpire) {
  for (int expires_in : {3600, 120}) {
    SCOPED_TRACE(expires_in);
    testing::ChildProcess imds({"/usr/bin/python3", std::string(BAKREST_TEST_SUPPORT) + "/imds_server.py",
                                "--port", "0", "--credentials", "AKIDROLE:role-secret:role-token",
                                "--expires-in", std::to_string(expires_in)});
    const int port = testing::port_in(imds.wait_for_line("imds_server listening on"));
    auto env = clean_env();
    env["AWS_EC2_METADATA_DISABLED"] = std::nullopt;
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:" + std::to_string(port);
    ScopedEnv scoped(env);
    auto provider = default_credential_chain({}, {});
    auto first = provider->get({});
    EXPECT_EQ(first.access_key_id, "AKIDROLE-1");
    EXPECT_EQ(first.secret_access_key, "role-secret");
    EXPECT_EQ(first.session_token, "role-token");
    // Keys that expire within the SDKs' five-minute margin are fetched again; others are kept.
    EXPECT_EQ(provider->get({}).access_key_id, expires_in == 3600 ? "AKIDROLE-1" : "AKIDROLE-2");
    provider->invalidate();  // the store said ExpiredToken
    EXPECT_NE(provider->get({}).access_key_id, first.access_key_id);
  }
}

TEST_F(CredentialsTest, AnUnreachableMetadataServiceIsAccessDeniedNamingWhereItLooked) {
  auto env = clean_env();
  env["AWS_EC2_METADATA_DISABLED"] = std::nullopt;
  env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:1";  // nothing listens on port 1
  ScopedEnv scoped(env);
  auto provider = default_credential_chain({}, {});
  try {
    provider->get({});
    ADD_FAILURE() << "keys from nowhere";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), StorageError::Kind::kAccessDenied);
    EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bakrest::storage
