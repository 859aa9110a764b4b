// Restores: a full backup creates the database; differentials and logs roll a RESTORING database forward
// along its chain, checked the way SQL Server checks it, and STOPAT ends the roll-forward at a commit time.
#include <spdlog/spdlog.h>

#include <cstring>
#include <functional>
#include <vector>

#include "backup/differential_body.h"
#include "backup/job_support.h"
#include "backup/jobs.h"
#include "backup/object_stream.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite_file.h"
#include "engine/log_record.h"

namespace bakrest::backup {

namespace {

constexpr uint32_t kPagesPerProgressCheck = 64;

// An object opened as a backup.
struct OpenBackup {
  std::unique_ptr<storage::ObjectReader> object;
  std::unique_ptr<ObjectSource> source;
  std::unique_ptr<format::BackupReader> reader;
  const format::BackupHeader& header() const { return reader->header(); }
};

// The key a restore reads: its own, or for a wildcard ARN ("prefix*") the one object with that prefix.
// More than 10 matches is RDS's error; several (a multi-file backup's stripes) are not supported yet.
std::string resolve_key(const RestoreRequest& request, Environment& env, const JobControl& control) {
  if (!request.key.ends_with('*')) return request.key;
  const std::string prefix = request.key.substr(0, request.key.size() - 1);
  auto matches = env.store.list(request.bucket, prefix, storage_context(control));
  if (matches.size() > 10) {
    throw task_error(
        "The Restore task is unable to restore from more than 10 backup file(s). Please reduce the number of "
        "files matched and try again.");
  }
  if (matches.empty()) throw task_error("The specified key does not exist: " + request.arn);
  if (matches.size() > 1) {
    throw task_error("Restoring a multi-file backup (" + std::to_string(matches.size()) + " files match " +
                     request.arn + ") is not supported yet by bakrest.");
  }
  return matches.front().key;
}

OpenBackup open_backup(const RestoreRequest& request, Environment& env, const JobControl& control) {
  OpenBackup b;
  try {
    b.object = env.store.open(request.bucket, resolve_key(request, env, control), storage::ByteRange{},
                              storage_context(control));
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kNoSuchKey) {
      throw task_error("The specified key does not exist: " + request.arn);
    }
    throw;
  }
  b.source = std::make_unique<ObjectSource>(*b.object);
  try {
    b.reader =
        std::make_unique<format::BackupReader>(*b.source, format::ReaderOptions{.threads = env.zstd_threads});
  } catch (const format::FormatError& e) {
    throw task_error("Please reissue task with correct type and overwrite property. " + request.arn +
                     " is not a bakrest backup: " + e.what());
  }
  return b;
}

const char* type_name(format::BackupType type) {
  switch (type) {
    case format::BackupType::kFull:
      return "a full database backup";
    case format::BackupType::kDifferential:
      return "a differential backup";
    case format::BackupType::kLog:
      return "a log backup";
  }
  return "an unknown backup";
}

void check_type(const RestoreRequest& request, const format::BackupHeader& header, format::BackupType want) {
  if (header.type != want) {
    throw task_error("Please reissue task with correct type and overwrite property. " + request.arn + " is " +
                     type_name(header.type) + ", not " + type_name(want) + ".");
  }
}

std::string lsn_text(uint64_t lsn) { return std::to_string(lsn); }

// The RESTORING database a differential or log restore continues, with SQL Server's refusals.
engine::DatabaseInfo restoring_database(const RestoreRequest& request, Environment& env) {
  auto info = env.engine.find(request.database);
  if (!info || info->state != engine::DatabaseState::kRestoring || !info->restore_lsn) {
    throw task_error(
        "The log or differential backup cannot be restored because no files are ready to rollforward.");
  }
  if (info->restore_damaged) {
    throw task_error("Database '" + info->name +
                     "' was left inconsistent by a restore that failed while writing pages. Drop it with "
                     "rds_drop_database and restore the full backup again.");
  }
  return *info;
}

void check_recovery_path(const format::BackupHeader& header, const engine::DatabaseInfo& info) {
  if (header.database_guid != info.guid || header.fork_guid != info.fork_guid) {
    throw task_error(
        "This backup set cannot be applied because it is on a recovery path that is inconsistent with the "
        "database. The recovery path is the sequence of data and log backups that have brought the database "
        "to a particular recovery point. Find a compatible backup to restore, or restore the rest of the "
        "database to match a recovery point within this backup set, which will restore the database to a "
        "different point in time. For more information about recovery paths, see SQL Server Books Online.");
  }
}

int64_t elapsed(int64_t begin) { return now_micros() - begin; }

// The database a restore would produce must fit the instance's limit ([limits] max_database_gb; 10 GB on
// Express edition): a header or log record can ask for any size, and a sparse file costs nothing to make.
void check_database_size(const RestoreRequest& request, Environment& env, uint64_t pages, uint32_t page_size,
                         const char* statement) {
  uint64_t limit = env.config.max_database_bytes();
  // pages < 2^32 and page_size <= 2^16 (format/backup_file.h), so the product fits.
  uint64_t bytes = pages * page_size;
  if (bytes > limit) {
    throw task_error(std::string(statement) + " failed: " + request.arn + " would make database '" +
                     request.database + "' " + std::to_string(bytes) +
                     " bytes; this instance restores databases " + "of up to " + std::to_string(limit) +
                     " bytes ([limits] max_database_gb" +
                     (env.config.edition == "express" ? "; 10 GB on Express edition" : "") + ").");
  }
}

// Said in task_info before a recovering restore checks the database it wrote (engine/integrity.h).
constexpr const char* kCheckingLine =
    "Checking the restored database (SQLite quick_check) before it goes ONLINE.";

// The second pass of a differential or log restore: the backup opened again (it must be the one verified)
// and the RESTORING database opened for writing.
struct ApplyPass {
  OpenBackup backup;
  std::unique_ptr<engine::RestoreTarget> target;
};

ApplyPass begin_apply(const RestoreRequest& request, Environment& env, const JobControl& control,
                      const format::BackupHeader& verified, const char* statement) {
  ApplyPass pass{open_backup(request, env, control), nullptr};
  if (pass.backup.header().backup_id != verified.backup_id)
    throw task_error(std::string(statement) + " failed: " + request.arn +
                     " changed while it was being restored.");
  pass.target = env.engine.continue_restore(request.database);
  if (pass.target->page_size() != verified.page_size)
    throw task_error(std::string(statement) + " failed: " + request.arn + " has " +
                     std::to_string(verified.page_size) + "-byte pages; the database being restored has " +
                     std::to_string(pass.target->page_size()) + ".");
  return pass;
}

// --- differential
// -------------------------------------------------------------------------------------------

void run_differential_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket, storage_context(control));
  int64_t begin = now_micros();
  OpenBackup first = open_backup(request, env, control);
  const format::BackupHeader& header = first.header();
  check_type(request, header, format::BackupType::kDifferential);
  engine::DatabaseInfo info = restoring_database(request, env);
  if (header.base_backup_id != info.restore_base_backup_id || header.last_lsn < *info.restore_lsn) {
    throw task_error(
        "This differential backup cannot be restored because the database has not been restored to the "
        "correct earlier state.");
  }
  check_recovery_path(header, info);
  check_database_size(request, env, header.page_count, header.page_size, "RESTORE DATABASE");

  // Everything is read and verified once before a page is written, so a damaged backup changes nothing.
  try {
    read_differential(*first.reader, header, control, 0, 50, [](uint32_t, std::span<const uint8_t>) {});
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE DATABASE failed: ") + e.what() + " (" + request.arn + ")");
  }
  format::BackupHeader verified = header;
  first = {};
  ApplyPass pass = begin_apply(request, env, control, verified, "RESTORE DATABASE");
  // Named references, not structured bindings: the lambdas below capture them (clang before 16 can't).
  OpenBackup& second = pass.backup;
  auto& target = pass.target;
  uint64_t pages = 0;
  try {
    pages = read_differential(
        *second.reader, verified, control, 50, 100,
        [&](uint32_t pgno, std::span<const uint8_t> page) { target->write_page(pgno, page); });
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE DATABASE failed: ") + e.what() + " (" + request.arn + ")");
  }
  target->truncate(verified.page_count);
  if (request.recover) control.progress(100, kCheckingLine);
  target->finish(request.recover, verified.last_lsn, Guid{}, request.login);
  control.progress(100, "RESTORE DATABASE successfully processed " + std::to_string(pages) + " pages " +
                            throughput(pages * verified.page_size, elapsed(begin)) + ".");
}

