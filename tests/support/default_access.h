// The IAM role and option group a new instance is made with (rds/first_start.h), for fixtures that put an
// instance's parts together themselves: declare one after msdb and config, before procs::Context.
#pragma once

#include <optional>

#include "iam/role_store.h"
#include "instance/config.h"
#include "instance/msdb.h"
#include "rds/first_start.h"
#include "rds/option_groups.h"

namespace bakrest::testing {

struct DefaultAccess {
  DefaultAccess(instance::Msdb& msdb, const instance::Config& config)
      : roles(msdb, config.account), option_groups(msdb, roles, rds::identity_of(config)) {
    rds::seed_option_group(roles, option_groups, std::nullopt, 0);
  }

  // Takes SQLSERVER_BACKUP_RESTORE out of the instance's option group.
  void remove_backup_restore_option() {
    option_groups.modify(option_groups.instance_group(), {}, {rds::kBackupRestoreOption});
  }

  iam::RoleStore roles;
  rds::OptionGroups option_groups;
};

}  // namespace bakrest::testing
