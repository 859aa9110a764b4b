#include "procs/procedures.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>

#include "backup/jobs.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/ids.h"
#include "common/text.h"
#include "crypto/key_router.h"
#include "engine/database_name.h"
#include "iam/authorized_kms.h"
#include "iam/authorized_store.h"
#include "instance/logins.h"
#include "procs/arguments.h"
#include "procs/backup_options.h"
#include "storage/arn.h"
#include "storage/role_signed_store.h"
#include "tasks/task_types.h"

namespace bakrest::procs {

namespace {

// "[msdb].[dbo].[x]" -> {"msdb", "dbo", "x"}; brackets and quotes removed, lower-cased.
std::vector<std::string> name_parts(const std::string& name) {
  std::vector<std::string> parts(1);
  bool bracket = false, quote = false;
  for (char c : name) {
    if (bracket) {
      if (c == ']')
        bracket = false;
      else
        parts.back() += c;
    } else if (quote) {
      if (c == '"')
        quote = false;
      else
        parts.back() += c;
    } else if (c == '[') {
      bracket = true;
    } else if (c == '"') {
      quote = true;
    } else if (c == '.') {
      parts.emplace_back();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      parts.back() += c;
    }
  }
  for (auto& p : parts) p = ascii_lower(p);
  return parts;
}

using Handler = std::function<void(const ProcCall&, const Caller&, Context&, ResultSink&)>;

struct Procedure {
  const char* database;  // msdb or rdsadmin
  const char* name;
  Handler handler;
};

const std::vector<Procedure>& procedures();

const Procedure* resolve(const std::string& written, const std::string& current_database) {
  auto parts = name_parts(written);
  std::string database, schema, name;
  if (parts.size() == 3) {
    database = parts[0], schema = parts[1], name = parts[2];
  } else if (parts.size() == 2) {
    database = ascii_lower(current_database), schema = parts[0], name = parts[1];
  } else if (parts.size() == 1) {
    database = ascii_lower(current_database), name = parts[0];
  } else {
    return nullptr;
  }
  if (!schema.empty() && schema != "dbo") return nullptr;
  for (const auto& p : procedures()) {
    if (database == p.database && name == p.name) return &p;
  }
  return nullptr;
}

// --- shared checks and results -----------------------------------------------------------------------------

SqlError option_not_enabled() {
  return procedure_error(
      "Database backup/restore option is not enabled yet or is in the process of being enabled. Please try "
      "again later.");
}

void require_option(const Context& context) {
  if (!context.option_groups.backup_restore_role()) throw option_not_enabled();
}

void require_no_transaction(const Caller& caller, const char* procedure) {
  if (caller.in_transaction) {
    throw procedure_error(
        std::string("Calling ") + procedure +
        " within a transaction isn't supported. Commit or roll back the transaction first.");
  }
}

SqlError not_supported_yet(const std::string& what) {
  return procedure_error(what + " is not supported yet by bakrest.");
}

const std::vector<Column>& task_columns() {
  static const std::vector<Column> columns = {
      {"task_id", ColumnType::kInt, 0},
      {"task_type", ColumnType::kNVarChar, 100},
      {"database_name", ColumnType::kNVarChar, 128},
      {"% complete", ColumnType::kInt, 0},
      {"duration (mins)", ColumnType::kInt, 0},
      {"lifecycle", ColumnType::kNVarChar, 50},
      {"task_info", ColumnType::kNVarCharMax, 0},
      {"last_updated", ColumnType::kDateTime, 0},
      {"created_at", ColumnType::kDateTime, 0},
      {"S3_object_arn", ColumnType::kNVarChar, 4000},
      {"overwrite_s3_backup_file", ColumnType::kInt, 0},
      {"KMS_master_key_arn", ColumnType::kNVarChar, 4000},
      {"filepath", ColumnType::kNVarChar, 4000},
      {"overwrite_file", ColumnType::kInt, 0},
  };
  return columns;
}

template <typename T>
Value optional_value(const std::optional<T>& v) {
  return v ? Value(*v) : Value();
}

void send_tasks(const std::vector<tasks::TaskRecord>& records, ResultSink& sink) {
  sink.columns(task_columns());
  int64_t now = now_micros();
  uint64_t count = 0;
  for (const auto& t : records) {
    if (sink.attention()) break;
    sink.row({Value(t.task_id), Value(t.task_type), Value(t.database_name),
              Value(int64_t{t.percent_complete}), Value(t.duration_minutes(now)), Value(t.lifecycle),
              Value(t.task_info), Value(DateTime{t.last_updated}), Value(DateTime{t.created_at}),
              optional_value(t.s3_object_arn), optional_value(t.overwrite_s3_backup_file),
              optional_value(t.kms_master_key_arn), Value(), Value()});
    ++count;
  }
  sink.done(count);
}

storage::S3ObjectArn parse_arn(const std::string& arn) {
  try {
    return storage::parse_s3_object_arn(arn);
  } catch (const std::invalid_argument& e) {
    throw procedure_error(e.what());
  }
}

void require_bit(const Arguments& args, const char* name) {
  if (auto v = args.integer(name); v && *v != 0 && *v != 1) {
    throw procedure_error(std::string(name) + " must be 0 or 1, not " + std::to_string(*v) + ".");
  }
}

// Parameters a later bakrest release implements: refused by name, never ignored.
void refuse_unsupported(const Arguments& args, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (args.given(name)) throw not_supported_yet(std::string("The parameter ") + name);
  }
}

// --- rds_backup_database, rds_backup_log -------------------------------------------------------------------

SqlError no_such_database(const std::string& name) {
  return procedure_error("Database '" + name +
                         "' does not exist. Make sure that the name is entered correctly.");
}

// What a backup reads: an ONLINE user database.
engine::DatabaseInfo backup_source(Context& context, const std::string& database) {
  auto info = context.engine.find(database);
  if (!info) throw no_such_database(database);
  if (info->is_system)
    throw procedure_error("Backing up the system database '" + info->name + "' is not supported.");
  if (info->state != engine::DatabaseState::kOnline) {
    throw procedure_error("Database '" + info->name + "' can't be backed up: it is " +
                          engine::state_name(info->state) + ".");
  }
  return *info;
}

storage::S3ObjectArn backup_target(const std::string& arn) {
  if (arn.empty()) throw procedure_error("S3 ARN cannot be empty");
  return parse_arn(arn);
}

bool compression_enabled(Context& context) {
  return context.msdb.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT value FROM configuration WHERE name = 'S3 backup compression'");
    return s.step() && ascii_lower(s.get_text(0)) == "true";
  });
}

