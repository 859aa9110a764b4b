// RDS option groups as the instance keeps them (msdb's option_groups, option_group_options and
// instance_option_group): groups with their engine and options, and the one group this instance is a member
// of. The only option bakrest has is SQLSERVER_BACKUP_RESTORE, with its one setting IAM_ROLE_ARN; the
// rds_ procedures run only while the instance's group has it (docs/OPERATIONS.md, "The option group").
//
// Adding SQLSERVER_BACKUP_RESTORE checks its role as RDS does: the role must exist and its trust policy must
// let rds.amazonaws.com assume it with aws:SourceArn = the instance's ARN and aws:SourceAccount = its
// account. A role of the AWS account in [aws] (aws_account) is AWS's, not the instance's: only its ARN's form
// is checked here, and AWS checks the rest when a task assumes it (storage/sts.h).
//
// Errors are RdsError with RDS's fault codes (OptionGroupNotFoundFault, OptionGroupAlreadyExistsFault,
// InvalidParameterValue, InvalidParameterCombination, ...).
//
// Thread safety: any thread (msdb is locked per call; a change is one msdb transaction).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/service_error.h"
#include "iam/role_store.h"
#include "instance/msdb.h"

namespace bakrest::rds {

inline constexpr const char* kBackupRestoreOption = "SQLSERVER_BACKUP_RESTORE";
inline constexpr const char* kIamRoleArnSetting = "IAM_ROLE_ARN";

class RdsError : public ServiceError {
 public:
  using ServiceError::ServiceError;
};

// What RDS knows of this instance: its identifier, engine ("sqlserver-se", from the edition), major engine
// version ("15.00"), region and account.
struct InstanceIdentity {
  std::string instance_id;
  std::string engine;
  std::string major_engine_version;
  std::string region;
  std::string account;

  std::string arn() const { return "arn:aws:rds:" + region + ":" + account + ":db:" + instance_id; }
};

struct OptionSetting {
  std::string name;
  std::string value;
};

struct Option {
  std::string name;
  std::vector<OptionSetting> settings;
};

struct OptionGroup {
  std::string name;  // as RDS keeps it: lower case
  std::string description;
  std::string engine_name;
  std::string major_engine_version;
  std::vector<Option> options;
  std::string arn;  // arn:aws:rds:<region>:<account>:og:<name>
};

class OptionGroups {
 public:
  // aws_account: the account of [aws] in instance.toml, whose roles are AWS's; empty: none.
  OptionGroups(instance::Msdb& msdb, const iam::RoleStore& roles, InstanceIdentity identity,
               std::string aws_account = {})
      : msdb_(msdb), roles_(roles), identity_(std::move(identity)), aws_account_(std::move(aws_account)) {}

  const InstanceIdentity& identity() const { return identity_; }
  // Whether role_arn is a role of the AWS account of [aws], which AWS keeps and checks.
  bool is_aws_role(std::string_view role_arn) const;
  // The account of [aws]; empty: none.
  const std::string& aws_account() const { return aws_account_; }
  const iam::RoleStore& roles() const { return roles_; }

  // Throws RdsError: InvalidParameterValue (a name outside RDS's rules, an engine or version that is not
  // SQL Server's), OptionGroupAlreadyExistsFault.
  OptionGroup create(std::string_view name, std::string_view engine, std::string_view major_version,
                     std::string_view description, int64_t now);
  // Adds (or, if present, reconfigures) and removes options, in one change. Throws RdsError:
  // OptionGroupNotFoundFault; InvalidParameterValue for an option bakrest does not have, a setting the option
  // does not take, a missing IAM_ROLE_ARN, a role that does not exist or does not trust RDS for this
  // instance, or removing an option the group does not have.
  OptionGroup modify(std::string_view name, const std::vector<Option>& include,
                     const std::vector<std::string>& remove);
  // One group (OptionGroupNotFoundFault if absent), or all of them in name order, optionally those of one
  // engine and major version.
  OptionGroup describe(std::string_view name) const;
  std::vector<OptionGroup> list(std::string_view engine = {}, std::string_view major_version = {}) const;

  // The group this instance is a member of.
  std::string instance_group() const;
  // Makes the instance a member of the group. Throws RdsError: OptionGroupNotFoundFault,
  // InvalidParameterCombination (the group is for another engine or version).
  void set_instance_group(std::string_view name);

  // The IAM_ROLE_ARN of SQLSERVER_BACKUP_RESTORE in the instance's group; nullopt if the option is not there.
  std::optional<std::string> backup_restore_role() const;

  // Whether msdb has the instance's option group yet (false until seed() at the first start).
  bool seeded() const;
  // At the first start: makes the group `name` for this instance's engine with the options (only
  // SQLSERVER_BACKUP_RESTORE, which takes role_arn) and makes the instance its member, in one transaction.
  // The role is checked as by modify(). Throws RdsError.
  void seed(std::string_view name, const std::vector<std::string>& options, const std::string& role_arn,
            int64_t now);

 private:
  // The RdsError modify() gives unless the role exists and trusts RDS for this instance.
  void check_role(const std::string& role_arn) const;

  instance::Msdb& msdb_;
  const iam::RoleStore& roles_;
  InstanceIdentity identity_;
  std::string aws_account_;
};

// The engine name RDS gives an edition ("standard" -> "sqlserver-se") and the major version of an RDS engine
// version ("15.00.4153.1.v1" -> "15.00").
std::string engine_of_edition(std::string_view edition);
std::string major_version_of(std::string_view engine_version);

}  // namespace bakrest::rds
