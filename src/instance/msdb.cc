#include "instance/msdb.h"

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
  create_date    DATETIME NOT NULL
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
  database_name          NVARCHAR NOT NULL,
  database_guid          NVARCHAR NOT NULL,
  type                   NVARCHAR NOT NULL,  -- D full, I differential, L log
  backup_start_date      DATETIME NOT NULL,
  backup_finish_date     DATETIME NOT NULL,
  backup_size            BIGINT NOT NULL,
  compressed_backup_size BIGINT NOT NULL,
  first_lsn              BIGINT,
  last_lsn               BIGINT,
  media_arn              NVARCHAR NOT NULL,
  task_id                INT
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
CREATE VIEW IF NOT EXISTS sys_databases AS
  SELECT name, database_id, state AS state_desc, recovery_model AS recovery_model_desc, create_date
  FROM databases;
INSERT OR IGNORE INTO configuration (name, value) VALUES ('S3 backup compression', 'false');
)sql";

}  // namespace

Msdb::Msdb(std::filesystem::path file)
    : file_(std::move(file)), db_(file_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX) {
  db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
  sqlite::with_transaction(db_, [&] { db_.exec(kSchema); });
}

}  // namespace bakrest::instance