// @kms_master_key_arn: encrypt (or, restoring, decrypt) with this KMS key. Checked when the task runs, as
// RDS does (backup/backup_keys.h); empty counts as not given.
std::optional<std::string> kms_key(const Arguments& args) {
  auto key = args.string("@kms_master_key_arn");
  if (!key || key->empty()) return std::nullopt;
  return key;
}

// stripes: the keys of a multi-file backup (procs/backup_options.h), or empty for one file.
void submit_backup(const char* task_type, const engine::DatabaseInfo& source, const Arguments& args,
                   const storage::S3ObjectArn& target, const std::vector<std::string>& stripes,
                   const backup::Tuning& tuning, const Caller& caller, Context& context, ResultSink& sink) {
  nlohmann::json parameters = {
      {"bucket", target.bucket}, {"key", target.key}, {"compress", compression_enabled(context)}};
  if (stripes.size() > 1) parameters["stripe_keys"] = stripes;
  add_tuning(tuning, parameters);
  tasks::NewTask task{task_type,
                      source.name,
                      args.string("@s3_arn_to_backup_to").value_or(""),
                      args.integer("@overwrite_s3_backup_file").value_or(0),
                      kms_key(args),
                      caller.login,
                      std::move(parameters)};
  int64_t id = context.tasks.submit(task);
  send_tasks(context.tasks.list(std::nullopt, id), sink);
}

void backup_database(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_backup_database",
                 {{"@source_db_name", ParamType::kString, true},
                  {"@s3_arn_to_backup_to", ParamType::kString, true},
                  {"@kms_master_key_arn", ParamType::kString},
                  {"@overwrite_s3_backup_file", ParamType::kInt},
                  {"@block_size", ParamType::kInt},
                  {"@max_transfer_size", ParamType::kInt},
                  {"@buffer_count", ParamType::kInt},
                  {"@type", ParamType::kString},
                  {"@number_of_files", ParamType::kInt},
                  {"@enable_bucket_default_encryption", ParamType::kInt}},
                 call);
  require_option(context);
  require_no_transaction(caller, "rds_backup_database");

  engine::DatabaseInfo source = backup_source(context, args.string("@source_db_name").value_or(""));
  storage::S3ObjectArn target = backup_target(args.string("@s3_arn_to_backup_to").value_or(""));
  require_bit(args, "@overwrite_s3_backup_file");
  std::string type = ascii_upper(args.string("@type").value_or("FULL"));
  if (type != "FULL" && type != "DIFFERENTIAL")
    throw procedure_error("Invalid @type '" + type + "': use FULL or DIFFERENTIAL.");
  std::vector<std::string> stripes = stripe_keys(target.key, args.integer("@number_of_files").value_or(1));
  backup::Tuning tuning = tuning_from(args);
  refuse_unsupported(args, {"@enable_bucket_default_encryption"});
  submit_backup(type == "FULL" ? tasks::kBackupDb : tasks::kBackupDbDifferential, source, args, target,
                stripes, tuning, caller, context, sink);
}

