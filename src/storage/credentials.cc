#include "storage/credentials.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/clock.h"
#include "common/text.h"

namespace bakrest::storage {

namespace {

using Kind = StorageError::Kind;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

class StaticProvider : public CredentialProvider {
 public:
  StaticProvider(sigv4::Credentials keys, std::string source)
      : keys_(std::move(keys)), source_(std::move(source)) {}
  sigv4::Credentials get(const CallContext&) override { return keys_; }
  std::string source() const override { return source_; }

 private:
  sigv4::Credentials keys_;
  std::string source_;
};

// IMDSv2: a session token by PUT, then the role's name and its temporary keys by GET with that token.
// Keys are kept until five minutes before they expire (the SDKs' margin), then fetched again.
class InstanceMetadataProvider : public CredentialProvider {
 public:
  InstanceMetadataProvider(std::string endpoint, std::string tried, http::Options options)
      : endpoint_(std::move(endpoint)), tried_(std::move(tried)), client_([&] {
          options.connect_timeout_ms = 1000;
          return options;
        }()) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  }

  sigv4::Credentials get(const CallContext& ctx) override {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::system_clock::now();
    if (!keys_.access_key_id.empty() && now + std::chrono::minutes(5) < expires_) return keys_;
    try {
      fetch(ctx.within(std::chrono::seconds(5)));
    } catch (const StorageError& e) {
      if (e.kind() == Kind::kCancelled) throw;
      throw StorageError(Kind::kAccessDenied, "No AWS credentials were found: tried " + tried_ +
                                                  " and EC2 instance metadata at " + endpoint_ + " (" +
                                                  e.what() + ")");
    }
    return keys_;
  }
  void invalidate() override {
    std::lock_guard lock(mutex_);
    keys_ = {};
  }
  std::string source() const override { return "EC2 instance metadata (" + endpoint_ + ")"; }

 private:
  http::Response call(const std::string& method, const std::string& path,
                      std::vector<std::pair<std::string, std::string>> headers, const CallContext& ctx) {
    http::Request request{method, endpoint_ + path, std::move(headers), {}};
    http::Response reply = client_.perform(request, ctx, "instance metadata " + path, {}, 64 << 10);
    if (reply.status != 200) {
      throw StorageError(Kind::kIo,
                         "instance metadata " + path + " answered HTTP " + std::to_string(reply.status));
    }
    return reply;
  }

  void fetch(const CallContext& ctx) {
    const std::string token =
        call("PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, ctx).body;
    const std::pair<std::string, std::string> auth{"X-aws-ec2-metadata-token", token};
    std::string roles = call("GET", "/latest/meta-data/iam/security-credentials/", {auth}, ctx).body;
    std::string role = trim(roles.substr(0, roles.find('\n')));
    if (role.empty()) throw StorageError(Kind::kIo, "the instance has no IAM role");
    const std::string body =
        call("GET", "/latest/meta-data/iam/security-credentials/" + role, {auth}, ctx).body;
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || doc.value("AccessKeyId", "").empty() ||
        doc.value("SecretAccessKey", "").empty()) {
      throw StorageError(Kind::kIo, "the role's credentials document is not what IMDS sends");
    }
    if (doc.contains("Code") && doc.value("Code", "") != "Success") {
      throw StorageError(Kind::kIo, "instance metadata answered Code " + doc.value("Code", ""));
    }
    keys_ = {doc.value("AccessKeyId", ""), doc.value("SecretAccessKey", ""), doc.value("Token", "")};
    // Without an expiry (or with one that does not read) the keys are asked for again in an hour.
    expires_ = parse_expiration(doc.value("Expiration", ""))
                   .value_or(std::chrono::system_clock::now() + std::chrono::hours(1));
    spdlog::info(
        "S3 credentials of role '{}' from instance metadata, valid until {}", role,
        format_datetime(
            std::chrono::duration_cast<std::chrono::microseconds>(expires_.time_since_epoch()).count()));
  }

  std::string endpoint_;
  std::string tried_;
  http::Client client_;
  std::mutex mutex_;
  sigv4::Credentials keys_;
  std::chrono::system_clock::time_point expires_;
};

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the S3 secret_file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = trim(text.str());
  if (secret.empty()) throw std::runtime_error("the S3 secret_file '" + path + "' is empty");
  return secret;
}

}  // namespace

std::shared_ptr<CredentialProvider> fixed_credentials(sigv4::Credentials keys, std::string source) {
  return std::make_shared<StaticProvider>(std::move(keys), std::move(source));
}

sigv4::Credentials read_shared_credentials(const std::string& file, const std::string& profile) {
  std::ifstream in(file);
  sigv4::Credentials keys;
  if (!in) return keys;
  std::string line, section;
  while (std::getline(in, line)) {
    std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      section = trim(std::string_view(text).substr(1, text.size() - 2));
      continue;
    }
    if (section != profile) continue;
    const size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = trim(std::string_view(text).substr(0, eq));
    const std::string value = trim(std::string_view(text).substr(eq + 1));
    if (name == "aws_access_key_id") keys.access_key_id = value;
    if (name == "aws_secret_access_key") keys.secret_access_key = value;
    if (name == "aws_session_token") keys.session_token = value;
  }
  return keys;
}

std::unique_ptr<CredentialProvider> default_credential_chain(const CredentialSettings& settings,
                                                             http::Options http_options) {
  if (!settings.access_key_id.empty()) {
    sigv4::Credentials keys{settings.access_key_id, settings.secret_access_key, settings.session_token};
    if (!settings.secret_file.empty()) keys.secret_access_key = read_secret_file(settings.secret_file);
    if (keys.secret_access_key.empty()) {
      throw std::runtime_error(
          "an S3 bucket has access_key_id but neither secret_access_key nor secret_file");
    }
    return std::make_unique<StaticProvider>(keys, "instance.toml");
  }
  if (!env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty()) {
    return std::make_unique<StaticProvider>(
        sigv4::Credentials{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")},
        "the environment (AWS_ACCESS_KEY_ID)");
  }
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
  std::string profile = !settings.profile.empty()     ? settings.profile
                        : !env("AWS_PROFILE").empty() ? env("AWS_PROFILE")
                                                      : "default";
  if (!file.empty()) {
    sigv4::Credentials keys = read_shared_credentials(file, profile);
    if (!keys.access_key_id.empty() || !keys.secret_access_key.empty()) {
      if (keys.access_key_id.empty() || keys.secret_access_key.empty()) {
        throw std::runtime_error("profile '" + profile + "' of " + file +
                                 " lacks aws_access_key_id or aws_secret_access_key");
      }
      return std::make_unique<StaticProvider>(keys, "profile '" + profile + "' of " + file);
    }
  }
  const std::string tried = "instance.toml, the environment and profile '" + profile + "' of " +
                            (file.empty() ? std::string("no credentials file") : file);
  if (ascii_lower(env("AWS_EC2_METADATA_DISABLED")) == "true") {
    throw std::runtime_error("No AWS credentials were found: tried " + tried +
                             " (instance metadata is disabled by AWS_EC2_METADATA_DISABLED)");
  }
  std::string endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty()) endpoint = "http://169.254.169.254";
  return std::make_unique<InstanceMetadataProvider>(endpoint, tried, std::move(http_options));
}

}  // namespace bakrest::storage
