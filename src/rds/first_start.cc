#include "rds/first_start.h"

#include <nlohmann/json.hpp>

namespace bakrest::rds {

InstanceIdentity identity_of(const instance::Config& config) {
  return {config.instance_id, engine_of_edition(config.edition), major_version_of(config.engine_version),
          config.region, config.account};
}

std::string default_trust_policy(const InstanceIdentity& identity) {
  nlohmann::ordered_json doc = {{"Version", "2012-10-17"},
                                {"Statement",
                                 {{{"Effect", "Allow"},
                                   {"Principal", {{"Service", "rds.amazonaws.com"}}},
                                   {"Action", "sts:AssumeRole"},
                                   {"Condition",
                                    {{"ArnLike", {{"aws:SourceArn", identity.arn()}}},
                                     {"StringEquals", {{"aws:SourceAccount", identity.account}}}}}}}}};
  return doc.dump(2);
}

std::string default_permission_policy(const InstanceIdentity& identity) {
  nlohmann::ordered_json doc = {
      {"Version", "2012-10-17"},
      {"Statement",
       {{{"Effect", "Allow"},
         {"Action", {"kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"}},
         {"Resource", "arn:aws:kms:" + identity.region + ":" + identity.account + ":key/*"}},
        {{"Effect", "Allow"},
         {"Action", {"s3:ListBucket", "s3:GetBucketLocation"}},
         {"Resource", "arn:aws:s3:::*"}},
        {{"Effect", "Allow"},
         {"Action",
          {"s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload",
           "s3:DeleteObject"}},
         {"Resource", "arn:aws:s3:::*/*"}}}}};
  return doc.dump(2);
}

bool seed_option_group(iam::RoleStore& roles, OptionGroups& groups,
                       const std::optional<instance::OptionGroupSeed>& seed, int64_t now) {
  if (groups.seeded()) return false;
  const InstanceIdentity& identity = groups.identity();
  std::string default_role = roles.role_arn("/", kDefaultRoleName);
  if (!roles.role_policies(default_role)) {
    roles.create_role(kDefaultRoleName, default_trust_policy(identity), "/",
                      "Made by bakrest at the instance's first start for SQLSERVER_BACKUP_RESTORE", 3600,
                      now);
    roles.put_role_policy(kDefaultRoleName, "bakrest-backup-restore", default_permission_policy(identity));
  }
  instance::OptionGroupSeed wanted = seed.value_or(instance::OptionGroupSeed{});
  groups.seed(wanted.name, wanted.options, wanted.iam_role_arn.empty() ? default_role : wanted.iam_role_arn,
              now);
  return true;
}

}  // namespace bakrest::rds