void backup_log(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_backup_log",
                 {{"@source_db_name", ParamType::kString, true},
                  {"@s3_arn_to_backup_to", ParamType::kString, true},
                  {"@kms_master_key_arn", ParamType::kString},
                  {"@overwrite_s3_backup_file", ParamType::kInt}},
                 call);
  require_option(context);
  require_no_transaction(caller, "rds_backup_log");

  engine::DatabaseInfo source = backup_source(context, args.string("@source_db_name").value_or(""));
  storage::S3ObjectArn target = backup_target(args.string("@s3_arn_to_backup_to").value_or(""));
  require_bit(args, "@overwrite_s3_backup_file");
  // The log chain's own rules (SIMPLE recovery: 4208, no full backup yet: 4214) are checked when the task
  // runs: a full backup queued just before may start the chain.
  submit_backup(tasks::kBackupLog, source, args, target, {}, backup::Tuning{}, caller, context, sink);
}

// --- restores ----------------------------------------------------------------------------------------------

// Checking a database's restore rules and submitting the task happen under one lock, so two sessions can't
// both pass a check that only one of them may pass.
std::mutex& submission_mutex() {
  static std::mutex mutex;
  return mutex;
}

storage::S3ObjectArn restore_source(const std::string& arn) {
  if (arn.empty()) throw procedure_error("S3 ARN prefix cannot be empty");
  // A trailing '*' is RDS's wildcard restore, resolved by the task (backup/restore_jobs.cc); a '*' anywhere
  // else is part of the object's name (a backup with @number_of_files=1 keeps it so).
  return parse_arn(arn);
}

std::string checked_restore_name(const Arguments& args) {
  std::string database = args.string("@restore_db_name").value_or("");
  if (auto problem = engine::database_name_problem(database)) {
    throw procedure_error("Invalid @restore_db_name '" + database + "'. " + *problem);
  }
  return database;
}

// RDS's rules for differential and log restores, checked when the task is submitted: no pending restore
// that recovers the database (nor a pending FINISH_RESTORE), and the database RESTORING or a restore WITH
// NORECOVERY queued before this one. Returns the database's name as the catalog or that task spells it.
std::string require_open_restore_chain(Context& context, const std::string& database, const char* kind) {
  auto pending = context.tasks.pending(database);
  for (const auto& task : pending) {
    if (tasks::restores_with_recovery(task.task_type)) {
      throw procedure_error(
          "You can't submit a restore task for a database that already has a pending restore task with "
          "RECOVERY.");
    }
    if (task.task_type == tasks::kFinishRestore) {
      throw procedure_error(
          "You can't submit a restore task for a database that already has a pending FINISH_RESTORE task.");
    }
  }
  std::string rule = std::string("For ") + kind +
                     " restores, either the database must be in the RESTORING state or a task must already "
                     "exist that restores with NORECOVERY. ";
  auto info = context.engine.find(database);
  if (info && info->state == engine::DatabaseState::kRestoring) return info->name;
  if (info) {
    throw procedure_error(rule + "Database '" + info->name + "' is " + engine::state_name(info->state) +
                          ": you can't restore " + kind + " backups while the database is online.");
  }
  // A task being cancelled will not leave the database RESTORING, so it does not count.
  for (const auto& task : pending) {
    if (tasks::restores_with_norecovery(task.task_type) && task.lifecycle != "CANCEL_REQUESTED")
      return task.database_name;
  }
  throw procedure_error(rule + "Database '" + database + "' does not exist.");
}

int64_t submit_restore(const char* task_type, const std::string& database, const std::string& arn,
                       const storage::S3ObjectArn& source, nlohmann::json parameters,
                       const std::optional<std::string>& kms, const Caller& caller, Context& context) {
  parameters["bucket"] = source.bucket;
  parameters["key"] = source.key;
  return context.tasks.submit(
      tasks::NewTask{task_type, database, arn, std::nullopt, kms, caller.login, std::move(parameters)});
}