// --- log
// ----------------------------------------------------------------------------------------------------

// Where a log restore stops, decided from the verified backup before anything is applied.
struct LogPlan {
  uint64_t apply_from = 0;     // the database's redo point
  uint64_t apply_to = 0;       // records below this are applied
  bool stopped_early = false;  // STOPAT fell inside the log
  uint64_t records = 0;
};

// Decodes the log body record by record: LSNs must run first_lsn .. last_lsn-1 without a gap.
void read_log_body(
    format::BackupReader& reader, const format::BackupHeader& header, JobControl& control, int progress_from,
    int progress_to,
    const std::function<void(const engine::LogRecordHeader&,
                             const std::function<void(const engine::LogStore::PageVisitor&)>&)>& visit) {
  engine::LogInput in = [&](std::span<uint8_t> out) -> size_t {
    size_t filled = 0;
    while (filled < out.size()) {
      size_t n = reader.read(out.subspan(filled));
      if (n == 0) break;
      filled += n;
    }
    return filled;
  };
  uint64_t expected = header.first_lsn;
  uint64_t span = std::max<uint64_t>(header.last_lsn - header.first_lsn, 1);
  engine::LogRecordHeader record;
  for (;;) {
    try {
      if (!engine::decode_log_record_header(in, record)) break;
    } catch (const engine::LogFormatError& e) {
      throw format::FormatError(std::string("backup is corrupt: ") + e.what());
    }
    if (record.lsn != expected || record.lsn >= header.last_lsn || record.page_size != header.page_size)
      throw format::FormatError("backup is corrupt: log record LSN " + std::to_string(record.lsn) +
                                " where LSN " + std::to_string(expected) + " belongs");
    bool consumed = false;
    visit(record, [&](const engine::LogStore::PageVisitor& on_page) {
      try {
        engine::decode_log_record_pages(in, record, on_page);
      } catch (const engine::LogFormatError& e) {
        throw format::FormatError(std::string("backup is corrupt: ") + e.what());
      }
      consumed = true;
    });
    if (!consumed) {
      try {
        engine::decode_log_record_pages(in, record, [](uint32_t, std::span<const uint8_t>) {});
      } catch (const engine::LogFormatError& e) {
        throw format::FormatError(std::string("backup is corrupt: ") + e.what());
      }
    }
    ++expected;
    control.check_cancelled();
    control.progress(progress_from + static_cast<int>((record.lsn - header.first_lsn + 1) *
                                                      (progress_to - progress_from) / span));
  }
  uint8_t extra;
  if (reader.read(std::span<uint8_t>(&extra, 1)) != 0 || expected != header.last_lsn)
    throw format::FormatError("backup is corrupt: the log body holds LSNs " +
                              std::to_string(header.first_lsn) + " to " + std::to_string(expected - 1) +
                              ", not up to " + std::to_string(header.last_lsn - 1));
}

