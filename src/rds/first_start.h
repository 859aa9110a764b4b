// What a new instance is made with, so that backups and restores work before anyone sets anything up
// (docs/OPERATIONS.md, "The option group"): the role bakrest-backup-restore, trusted by rds.amazonaws.com for
// this instance only and allowed what the RDS page's permission policy allows on every bucket and every key
// of the instance's account (plus s3:DeleteObject, with which a failed multi-file backup removes the files it
// had published), and an option group with SQLSERVER_BACKUP_RESTORE naming that role, the instance a member.
//
// Thread safety: called once at start, before the procedures and the control endpoint run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "iam/role_store.h"
#include "instance/config.h"
#include "rds/option_groups.h"

namespace bakrest::rds {

inline constexpr const char* kDefaultRoleName = "bakrest-backup-restore";

// The instance as RDS describes it, from its configuration.
InstanceIdentity identity_of(const instance::Config& config);

// The default role's trust policy and permission policy for this instance.
std::string default_trust_policy(const InstanceIdentity& identity);
std::string default_permission_policy(const InstanceIdentity& identity);

// Unless msdb already has the instance's option group: makes the default role if there is none, then the
// group the seed names (by default "bakrest-backup-restore" with SQLSERVER_BACKUP_RESTORE) with the seed's
// role or the default one. Returns whether it seeded. Throws RdsError (a seed naming a role that does not
// exist or does not trust RDS for this instance) or iam::IamError.
bool seed_option_group(iam::RoleStore& roles, OptionGroups& groups,
                       const std::optional<instance::OptionGroupSeed>& seed, int64_t now);

}  // namespace bakrest::rds
