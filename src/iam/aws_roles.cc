#include "iam/aws_roles.h"

#include <spdlog/spdlog.h>

namespace bakrest::iam {

namespace {

// STS takes RoleSessionName of 2..64 characters of [\w+=,.@-].
std::string session_name_of(const std::string& wanted) {
  std::string name;
  for (char c : wanted) {
    if (name.size() == 64) break;
    const bool allowed = std::isalnum(static_cast<unsigned char>(c)) ||
                         std::string_view("_+=,.@-").find(c) != std::string_view::npos;
    name += allowed ? c : '-';
  }
  while (name.size() < 2) name += '-';
  return name;
}

}  // namespace

AwsRoles::AwsRoles(AwsRolesSettings settings)
    : sts_(std::make_shared<const storage::StsClient>(
          settings.sts_endpoint.empty() ? "https://sts." + settings.region + ".amazonaws.com"
                                        : settings.sts_endpoint,
          settings.region, settings.caller)),
      region_(settings.region),
      kms_endpoint_(settings.kms_endpoint.empty() ? "https://kms." + settings.region + ".amazonaws.com"
                                                  : settings.kms_endpoint),
      session_name_(session_name_of(settings.session_name)),
      instance_kms_(crypto::KmsClientSettings{kms_endpoint_, region_, settings.caller}) {}

AwsRoles::Access AwsRoles::of(const std::string& role_arn) {
  std::lock_guard lock(mutex_);
  auto it = roles_.find(role_arn);
  if (it != roles_.end()) return it->second;
  auto credentials = std::make_shared<storage::AssumedRole>(sts_, role_arn, session_name_);
  auto kms =
      std::make_shared<crypto::KmsClient>(crypto::KmsClientSettings{kms_endpoint_, region_, credentials});
  spdlog::info("tasks act as the AWS role {}: assumed through {}, keys at {}", role_arn, sts_->endpoint(),
               kms_endpoint_);
  return roles_.emplace(role_arn, Access{credentials, kms}).first->second;
}

}  // namespace bakrest::iam