void run_log_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket, storage_context(control));
  int64_t begin = now_micros();
  OpenBackup first = open_backup(request, env, control);
  const format::BackupHeader& header = first.header();
  check_type(request, header, format::BackupType::kLog);
  engine::DatabaseInfo info = restoring_database(request, env);
  check_recovery_path(header, info);
  uint64_t redo = *info.restore_lsn;
  if (header.first_lsn > redo) {
    throw task_error(
        "The log in this backup set begins at LSN " + lsn_text(header.first_lsn) +
        ", which is too recent to apply to the database. An earlier log backup that includes LSN " +
        lsn_text(redo) + " can be restored.");
  }
  bool empty = header.first_lsn == header.last_lsn;
  if (header.last_lsn < redo || (header.last_lsn == redo && !empty)) {
    throw task_error("The log in this backup set terminates at LSN " + lsn_text(header.last_lsn) +
                     ", which is too early to apply to the database. A more recent log backup that includes "
                     "LSN " +
                     lsn_text(redo) + " can be restored.");
  }

  // Verify everything and decide where STOPAT ends the roll-forward before a page is written.
  LogPlan plan;
  plan.apply_from = redo;
  plan.apply_to = header.last_lsn;
  std::optional<int64_t> first_applied_time;
  bool skipped_before_stop = false;
  try {
    read_log_body(*first.reader, header, control, 0, 50, [&](const engine::LogRecordHeader& h, const auto&) {
      check_database_size(request, env, h.database_pages, h.page_size, "RESTORE LOG");
      if (!request.stopat_us) return;
      if (h.lsn < redo) {
        if (h.commit_time_us <= *request.stopat_us) skipped_before_stop = true;
        return;
      }
      if (!first_applied_time) first_applied_time = h.commit_time_us;
      if (h.commit_time_us > *request.stopat_us && !plan.stopped_early) {
        plan.stopped_early = true;
        plan.apply_to = h.lsn;
      }
    });
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE LOG failed: ") + e.what() + " (" + request.arn + ")");
  }
  if (request.stopat_us && first_applied_time && *first_applied_time > *request.stopat_us) {
    if (skipped_before_stop) {
      throw task_error(
          "The specified STOPAT time is too early. All or part of the database is already rolled forward "
          "beyond "
          "that point.");
    }
    throw task_error(
        "The STOPAT clause specifies a point too early to allow this backup set to be restored. Choose a "
        "different stop point or use RESTORE DATABASE WITH RECOVERY to recover at the current point.");
  }
  format::BackupHeader verified = header;
  first = {};
  ApplyPass pass = begin_apply(request, env, control, verified, "RESTORE LOG");
  OpenBackup& second = pass.backup;
  auto& target = pass.target;
  uint64_t applied = 0, pages = 0;
  try {
    read_log_body(*second.reader, verified, control, 50, 100,
                  [&](const engine::LogRecordHeader& h, const auto& read_pages) {
                    if (h.lsn < plan.apply_from || h.lsn >= plan.apply_to) return;
                    read_pages([&](uint32_t pgno, std::span<const uint8_t> image) {
                      target->write_page(pgno, image);
                      ++pages;
                    });
                    target->truncate(h.database_pages);
                    ++applied;
                  });
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE LOG failed: ") + e.what() + " (" + request.arn + ")");
  }
  // A STOPAT beyond the end of this log: more log may follow, so the database stays RESTORING (SQL Server's
  // message 4322) even if RECOVERY was asked for.
  bool more_may_follow = request.stopat_us && !plan.stopped_early;
  bool recover = request.recover && !more_may_follow;
  if (recover) control.progress(99, kCheckingLine);
  target->finish(recover, plan.apply_to, Guid{}, request.login);
  std::string done = "RESTORE LOG successfully processed " + std::to_string(applied) + " transactions (" +
                     std::to_string(pages) + " pages) " +
                     throughput(pages * verified.page_size, elapsed(begin)) + ".";
  if (more_may_follow) {
    control.progress(99,
                     "This backup set contains records that were logged before the designated point in "
                     "time. The database is being left in the restoring state so that more roll forward "
                     "can be performed.");
  }
  control.progress(100, done);
}