void restore_database(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_restore_database",
                 {{"@restore_db_name", ParamType::kString, true},
                  {"@s3_arn_to_restore_from", ParamType::kString, true},
                  {"@with_norecovery", ParamType::kInt},
                  {"@keep_cdc", ParamType::kInt},
                  {"@kms_master_key_arn", ParamType::kString},
                  {"@block_size", ParamType::kInt},
                  {"@max_transfer_size", ParamType::kInt},
                  {"@buffer_count", ParamType::kInt},
                  {"@type", ParamType::kString}},
                 call);
  require_option(context);
  require_no_transaction(caller, "rds_restore_database");

  std::string database = checked_restore_name(args);
  std::string arn = args.string("@s3_arn_to_restore_from").value_or("");
  storage::S3ObjectArn source = restore_source(arn);
  std::string type = ascii_upper(args.string("@type").value_or("FULL"));
  if (type != "FULL" && type != "DIFFERENTIAL")
    throw procedure_error("Invalid @type '" + type + "': use FULL or DIFFERENTIAL.");
  bool differential = type == "DIFFERENTIAL";
  require_bit(args, "@with_norecovery");
  require_bit(args, "@keep_cdc");
  auto norecovery = args.integer("@with_norecovery");
  if (differential && !norecovery) {
    throw procedure_error(
        "@with_norecovery is required for differential restores: pass @with_norecovery=1 to leave the "
        "database RESTORING for more restores, or @with_norecovery=0 to recover it and open it.");
  }
  bool recover = norecovery.value_or(0) == 0;
  bool keep_cdc = args.integer("@keep_cdc").value_or(0) == 1;
  if (keep_cdc && !recover && !differential)
    throw procedure_error("Full restores with both NORECOVERY and KEEP_CDC aren't supported.");
  if (keep_cdc) throw not_supported_yet("@keep_cdc=1");
  nlohmann::json parameters = nlohmann::json::object();
  add_tuning(tuning_from(args), parameters);

  std::lock_guard lock(submission_mutex());
  const char* task_type = nullptr;
  if (differential) {
    database = require_open_restore_chain(context, database, "differential");
    task_type = recover ? tasks::kRestoreDbDifferential : tasks::kRestoreDbDifferentialNorecovery;
  } else {
    if (context.engine.find(database)) throw procedure_error(backup::database_exists_message(database));
    for (const auto& task : context.tasks.pending(database)) {
      if (tasks::changes_database(task.task_type)) {
        throw procedure_error(
            "You can't submit a restore task for a database that already has a pending restore task.");
      }
    }
    task_type = recover ? tasks::kRestoreDb : tasks::kRestoreDbNorecovery;
  }
  int64_t id =
      submit_restore(task_type, database, arn, source, std::move(parameters), kms_key(args), caller, context);
  send_tasks(context.tasks.list(std::nullopt, id), sink);
}

void restore_log(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_restore_log",
                 {{"@restore_db_name", ParamType::kString, true},
                  {"@s3_arn_to_restore_from", ParamType::kString, true},
                  {"@kms_master_key_arn", ParamType::kString},
                  {"@with_norecovery", ParamType::kInt},
                  {"@stopat", ParamType::kDateTime}},
                 call);
  require_option(context);
  require_no_transaction(caller, "rds_restore_log");

  std::string database = checked_restore_name(args);
  std::string arn = args.string("@s3_arn_to_restore_from").value_or("");
  storage::S3ObjectArn source = restore_source(arn);
  require_bit(args, "@with_norecovery");
  bool recover = args.integer("@with_norecovery").value_or(1) == 0;
  nlohmann::json parameters = nlohmann::json::object();
  if (auto stopat = args.datetime("@stopat")) {
    // @stopat is wall-clock time in the instance's time zone; the configuration allows only UTC so far,
    // where wall-clock time and Unix time agree.
    if (context.config.time_zone != "UTC")
      throw not_supported_yet("@stopat on an instance in time zone " + context.config.time_zone);
    parameters["stopat_us"] = *stopat;
    parameters["stopat"] = format_datetime(*stopat);
  }

  std::lock_guard lock(submission_mutex());
  database = require_open_restore_chain(context, database, "log");
  int64_t id = submit_restore(recover ? tasks::kRestoreDbLog : tasks::kRestoreDbLogNorecovery, database, arn,
                              source, std::move(parameters), kms_key(args), caller, context);
  send_tasks(context.tasks.list(std::nullopt, id), sink);
}

// --- rds_finish_restore, rds_drop_database -----------------------------------------------------------------

// Only the master login and the login that most recently restored the database or its log WITH NORECOVERY
// (a NORECOVERY restore still queued counts as the most recent) may finish or drop a RESTORING database.
void require_restorer(const Caller& caller, Context& context, const std::string& database,
                      const std::optional<engine::DatabaseInfo>& info,
                      const std::vector<tasks::TaskRecord>& pending, const std::string& action) {
  if (instance::Logins(context.msdb).is_master(caller.login)) return;
  std::string restorer = info ? info->restored_by : "";
  for (const auto& task : pending) {
    if (tasks::restores_with_norecovery(task.task_type)) restorer = task.login;
  }
  if (!restorer.empty() && ascii_lower(restorer) == ascii_lower(caller.login)) return;
  throw SqlError(229, 14,
                 "The login '" + caller.login + "' can't " + action + " database '" + database +
                     "': only the master login or the login that most recently restored the database or log "
                     "with NORECOVERY can.");
}

