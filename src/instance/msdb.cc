#include "instance/msdb.h"

#include <stdexcept>
#include <string>

#include "common/private_files.h"

namespace bakrest::instance {

namespace {

// Column types are declared as SQL Server names: the SQL executor uses them to choose TDS types.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS databases (
  database_id    INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a stale id can't name a new database
  name           NVARCHAR NOT NULL,
  name_key       NVARCHAR NOT NULL UNIQUE,  -- name folded for case and accents
  guid           NVARCHAR NOT NULL,
  fork_guid      NVARCHAR NOT NULL,         -- recovery fork: new at creation and at every recovering restore
  file           NVARCHAR,                  -- relative to the databases directory; NULL for msdb
  state          NVARCHAR NOT NULL,         -- ONLINE, RESTORING
  recovery_model NVARCHAR NOT NULL DEFAULT 'FULL',
  is_system      BIT NOT NULL DEFAULT 0,
  create_date    DATETIME NOT NULL,
  log_chain_lsn  BIGINT,                    -- FULL: first LSN the next log backup holds; NULL: no chain
  restore_lsn    BIGINT,                    -- RESTORING: redo point; ONLINE: where the log began
  restore_base_backup_id NVARCHAR,          -- RESTORING: the full backup restored (a differential's base)
  restored_by    NVARCHAR,                  -- RESTORING: login of the last NORECOVERY restore
  restore_damaged BIT NOT NULL DEFAULT 0    -- a differential/log restore failed while writing pages
);
CREATE TABLE IF NOT EXISTS tasks (
  task_id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  task_type                NVARCHAR NOT NULL,
  database_name            NVARCHAR NOT NULL,
  percent_complete         INT NOT NULL DEFAULT 0,
  lifecycle                NVARCHAR NOT NULL,
  task_info                NVARCHAR,
  last_updated             DATETIME NOT NULL,
  created_at               DATETIME NOT NULL,
  started_at               DATETIME,
  finished_at              DATETIME,
  s3_object_arn            NVARCHAR,
  overwrite_s3_backup_file INT,
  kms_master_key_arn       NVARCHAR,
  filepath                 NVARCHAR,
  overwrite_file           INT,
  login                    NVARCHAR,
  parameters               NVARCHAR      -- JSON: what the worker needs beyond the columns above
);
CREATE TABLE IF NOT EXISTS backupset (
  backup_set_id          INTEGER PRIMARY KEY,
  backup_set_uuid        UNIQUEIDENTIFIER,   -- the backup ID in the backup's header
  media_set_id           INT,                -- joins backupmediafamily
  database_name          NVARCHAR NOT NULL,
  database_guid          UNIQUEIDENTIFIER NOT NULL,
  family_guid            UNIQUEIDENTIFIER,
  type                   CHAR(1) NOT NULL,   -- D full, I differential, L log
  backup_start_date      DATETIME NOT NULL,
  backup_finish_date     DATETIME NOT NULL,
  backup_size            BIGINT NOT NULL,
  compressed_backup_size BIGINT NOT NULL,
  first_lsn              BIGINT,
  last_lsn               BIGINT,             -- the next LSN after the backup
  checkpoint_lsn         BIGINT,
  database_backup_lsn    BIGINT,             -- checkpoint_lsn of the full backup the chain rests on
  differential_base_lsn  BIGINT,
  differential_base_guid UNIQUEIDENTIFIER,
  first_recovery_fork_guid UNIQUEIDENTIFIER,
  last_recovery_fork_guid  UNIQUEIDENTIFIER,
  recovery_model         NVARCHAR,
  is_copy_only           BIT NOT NULL DEFAULT 0,
  media_arn              NVARCHAR NOT NULL,
  task_id                INT
);
CREATE TABLE IF NOT EXISTS backupmediafamily (
  media_set_id           INT NOT NULL,
  family_sequence_number TINYINT NOT NULL,
  media_family_id        UNIQUEIDENTIFIER,
  logical_device_name    NVARCHAR,
  physical_device_name   NVARCHAR NOT NULL,  -- the object's ARN
  endpoint               NVARCHAR,           -- where its bucket is: the S3 endpoint's URL, or file://<dir>
  device_type            TINYINT NOT NULL,   -- 9: URL
  physical_block_size    INT,
  mirror                 TINYINT NOT NULL DEFAULT 0,
  PRIMARY KEY (media_set_id, family_sequence_number)
);
CREATE TABLE IF NOT EXISTS configuration (
  name  NVARCHAR PRIMARY KEY,
  value NVARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS logins (
  name          NVARCHAR PRIMARY KEY COLLATE NOCASE,
  salt          VARBINARY NOT NULL,
  password_hash VARBINARY NOT NULL,
  iterations    INT NOT NULL,
  is_master     BIT NOT NULL,
  create_date   DATETIME NOT NULL
);
-- What GRANT EXECUTE gave logins other than the master login (object: msdb.dbo.rds_backup_database).
CREATE TABLE IF NOT EXISTS login_permissions (
  login      NVARCHAR NOT NULL COLLATE NOCASE,
  permission NVARCHAR NOT NULL,
  object     NVARCHAR NOT NULL COLLATE NOCASE,
  PRIMARY KEY (login, permission, object)
);
-- Access keys the control endpoint takes (control/access_keys.h): each secret sealed by the keyring.
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id NVARCHAR PRIMARY KEY,
  login         NVARCHAR NOT NULL COLLATE NOCASE,
  sealed_secret VARBINARY NOT NULL,
  create_date   DATETIME NOT NULL
);
-- IAM roles and policies the control endpoint keeps (iam/role_store.h). Names compare without case, as IAM's.
CREATE TABLE IF NOT EXISTS iam_roles (
  name                 NVARCHAR PRIMARY KEY COLLATE NOCASE,
  path                 NVARCHAR NOT NULL,
  role_id              NVARCHAR NOT NULL,
  description          NVARCHAR NOT NULL,
  trust_policy         NVARCHAR NOT NULL,
  max_session_duration INT NOT NULL,
  create_date          INT NOT NULL
);
CREATE TABLE IF NOT EXISTS iam_role_policies (
  role     NVARCHAR NOT NULL COLLATE NOCASE,
  name     NVARCHAR NOT NULL,
  document NVARCHAR NOT NULL,
  PRIMARY KEY (role, name)
);
CREATE TABLE IF NOT EXISTS iam_policies (
  name        NVARCHAR PRIMARY KEY COLLATE NOCASE,
  path        NVARCHAR NOT NULL,
  policy_id   NVARCHAR NOT NULL,
  description NVARCHAR NOT NULL,
  document    NVARCHAR NOT NULL,
  create_date INT NOT NULL
);
CREATE TABLE IF NOT EXISTS iam_role_attachments (
  role   NVARCHAR NOT NULL COLLATE NOCASE,
  policy NVARCHAR NOT NULL COLLATE NOCASE,
  PRIMARY KEY (role, policy)
);
-- RDS option groups (rds/option_groups.h): names in lower case, as RDS keeps them. SQLSERVER_BACKUP_RESTORE,
-- the one option, has the one setting IAM_ROLE_ARN. instance_option_group: the group this instance is in.
CREATE TABLE IF NOT EXISTS option_groups (
  name                 NVARCHAR PRIMARY KEY,
  description          NVARCHAR NOT NULL,
  engine_name          NVARCHAR NOT NULL,
  major_engine_version NVARCHAR NOT NULL,
  create_date          INT NOT NULL
);
CREATE TABLE IF NOT EXISTS option_group_options (
  option_group NVARCHAR NOT NULL,
  option_name  NVARCHAR NOT NULL,
  iam_role_arn NVARCHAR,
  PRIMARY KEY (option_group, option_name)
);
CREATE TABLE IF NOT EXISTS instance_option_group (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  name NVARCHAR NOT NULL
);
CREATE VIEW IF NOT EXISTS sys_databases AS
  SELECT name, database_id, state AS state_desc, recovery_model AS recovery_model_desc, create_date
  FROM databases;
INSERT OR IGNORE INTO configuration (name, value) VALUES ('S3 backup compression', 'false');
)sql";

// msdb's schema version (PRAGMA user_version). Version 1 had no transaction-log columns; its data
// directories come from development builds only, so they are refused rather than migrated. Version 2
// lacked backupmediafamily.endpoint (added when buckets could be on S3): it is migrated.
constexpr int kSchemaVersion = 3;

}  // namespace

namespace {

// msdb holds the password hashes: its file (and with it SQLite's -wal and -shm) is private.
const std::filesystem::path& private_file(const std::filesystem::path& file) {
  create_private_file(file);
  return file;
}

}  // namespace

Msdb::Msdb(std::filesystem::path file)
    : file_(std::move(file)),
      db_(private_file(file_), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX) {
  db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
  sqlite::with_transaction(db_, [&] {
    auto version = db_.prepare("PRAGMA user_version");
    version.step();
    int found = static_cast<int>(version.get_int(0));
    bool has_tables = db_.prepare("SELECT 1 FROM sqlite_master WHERE name = 'databases'").step();
    if (has_tables && found == 2) {
      db_.exec("ALTER TABLE backupmediafamily ADD COLUMN endpoint NVARCHAR");
      found = kSchemaVersion;
    }
    if (has_tables && found != kSchemaVersion) {
      throw std::runtime_error("msdb in " + file_.string() + " has schema version " + std::to_string(found) +
                               "; this bakrest needs version " + std::to_string(kSchemaVersion) +
                               " (data directories of development builds before the transaction log must "
                               "be recreated)");
    }
    db_.exec(kSchema);
    db_.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  });
}

}  // namespace bakrest::instance
