// The RDS stored procedures (docs/PROCEDURES.md): parameter binding and validation with RDS's messages,
// then a task for the queue or an answer from msdb.
#pragma once

#include <optional>
#include <string>

#include "common/proc_call.h"
#include "common/result_sink.h"
#include "crypto/local_kms.h"
#include "engine/engine.h"
#include "iam/aws_roles.h"
#include "instance/config.h"
#include "instance/msdb.h"
#include "rds/option_groups.h"
#include "storage/object_store.h"
#include "tasks/task_queue.h"

namespace bakrest::procs {

struct Context {
  engine::Engine& engine;
  tasks::TaskQueue& tasks;
  storage::ObjectStore& store;
  instance::Msdb& msdb;
  const instance::Config& config;
  // The instance's option group (SQLSERVER_BACKUP_RESTORE and its role) and, through it, the IAM roles.
  const rds::OptionGroups& option_groups;
  // The key service encrypted backups use through the option's role: the instance's KMS, or another
  // instance's ([kms] endpoint); null: none (a task given @kms_master_key_arn fails saying so). key_policies:
  // the instance's KMS when keys is it (its keys' policies are evaluated for each call), else null.
  crypto::KeyService* keys;
  const crypto::LocalKms* key_policies;
  // The roles of the AWS account in [aws], when there is one: a task whose option names such a role acts as
  // it on AWS (iam/aws_roles.h); null: none.
  iam::AwsRoles* aws_roles = nullptr;
};

struct Caller {
  std::string login;
  std::string current_database;
  bool in_transaction = false;
};

// True if name (as written: brackets, one to three parts) is a procedure bakrest provides.
bool is_procedure(const std::string& name, const std::string& current_database);
// The procedures of a database, by name ("rds_backup_database"); none for a database that has none.
std::vector<std::string> procedure_names(const std::string& database);
// Its full name, "msdb.dbo.rds_backup_database", which GRANT EXECUTE names; nullopt if there is none.
std::optional<std::string> procedure_full_name(const std::string& name, const std::string& current_database);

// Runs the procedure, writing its result sets to sink. Throws SqlError 2812 for an unknown procedure and
// SqlError with RDS's text for invalid calls. Does not call sink.procedure_started()/procedure_done().
void call_procedure(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink);

// Registers the runners of every task type (tasks/task_types.h) and the restart cleanup with the queue.
void install_task_runners(Context& context, double max_transfer_bytes_per_second);

}  // namespace bakrest::procs