// The RESTORING database rds_finish_restore and rds_drop_database act on.
engine::DatabaseInfo restoring_database(const std::optional<engine::DatabaseInfo>& info,
                                        const std::string& database, const std::string& rule) {
  if (!info) throw no_such_database(database);
  if (info->state != engine::DatabaseState::kRestoring) {
    throw procedure_error("Database '" + info->name + "' is " + engine::state_name(info->state) + ": " +
                          rule);
  }
  return *info;
}

void finish_restore(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_finish_restore", {{"@db_name", ParamType::kString, true}}, call);
  require_option(context);
  require_no_transaction(caller, "rds_finish_restore");
  std::string database = args.string("@db_name").value_or("");

  std::lock_guard lock(submission_mutex());
  auto pending = context.tasks.pending(database);
  auto found = context.engine.find(database);
  require_restorer(caller, context, found ? found->name : database, found, pending, "finish the restore of");
  for (const auto& task : pending) {
    if (tasks::changes_database(task.task_type)) {
      throw procedure_error("Database '" + task.database_name + "' has a pending " + task.task_type +
                            " task (task " + std::to_string(task.task_id) +
                            "): to finish a restore, the database must be in the RESTORING state without any "
                            "pending restore tasks.");
    }
  }
  engine::DatabaseInfo info = restoring_database(
      found, database, "to finish a restore, the database must be in the RESTORING state.");
  if (info.restore_damaged) {
    throw procedure_error("Database '" + info.name +
                          "' can't be recovered: a restore into it failed while writing pages. Drop it with "
                          "rds_drop_database and restore the full backup again.");
  }
  int64_t id = context.tasks.submit(tasks::NewTask{
      tasks::kFinishRestore, info.name, std::nullopt, std::nullopt, std::nullopt, caller.login, {}});
  send_tasks(context.tasks.list(std::nullopt, id), sink);
}

void drop_database(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  Arguments args("rds_drop_database", {{"@db_name", ParamType::kString, true}}, call);
  require_no_transaction(caller, "rds_drop_database");
  std::string database = args.string("@db_name").value_or("");

  std::lock_guard lock(submission_mutex());
  auto pending = context.tasks.pending(database);
  auto found = context.engine.find(database);
  require_restorer(caller, context, found ? found->name : database, found, pending, "drop");
  for (const auto& task : pending) {
    if (tasks::changes_database(task.task_type)) {
      throw procedure_error(
          "You can't submit a DROP database request for a database that already has a pending restore or "
          "finish restore task.");
    }
  }
  engine::DatabaseInfo info = restoring_database(found, database,
                                                 "rds_drop_database drops only databases in the RESTORING "
                                                 "state. Use DROP DATABASE for other databases.");
  context.engine.drop_restoring(info.name);
  sink.message(Message{
      0, 1, 0, "Database '" + info.name + "' was dropped, and its backup history removed from msdb.", {}, 1});
}

// --- status, cancel, configuration -------------------------------------------------------------------------

void task_status(const ProcCall& call, const Caller&, Context& context, ResultSink& sink) {
  Arguments args("rds_task_status", {{"@db_name", ParamType::kString}, {"@task_id", ParamType::kInt}}, call);
  auto id = args.integer("@task_id");
  if (id && *id == 0) id.reset();  // RDS treats 0 as "all tasks"
  send_tasks(context.tasks.list(args.string("@db_name"), id), sink);
}

void cancel_task(const ProcCall& call, const Caller&, Context& context, ResultSink& sink) {
  Arguments args("rds_cancel_task", {{"@task_id", ParamType::kInt, true}}, call);
  auto id = args.integer("@task_id");
  if (!id) throw procedure_error("@task_id must not be NULL.");
  context.tasks.cancel(*id);
  send_tasks(context.tasks.list(std::nullopt, *id), sink);
}

constexpr const char* kCompression = "S3 backup compression";

void set_configuration(const ProcCall& call, const Caller&, Context& context, ResultSink& sink) {
  Arguments args("rds_set_configuration",
                 {{"@name", ParamType::kString, true}, {"@value", ParamType::kString, true}}, call);
  std::string name = args.string("@name").value_or("");
  std::string value = ascii_lower(args.string("@value").value_or(""));
  if (ascii_lower(name) != ascii_lower(kCompression)) {
    throw procedure_error("The configuration '" + name + "' is not supported. Supported: '" + kCompression +
                          "'.");
  }
  if (value != "true" && value != "false") {
    throw procedure_error("The value for '" + std::string(kCompression) + "' must be 'true' or 'false'.");
  }
  context.msdb.with([&](sqlite::Database& db) {
    db.prepare("UPDATE configuration SET value = ? WHERE name = ?")
        .bind(1, value)
        .bind(2, kCompression)
        .run();
  });
  sink.message(Message{
      0, 1, 0, "Configuration '" + std::string(kCompression) + "' is set to '" + value + "'.", {}, 1});
}

