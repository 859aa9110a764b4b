#include "procs/procedures.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <stdexcept>

#include "backup/jobs.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/ids.h"
#include "common/text.h"
#include "engine/database_name.h"
#include "procs/arguments.h"
#include "storage/arn.h"

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

void require_option(const Context& context) {
  if (!context.config.option_enabled("SQLSERVER_BACKUP_RESTORE")) {
    throw procedure_error(
        "Database backup/restore option is not enabled yet or is in the process of being enabled. Please try "
        "again later.");
  }
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

// --- rds_backup_database -----------------------------------------------------------------------------------

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

  std::string database = args.string("@source_db_name").value_or("");
  auto info = context.engine.find(database);
  if (!info) {
    throw procedure_error("Database '" + database +
                          "' does not exist. Make sure that the name is entered correctly.");
  }
  if (info->is_system)
    throw procedure_error("Backing up the system database '" + info->name + "' is not supported.");
  if (info->state != engine::DatabaseState::kOnline) {
    throw procedure_error("Database '" + info->name + "' can't be backed up: it is " +
                          engine::state_name(info->state) + ".");
  }
  std::string arn = args.string("@s3_arn_to_backup_to").value_or("");
  if (arn.empty()) throw procedure_error("S3 ARN cannot be empty");
  storage::S3ObjectArn target = parse_arn(arn);

  require_bit(args, "@overwrite_s3_backup_file");
  std::string type = ascii_upper(args.string("@type").value_or("FULL"));
  if (type == "DIFFERENTIAL") throw not_supported_yet("@type='DIFFERENTIAL' (differential backup)");
  if (type != "FULL") throw procedure_error("Invalid @type '" + type + "': use FULL or DIFFERENTIAL.");
  if (auto files = args.integer("@number_of_files")) {
    if (*files < 1 || *files > 10) throw procedure_error("@number_of_files must be between 1 and 10.");
    if (*files > 1) throw not_supported_yet("@number_of_files greater than 1 (multi-file backup)");
  }
  refuse_unsupported(args, {"@kms_master_key_arn", "@block_size", "@max_transfer_size", "@buffer_count",
                            "@enable_bucket_default_encryption"});

  bool compress = context.msdb.with([](sqlite::Database& db) {
    auto s = db.prepare("SELECT value FROM configuration WHERE name = 'S3 backup compression'");
    return s.step() && ascii_lower(s.get_text(0)) == "true";
  });
  int64_t overwrite = args.integer("@overwrite_s3_backup_file").value_or(0);
  tasks::NewTask task{"BACKUP_DB",
                      info->name,
                      arn,
                      overwrite,
                      std::nullopt,
                      caller.login,
                      {{"bucket", target.bucket}, {"key", target.key}, {"compress", compress}}};
  int64_t id = context.tasks.submit(task);
  send_tasks(context.tasks.list(std::nullopt, id), sink);
}

// --- rds_restore_database ----------------------------------------------------------------------------------

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

  std::string database = args.string("@restore_db_name").value_or("");
  if (auto problem = engine::database_name_problem(database)) {
    throw procedure_error("Invalid @restore_db_name '" + database + "'. " + *problem);
  }
  std::string arn = args.string("@s3_arn_to_restore_from").value_or("");
  if (arn.empty()) throw procedure_error("S3 ARN prefix cannot be empty");
  storage::S3ObjectArn source = parse_arn(arn);
  if (source.key.find('*') != std::string::npos) {
    throw not_supported_yet("Restoring from multiple files (an ARN with '*')");
  }
  std::string type = ascii_upper(args.string("@type").value_or("FULL"));
  if (type == "DIFFERENTIAL") throw not_supported_yet("@type='DIFFERENTIAL' (differential restore)");
  if (type != "FULL") throw procedure_error("Invalid @type '" + type + "': use FULL or DIFFERENTIAL.");
  require_bit(args, "@with_norecovery");
  require_bit(args, "@keep_cdc");
  if (args.integer("@with_norecovery").value_or(0) == 1)
    throw not_supported_yet("@with_norecovery=1 (NORECOVERY)");
  if (args.integer("@keep_cdc").value_or(0) == 1) throw not_supported_yet("@keep_cdc=1");
  refuse_unsupported(args, {"@kms_master_key_arn", "@block_size", "@max_transfer_size", "@buffer_count"});

  if (context.engine.find(database)) throw procedure_error(backup::database_exists_message(database));
  if (context.tasks.has_pending(database, {"RESTORE_DB"})) {
    throw procedure_error(
        "You can't submit a restore task for a database that already has a pending restore task.");
  }
  tasks::NewTask task{"RESTORE_DB",
                      database,
                      arn,
                      std::nullopt,
                      std::nullopt,
                      caller.login,
                      {{"bucket", source.bucket}, {"key", source.key}}};
  int64_t id = context.tasks.submit(task);
  send_tasks(context.tasks.list(std::nullopt, id), sink);
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

