#include "storage/sts.h"

#include <spdlog/spdlog.h>

#include <pugixml.hpp>

#include "common/clock.h"

namespace bakrest::storage {

namespace {

using Kind = StorageError::Kind;

std::string form_field(std::string_view name, std::string_view value) {
  return std::string(name) + "=" + sigv4::uri_encode(value, true);
}

// STS's error reply, <ErrorResponse><Error><Code>..</Code><Message>..</Message></Error>, as "Code: Message".
std::string error_text(const http::Response& reply) {
  pugi::xml_document doc;
  if (doc.load_buffer(reply.body.data(), reply.body.size())) {
    pugi::xml_node error = doc.child("ErrorResponse").child("Error");
    std::string code = error.child_value("Code"), message = error.child_value("Message");
    if (!code.empty()) return message.empty() ? code : code + ": " + message;
  }
  return "HTTP " + std::to_string(reply.status);
}

}  // namespace

RoleCredentials parse_assume_role_reply(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size()))
    throw StorageError(Kind::kIo, "STS's AssumeRole reply is not XML");
  pugi::xml_node result = doc.child("AssumeRoleResponse").child("AssumeRoleResult");
  pugi::xml_node credentials = result.child("Credentials");
  RoleCredentials out;
  out.keys = {credentials.child_value("AccessKeyId"), credentials.child_value("SecretAccessKey"),
              credentials.child_value("SessionToken")};
  out.assumed_role_arn = result.child("AssumedRoleUser").child_value("Arn");
  auto expiration = parse_expiration(credentials.child_value("Expiration"));
  if (out.keys.access_key_id.empty() || out.keys.secret_access_key.empty() ||
      out.keys.session_token.empty() || !expiration) {
    throw StorageError(Kind::kIo,
                       "STS's AssumeRole reply lacks the credentials' AccessKeyId, SecretAccessKey, "
                       "SessionToken or Expiration");
  }
  out.expiration = *expiration;
  return out;
}

StsClient::StsClient(const std::string& endpoint, std::string region,
                     std::shared_ptr<CredentialProvider> caller, http::Options http)
    : endpoint_(parse_api_endpoint(endpoint, "the STS endpoint")),
      region_(std::move(region)),
      caller_(std::move(caller)),
      http_(std::make_unique<http::Client>(std::move(http))) {
  if (!caller_) throw std::invalid_argument("an STS client needs the caller's credentials");
}

StsClient::~StsClient() = default;

RoleCredentials StsClient::assume_role(const std::string& role_arn, const std::string& session_name,
                                       int duration_seconds, const CallContext& ctx) const {
  SignedPost post{"sts",
                  region_,
                  {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                  form_field("Action", "AssumeRole") + "&" + form_field("Version", "2011-06-15") + "&" +
                      form_field("RoleArn", role_arn) + "&" + form_field("RoleSessionName", session_name) +
                      "&" + form_field("DurationSeconds", std::to_string(duration_seconds))};
  const std::string operation = "STS AssumeRole of " + role_arn;
  http::Response reply = signed_post(*http_, endpoint_, post, caller_->get(ctx), ctx, operation, 64 << 10);
  if (reply.status == 200) return parse_assume_role_reply(reply.body);
  ErrorDetails details;
  details.operation = "AssumeRole";
  details.http_status = static_cast<int>(reply.status);
  const std::string text = error_text(reply);
  const Kind kind = reply.status >= 500 ? Kind::kTransient : Kind::kAccessDenied;
  throw StorageError(kind, "STS at " + endpoint_.url + " refused AssumeRole of " + role_arn + ": " + text,
                     details);
}

AssumedRole::AssumedRole(std::shared_ptr<const StsClient> sts, std::string role_arn, std::string session_name,
                         int duration_seconds)
    : sts_(std::move(sts)),
      role_arn_(std::move(role_arn)),
      session_name_(std::move(session_name)),
      duration_seconds_(duration_seconds) {}

sigv4::Credentials AssumedRole::get(const CallContext& ctx) {
  std::lock_guard lock(mutex_);
  if (!current_.keys.access_key_id.empty() &&
      std::chrono::system_clock::now() + std::chrono::minutes(5) < current_.expiration)
    return current_.keys;
  current_ =
      sts_->assume_role(role_arn_, session_name_, duration_seconds_, ctx.within(std::chrono::seconds(30)));
  spdlog::info("assumed role {} as {} through {}, valid until {}", role_arn_, current_.assumed_role_arn,
               sts_->endpoint(),
               format_datetime(std::chrono::duration_cast<std::chrono::microseconds>(
                                   current_.expiration.time_since_epoch())
                                   .count()));
  return current_.keys;
}

void AssumedRole::invalidate() {
  std::lock_guard lock(mutex_);
  current_ = {};
}

std::string AssumedRole::source() const {
  return "role " + role_arn_ + " assumed through " + sts_->endpoint();
}

}  // namespace bakrest::storage