void show_configuration(const ProcCall& call, const Caller&, Context& context, ResultSink& sink) {
  Arguments args("rds_show_configuration", {{"@name", ParamType::kString}}, call);
  auto name = args.string("@name");
  sink.columns({{"name", ColumnType::kNVarChar, 128},
                {"value", ColumnType::kNVarChar, 128},
                {"description", ColumnType::kNVarChar, 4000}});
  uint64_t count = 0;
  if (!name || ascii_lower(*name) == ascii_lower(kCompression)) {
    std::string value = context.msdb.with([](sqlite::Database& db) {
      auto s = db.prepare("SELECT value FROM configuration WHERE name = ?");
      s.bind(1, kCompression);
      return s.step() ? s.get_text(0) : std::string("false");
    });
    sink.row({Value(std::string(kCompression)), Value(value),
              Value(std::string("Whether native backups to S3 are compressed (zstd)."))});
    ++count;
  }
  sink.done(count);
}

const std::vector<Procedure>& procedures() {
  static const std::vector<Procedure> list = {
      {"msdb", "rds_backup_database", backup_database},
      {"msdb", "rds_restore_database", restore_database},
      {"msdb", "rds_task_status", task_status},
      {"msdb", "rds_cancel_task", cancel_task},
      {"msdb", "rds_backup_log", backup_log},
      {"msdb", "rds_restore_log", restore_log},
      {"msdb", "rds_finish_restore", finish_restore},
      {"msdb", "rds_drop_database", drop_database},
      {"rdsadmin", "rds_set_configuration", set_configuration},
      {"rdsadmin", "rds_show_configuration", show_configuration},
  };
  return list;
}

}  // namespace

std::vector<std::string> procedure_names(const std::string& database) {
  std::vector<std::string> out;
  for (const auto& p : procedures()) {
    if (ascii_lower(database) == p.database) out.emplace_back(p.name);
  }
  return out;
}

bool is_procedure(const std::string& name, const std::string& current_database) {
  return resolve(name, current_database) != nullptr;
}

namespace {

std::string full_name(const Procedure& procedure) {
  return std::string(procedure.database) + ".dbo." + procedure.name;
}

}  // namespace

std::optional<std::string> procedure_full_name(const std::string& name, const std::string& current_database) {
  const Procedure* procedure = resolve(name, current_database);
  if (!procedure) return std::nullopt;
  return full_name(*procedure);
}

void call_procedure(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  const Procedure* procedure = resolve(call.name, caller.current_database);
  if (!procedure) throw SqlError(2812, 16, "Could not find stored procedure '" + call.name + "'.", 62);
  if (!instance::Logins(context.msdb).may_execute(caller.login, full_name(*procedure))) {
    throw SqlError(229, 14,
                   "The EXECUTE permission was denied on the object '" + std::string(procedure->name) +
                       "', database '" + procedure->database + "', schema 'dbo'.",
                   5);
  }
  procedure->handler(call, caller, context, sink);
}

