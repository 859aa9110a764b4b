// The task types rds_task_status shows (docs/PROCEDURES.md), and what the queue and the procedures need to
// know about each.
#pragma once

#include <string_view>

namespace bakrest::tasks {

inline constexpr const char* kBackupDb = "BACKUP_DB";
inline constexpr const char* kBackupDbDifferential = "BACKUP_DB_DIFFERENTIAL";
inline constexpr const char* kBackupLog = "BACKUP_LOG";
inline constexpr const char* kRestoreDb = "RESTORE_DB";
inline constexpr const char* kRestoreDbNorecovery = "RESTORE_DB_NORECOVERY";
inline constexpr const char* kRestoreDbDifferential = "RESTORE_DB_DIFFERENTIAL";
inline constexpr const char* kRestoreDbDifferentialNorecovery = "RESTORE_DB_DIFFERENTIAL_NORECOVERY";
inline constexpr const char* kRestoreDbLog = "RESTORE_DB_LOG";
inline constexpr const char* kRestoreDbLogNorecovery = "RESTORE_DB_LOG_NORECOVERY";
inline constexpr const char* kFinishRestore = "FINISH_RESTORE";

inline bool is_backup_task(std::string_view type) {
  return type == kBackupDb || type == kBackupDbDifferential || type == kBackupLog;
}

// A restore of any kind, with or without recovery.
inline bool is_restore_task(std::string_view type) { return type.starts_with("RESTORE_DB"); }

// Restores and FINISH_RESTORE change the database itself: while one is pending, the procedures refuse
// tasks that would conflict with it.
inline bool changes_database(std::string_view type) {
  return is_restore_task(type) || type == kFinishRestore;
}

// A restore that leaves the database RESTORING, so that more can be restored after it.
inline bool restores_with_norecovery(std::string_view type) {
  return is_restore_task(type) && type.ends_with("_NORECOVERY");
}

// A restore that opens the database: nothing can be restored after it.
inline bool restores_with_recovery(std::string_view type) {
  return is_restore_task(type) && !type.ends_with("_NORECOVERY");
}

// A full restore creates the database; differential and log restores apply onto a RESTORING one.
inline bool is_full_restore(std::string_view type) {
  return type == kRestoreDb || type == kRestoreDbNorecovery;
}

}  // namespace bakrest::tasks