// Page 1 starts with SQLite's header, whose page size must agree with the backup's.
void check_first_page(const std::vector<uint8_t>& page, uint32_t page_size) {
  static constexpr char kMagic[] = "SQLite format 3";
  uint32_t stored = sqlite_page_size(page);
  if (std::memcmp(page.data(), kMagic, sizeof kMagic) != 0 || stored != page_size) {
    throw format::FormatError("backup is corrupt: page 1 is not the first page of a SQLite database with " +
                              std::to_string(page_size) + "-byte pages");
  }
}

}  // namespace

void run_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  run_cancellable(control, [&] {
    switch (request.kind) {
      case RestoreKind::kFull:
        return run_full_restore(request, env, control);
      case RestoreKind::kDifferential:
        return run_differential_restore(request, env, control);
      case RestoreKind::kLog:
        return run_log_restore(request, env, control);
    }
  });
}

void run_full_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket, storage_context(control));
  int64_t begin = now_micros();
  OpenBackup backup = open_backup(request, env, control);
  const format::BackupHeader& header = backup.header();
  check_type(request, header, format::BackupType::kFull);
  // The reader has checked the header's ranges (a SQLite page size, 1.. pages); the size is the instance's.
  check_database_size(request, env, header.page_count, header.page_size, "RESTORE DATABASE");

  std::unique_ptr<engine::RestoreTarget> target;
  try {
    target =
        env.engine.begin_restore(request.database, header.database_guid, header.fork_guid, header.page_size);
  } catch (const SqlError& e) {
    if (e.message().number == 1801) throw task_error(database_exists_message(request.database));
    throw;
  }

  std::vector<uint8_t> page(header.page_size);
  uint64_t pgno = 0;
  RateLimiter limiter(env.max_transfer_bytes_per_second);
  try {
    while (read_exact(*backup.reader, page, "a page")) {
      if (pgno == 0) check_first_page(page, header.page_size);
      target->write_page(++pgno, page);
      if (pgno % kPagesPerProgressCheck == 0) {
        control.check_cancelled();
        limiter.account(backup.reader->bytes_read(), control);
        control.progress(static_cast<int>(pgno * 100 / header.page_count));
      }
    }
    if (pgno != header.page_count) {
      throw format::FormatError("backup is corrupt: header promises " + std::to_string(header.page_count) +
                                " pages, body holds " + std::to_string(pgno));
    }
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE DATABASE failed: ") + e.what() + " (" + request.arn + ")");
  }
  control.check_cancelled();
  if (request.recover) control.progress(100, kCheckingLine);
  target->finish(request.recover, header.last_lsn, header.backup_id, request.login);
  control.progress(100, "RESTORE DATABASE successfully processed " + std::to_string(pgno) + " pages " +
                            throughput(pgno * header.page_size, elapsed(begin)) + ".");
}

}  // namespace bakrest::backup