namespace {

backup::BackupRequest backup_request(const tasks::TaskRecord& task) {
  backup::BackupRequest request;
  request.kind = task.task_type == tasks::kBackupDbDifferential ? backup::BackupKind::kDifferential
                 : task.task_type == tasks::kBackupLog          ? backup::BackupKind::kLog
                                                                : backup::BackupKind::kFull;
  request.task_id = task.task_id;
  request.backup_id = guid_from_string(task.parameters.value("backup_id", "")).value_or(Guid{});
  request.database = task.database_name;
  request.arn = task.s3_object_arn.value_or("");
  request.bucket = task.parameters.value("bucket", "");
  request.key = task.parameters.value("key", "");
  request.overwrite = task.overwrite_s3_backup_file.value_or(0) == 1;
  request.compress = task.parameters.value("compress", false);
  if (auto it = task.parameters.find("stripe_keys"); it != task.parameters.end() && it->is_array()) {
    for (const auto& key : *it) {
      if (key.is_string()) request.stripe_keys.push_back(key.get<std::string>());
    }
  }
  request.tuning = tuning_of(task.parameters);
  request.kms_key = task.kms_master_key_arn.value_or("");
  return request;
}

backup::RestoreRequest restore_request(const tasks::TaskRecord& task) {
  backup::RestoreRequest request;
  const std::string& type = task.task_type;
  request.kind = type.starts_with(tasks::kRestoreDbDifferential) ? backup::RestoreKind::kDifferential
                 : type.starts_with(tasks::kRestoreDbLog)        ? backup::RestoreKind::kLog
                                                                 : backup::RestoreKind::kFull;
  request.task_id = task.task_id;
  request.database = task.database_name;
  request.arn = task.s3_object_arn.value_or("");
  request.bucket = task.parameters.value("bucket", "");
  request.key = task.parameters.value("key", "");
  request.recover = tasks::restores_with_recovery(type);
  if (auto it = task.parameters.find("stopat_us"); it != task.parameters.end() && it->is_number_integer())
    request.stopat_us = it->get<int64_t>();
  request.login = task.login;
  request.tuning = tuning_of(task.parameters);
  request.kms_key = task.kms_master_key_arn.value_or("");
  return request;
}

// The task parameter in which a differential or log restore notes the redo point it starts from.
constexpr const char* kRedoPointBefore = "restore_lsn_before";

// What a task a restart interrupted had done; cleans up after those whose output is unusable.
tasks::TaskQueue::Settled recover_task(const tasks::TaskRecord& task, backup::Environment& env) {
  using Interrupted = tasks::TaskQueue::Interrupted;
  const std::string& type = task.task_type;
  if (tasks::is_backup_task(type)) {
    // The backupset row is written last: with it, the backup is complete.
    if (backup::settle_recorded_backup(task.task_id, task.database_name, env)) return Interrupted::kCompleted;
    // A partial upload is a temp file the object store removed when it opened. A published object of this
    // backup is whole (publishing is atomic): it is kept and recorded, never removed, since with
    // @overwrite_s3_backup_file=1 the object it replaced is gone already.
    if (task.parameters.contains("backup_id") &&
        backup::settle_interrupted_backup(backup_request(task), env) == backup::InterruptedBackup::kKept) {
      return {Interrupted::kCompleted,
              "The backup had been published when the instance restarted; it was verified, kept and recorded "
              "in msdb.dbo.backupset."};
    }
    return Interrupted::kRemoved;
  }
  auto info = env.engine.find(task.database_name);
  bool online = info && info->state == engine::DatabaseState::kOnline;
  if (tasks::is_full_restore(type)) {
    // The database did not exist before the task: whatever state it is in, this task put it there.
    bool restored = type == tasks::kRestoreDb ? online
                                              : info && info->state == engine::DatabaseState::kRestoring &&
                                                    info->restore_base_backup_id != Guid{} &&
                                                    info->restore_lsn && !info->restore_damaged;
    if (restored) return Interrupted::kCompleted;
    env.engine.discard_restoring(task.database_name);
    return Interrupted::kRemoved;
  }
  if (type == tasks::kFinishRestore && online) return Interrupted::kCompleted;
  // A roll-forward that completed before the restart. The database was RESTORING when it started (and no
  // other task of the database runs meanwhile): ONLINE now, a roll-forward WITH RECOVERY brought it there; a
  // redo point that moved on, without the damaged mark a roll-forward sets before its first page, means one
  // WITH NORECOVERY finished.
  if (tasks::restores_with_recovery(type) && online) return Interrupted::kCompleted;
  auto before = task.parameters.find(kRedoPointBefore);
  if (info && info->state == engine::DatabaseState::kRestoring && !info->restore_damaged &&
      info->restore_lsn && before != task.parameters.end() && before->is_number_integer() &&
      static_cast<int64_t>(*info->restore_lsn) != before->get<int64_t>())
    return Interrupted::kCompleted;
  // Otherwise differential and log restores and FINISH_RESTORE never discard the database: it stays
  // RESTORING, and the engine has marked it damaged if the restore was writing pages.
  return Interrupted::kStopped;
}

// The role of the instance's SQLSERVER_BACKUP_RESTORE option, for one task: what it may do is read when the
// task starts. Throws Access Denied if the role is gone.
std::shared_ptr<const iam::RolePolicies> task_role(const rds::OptionGroups& groups, const std::string& arn) {
  auto role = groups.roles().role_policies(arn);
  if (!role) {
    throw storage::StorageError(
        storage::StorageError::Kind::kAccessDenied,
        "Access Denied (the role " + arn + " that the SQLSERVER_BACKUP_RESTORE option names does not exist)");
  }
  return std::make_shared<const iam::RolePolicies>(std::move(*role));
}

// What one task reaches the store and the keys through, as the option's role. The instance's own role: every
// call checked here against its policies (iam/authorized_store.h, iam/authorized_kms.h). A role on AWS
// (iam/aws_roles.h): every call signed with the role's temporary keys, and checked by AWS. Throws the
// option's message if the option is gone.
struct TaskAccess {
  TaskAccess(const rds::OptionGroups& groups, storage::ObjectStore& inner, crypto::KeyService* key_service,
             const crypto::LocalKms* key_policies, iam::AwsRoles* aws_roles) {
    auto arn = groups.backup_restore_role();
    if (!arn) throw option_not_enabled();
    if (groups.is_aws_role(*arn) && aws_roles) {
      iam::AwsRoles::Access access = aws_roles->of(*arn);
      aws_store.emplace(inner, access.credentials, "the role " + *arn);
      aws_kms = access.kms;
      return;
    }
    auto role = task_role(groups, *arn);
    store.emplace(inner, role);
    if (!key_service) return;
    keys.emplace(*key_service, key_policies, role, groups.identity().account);
    if (aws_roles) {
      // Keys of the [aws] account: at AWS KMS, the role checked here and the key's policy there.
      aws_keys.emplace(aws_roles->instance_kms(), nullptr, role, groups.identity().account);
      router.emplace(*keys, *aws_keys, groups.aws_account());
    }
  }
  std::optional<iam::AuthorizedStore> store;
  std::optional<iam::AuthorizedKms> keys;
  std::optional<iam::AuthorizedKms> aws_keys;
  std::optional<crypto::KeyRouter> router;
  std::optional<storage::RoleSignedStore> aws_store;
  std::shared_ptr<crypto::KmsClient> aws_kms;