Handler not_yet(const char* name) {
  return [name](const ProcCall&, const Caller&, Context&, ResultSink&) { throw not_supported_yet(name); };
}

const std::vector<Procedure>& procedures() {
  static const std::vector<Procedure> list = {
      {"msdb", "rds_backup_database", backup_database},
      {"msdb", "rds_restore_database", restore_database},
      {"msdb", "rds_task_status", task_status},
      {"msdb", "rds_cancel_task", cancel_task},
      {"msdb", "rds_restore_log", not_yet("rds_restore_log")},
      {"msdb", "rds_finish_restore", not_yet("rds_finish_restore")},
      {"msdb", "rds_drop_database", not_yet("rds_drop_database")},
      {"rdsadmin", "rds_set_configuration", set_configuration},
      {"rdsadmin", "rds_show_configuration", show_configuration},
  };
  return list;
}

}  // namespace

bool is_procedure(const std::string& name, const std::string& current_database) {
  return resolve(name, current_database) != nullptr;
}

void call_procedure(const ProcCall& call, const Caller& caller, Context& context, ResultSink& sink) {
  const Procedure* procedure = resolve(call.name, caller.current_database);
  if (!procedure) throw SqlError(2812, 16, "Could not find stored procedure '" + call.name + "'.", 62);
  procedure->handler(call, caller, context, sink);
}

namespace {

backup::BackupRequest backup_request(const tasks::TaskRecord& task) {
  return backup::BackupRequest{task.task_id,
                               guid_from_string(task.parameters.value("backup_id", "")).value_or(Guid{}),
                               task.database_name,
                               task.s3_object_arn.value_or(""),
                               task.parameters.value("bucket", ""),
                               task.parameters.value("key", ""),
                               task.overwrite_s3_backup_file.value_or(0) == 1,
                               task.parameters.value("compress", false)};
}

}  // namespace

void install_task_runners(Context& context, double max_transfer_bytes_per_second) {
  auto env = std::make_shared<backup::Environment>(backup::Environment{
      context.engine, context.store, context.msdb, context.config, max_transfer_bytes_per_second});
  tasks::TaskQueue& queue = context.tasks;
  queue.set_runner("BACKUP_DB", [env, &queue](const tasks::TaskRecord& task, JobControl& control) {
    // The id goes into msdb before anything is uploaded, so a restart can tell this backup's object.
    Guid backup_id = random_guid();
    queue.add_parameters(task.task_id, {{"backup_id", guid_to_string(backup_id)}});
    backup::BackupRequest request = backup_request(task);
    request.backup_id = backup_id;
    backup::run_full_backup(request, *env, control);
  });
  queue.set_runner("RESTORE_DB", [env](const tasks::TaskRecord& task, JobControl& control) {
    backup::RestoreRequest request;
    request.task_id = task.task_id;
    request.database = task.database_name;
    request.arn = task.s3_object_arn.value_or("");
    request.bucket = task.parameters.value("bucket", "");
    request.key = task.parameters.value("key", "");
    backup::run_full_restore(request, *env, control);
  });
  queue.recover_interrupted([env](const tasks::TaskRecord& task) {
    using Interrupted = tasks::TaskQueue::Interrupted;
    if (task.task_type == "BACKUP_DB") {
      // A partial upload is a temp file the object store removed when it opened; a published object of
      // this backup goes too, as the task never recorded it.
      if (task.parameters.contains("backup_id"))
        backup::remove_interrupted_backup(backup_request(task), *env);
    } else if (task.task_type == "RESTORE_DB") {
      auto info = env->engine.find(task.database_name);
      if (info && info->state == engine::DatabaseState::kOnline) return Interrupted::kCompleted;
      env->engine.discard_restoring(task.database_name);
    }
    return Interrupted::kRemoved;
  });
}

}  // namespace bakrest::procs