  backup::Environment environment(const backup::Environment& env) {
    if (aws_store) return env.with_access(*aws_store, aws_kms.get());
    if (router) return env.with_access(*store, &*router);
    return env.with_access(*store, keys ? &*keys : nullptr);
  }
};

}  // namespace

void install_task_runners(Context& context, double max_transfer_bytes_per_second) {
  auto env = std::make_shared<backup::Environment>(backup::Environment{
      context.engine, context.store, context.msdb, context.config, max_transfer_bytes_per_second});
  // The instance's own clean-up after a restart opens encrypted backups with its KMS directly.
  env->keys = context.keys;
  if (context.config.backup_threads > 0)
    env->zstd_threads = static_cast<unsigned>(context.config.backup_threads);
  env->zstd_level = context.config.zstd_level;
  tasks::TaskQueue& queue = context.tasks;
  const rds::OptionGroups& groups = context.option_groups;
  crypto::KeyService* key_service = context.keys;
  const crypto::LocalKms* key_policies = context.key_policies;
  iam::AwsRoles* aws_roles = context.aws_roles;
  auto backup_runner = [env, &queue, &groups, key_service, key_policies, aws_roles](
                           const tasks::TaskRecord& task, JobControl& control) {
    TaskAccess access(groups, env->store, key_service, key_policies, aws_roles);
    backup::Environment task_env = access.environment(*env);
    // The id goes into msdb before anything is uploaded, so a restart can tell this backup's object.
    Guid backup_id = random_guid();
    queue.add_parameters(task.task_id, {{"backup_id", guid_to_string(backup_id)}});
    backup::BackupRequest request = backup_request(task);
    request.backup_id = backup_id;
    backup::run_backup(request, task_env, control);
  };
  for (const char* type : {tasks::kBackupDb, tasks::kBackupDbDifferential, tasks::kBackupLog})
    queue.set_runner(type, backup_runner);
  auto restore_runner = [env, &queue, &groups, key_service, key_policies, aws_roles](
                            const tasks::TaskRecord& task, JobControl& control) {
    TaskAccess access(groups, env->store, key_service, key_policies, aws_roles);
    backup::Environment task_env = access.environment(*env);
    // A roll-forward notes the redo point it starts from, so that a restart can tell whether it completed.
    if (!tasks::is_full_restore(task.task_type)) {
      auto info = env->engine.find(task.database_name);
      if (info && info->restore_lsn)
        queue.add_parameters(task.task_id, {{kRedoPointBefore, static_cast<int64_t>(*info->restore_lsn)}});
    }
    backup::run_restore(restore_request(task), task_env, control);
  };
  for (const char* type :
       {tasks::kRestoreDb, tasks::kRestoreDbNorecovery, tasks::kRestoreDbDifferential,
        tasks::kRestoreDbDifferentialNorecovery, tasks::kRestoreDbLog, tasks::kRestoreDbLogNorecovery}) {
    queue.set_runner(type, restore_runner);
  }
  queue.set_runner(tasks::kFinishRestore, [env](const tasks::TaskRecord& task, JobControl& control) {
    env->engine.finish_restore(task.database_name);
    control.progress(100, "Database '" + task.database_name + "' was recovered and is ONLINE.");
  });
  queue.recover_interrupted([env](const tasks::TaskRecord& task) { return recover_task(task, *env); });
}

}  // namespace bakrest::procs
