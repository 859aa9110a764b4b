// Restores: a full backup creates the database; differentials and logs roll a RESTORING database forward
// along its chain, checked the way SQL Server checks it, and STOPAT ends the roll-forward at a commit time.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "backup/backup_keys.h"
#include "backup/differential_body.h"
#include "backup/job_support.h"
#include "backup/jobs.h"
#include "backup/object_stream.h"
#include "backup/stripe_group.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite_file.h"
#include "engine/log_record.h"
#include "storage/arn.h"

namespace bakrest::backup {

namespace {

// An object opened as a backup.
struct OpenBackup {
  std::unique_ptr<storage::ObjectReader> object;
  std::unique_ptr<ObjectSource> source;
  std::unique_ptr<RestoreKey> key;
  std::unique_ptr<format::BackupReader> reader;
  const format::BackupHeader& header() const { return reader->header(); }
};

std::string object_arn(const RestoreRequest& request, const std::string& key) {
  return storage::s3_object_arn(request.bucket, key);
}

// Opens one object as a backup, reading it with `threads` threads (format::ReaderOptions) in reads of the
// restore's transfer size. Only the header has been read when it returns.
OpenBackup open_object(const RestoreRequest& request, Environment& env, const storage::CallContext& ctx,
                       const std::string& key, unsigned threads) {
  OpenBackup b;
  try {
    b.object = env.store.open(request.bucket, key, storage::ByteRange{}, ctx);
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kNoSuchKey) {
      throw task_error("The specified key does not exist: " + object_arn(request, key));
    }
    throw;
  }
  b.source = std::make_unique<ObjectSource>(*b.object, request.tuning.max_transfer_size);
  const unsigned in_flight = request.tuning.buffer_count;
  try {
    b.key = std::make_unique<RestoreKey>(env.keys, request.kms_key, object_arn(request, key));
    b.reader = std::make_unique<format::BackupReader>(
        *b.source,
        format::ReaderOptions{.threads = threads, .read_ahead = in_flight, .data_key = b.key.get()});
  } catch (const format::FormatError& e) {
    throw task_error("Please reissue task with correct type and overwrite property. " +
                     object_arn(request, key) + " is not a bakrest backup: " + e.what());
  }
  check_restore_key(b.header(), request.kms_key, object_arn(request, key));
  return b;
}

// The objects a restore reads: the one its ARN names, or for a wildcard ARN ("prefix*") every object with
// that prefix, which must be the files of one backup, each once (a multi-file backup's stripes).
struct BackupSet {
  std::vector<std::string> keys;  // in stripe order
  format::BackupHeader header;    // the first stripe's; the other stripes agree on all but the stripe index
  uint64_t bytes = 0;             // the objects' sizes
  size_t files() const { return keys.size(); }
};

// Whether two stripes' headers describe the same backup.
bool same_backup(const format::BackupHeader& a, const format::BackupHeader& b) {
  return a.backup_id == b.backup_id && a.stripe_count == b.stripe_count && a.type == b.type &&
         a.database_guid == b.database_guid && a.fork_guid == b.fork_guid && a.first_lsn == b.first_lsn &&
         a.last_lsn == b.last_lsn && a.page_size == b.page_size && a.page_count == b.page_count &&
         a.base_backup_id == b.base_backup_id && a.encryption == b.encryption &&
         a.kms_key_arn == b.kms_key_arn && a.wrapped_data_key == b.wrapped_data_key;
}

BackupSet find_backup_set(const RestoreRequest& request, Environment& env, const JobControl& control) {
  const storage::CallContext ctx = storage_context(control);
  std::vector<std::string> keys;
  const bool wildcard = request.key.ends_with('*');
  if (wildcard) {
    const std::string prefix = request.key.substr(0, request.key.size() - 1);
    for (const auto& match : env.store.list(request.bucket, prefix, ctx)) keys.push_back(match.key);
    if (keys.size() > format::kMaxStripeCount) {
      throw task_error(
          "The Restore task is unable to restore from more than 10 backup file(s). Please reduce the number "
          "of "
          "files matched and try again.");
    }
    if (keys.empty()) throw task_error("The specified key does not exist: " + request.arn);
  } else {
    // A '*' elsewhere in the key is part of the name (a backup with @number_of_files=1 keeps it).
    keys.push_back(request.key);
  }
  std::vector<std::optional<std::string>> by_stripe;
  BackupSet set;
  for (const std::string& key : keys) {
    OpenBackup opened = open_object(request, env, ctx, key, 1);
    const format::BackupHeader& header = opened.header();
    set.bytes += opened.object->size();
    if (by_stripe.empty()) {
      set.header = header;
      by_stripe.resize(header.stripe_count);
    } else if (!same_backup(header, set.header)) {
      throw task_error("The files " + request.arn + " matches are not all of one backup: " +
                       object_arn(request, keys.front()) + " and " + object_arn(request, key) +
                       " belong to different backups. Restore from an ARN that matches the files of one "
                       "backup only.");
    }
    auto& slot = by_stripe[header.stripe_index];
    if (slot) {
      throw task_error(
          "The files " + request.arn + " matches hold file " + std::to_string(header.stripe_index + 1) +
          " of the backup twice: " + object_arn(request, *slot) + " and " + object_arn(request, key) + ".");
    }
    slot = key;
  }
  std::string missing;
  for (size_t i = 0; i < by_stripe.size(); ++i) {
    if (!by_stripe[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(i + 1);
  }
  if (!missing.empty()) {
    if (!wildcard) {
      throw task_error(
          request.arn + " is file " + std::to_string(set.header.stripe_index + 1) + " of a backup in " +
          std::to_string(set.header.stripe_count) +
          " files. Restore all of them at once with an ARN ending in '*' that matches them, such "
          "as the name before its file number: for a backup to backup*.bak, "
          "arn:aws:s3:::bucket/backup*");
    }
    throw task_error("The backup " + request.arn + " matches is in " + std::to_string(by_stripe.size()) +
                     " files, and file(s) " + missing + " of it are missing; " + std::to_string(keys.size()) +
                     " file(s) match.");
  }
  for (auto& key : by_stripe) set.keys.push_back(std::move(*key));
  return set;
}

// Opens stripe `stripe` of the set for reading its body; it must still be the backup the set was made of.
OpenBackup open_stripe(const RestoreRequest& request, Environment& env, const storage::CallContext& ctx,
                       const BackupSet& set, size_t stripe) {
  const unsigned threads = std::max<unsigned>(1, env.zstd_threads / static_cast<unsigned>(set.files()));
  OpenBackup b = open_object(request, env, ctx, set.keys[stripe], threads);
  if (!same_backup(b.header(), set.header) || b.header().stripe_index != stripe)
    throw task_error(object_arn(request, set.keys[stripe]) + " changed while it was being restored.");
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

// Where % complete stands when a restore has written its last page: a recovering restore then makes the
// database durable and checks it (SQLite's quick_check reads the whole database, up to a third of a full
// restore's time: bench/backup_bench), one WITH NORECOVERY only makes it durable.
int written_percent(bool checks) { return checks ? 70 : 99; }

// Said in task_info before a recovering restore checks the database it wrote (engine/integrity.h).
constexpr const char* kCheckingLine =
    "Checking the restored database (SQLite quick_check) before it goes ONLINE.";

// Page 1 starts with SQLite's header, whose page size must agree with the backup's.
void check_first_page(std::span<const uint8_t> page, uint32_t page_size) {
  static constexpr char kMagic[] = "SQLite format 3";
  uint32_t stored = sqlite_page_size(page);
  if (std::memcmp(page.data(), kMagic, sizeof kMagic) != 0 || stored != page_size) {
    throw format::FormatError("backup is corrupt: page 1 is not the first page of a SQLite database with " +
                              std::to_string(page_size) + "-byte pages");
  }
}

// The RESTORING database a second pass writes to, once the backup has been verified.
std::unique_ptr<engine::RestoreTarget> continue_target(const RestoreRequest& request, Environment& env,
                                                       const format::BackupHeader& verified,
                                                       const char* statement) {
  auto target = env.engine.continue_restore(request.database);
  if (target->page_size() != verified.page_size)
    throw task_error(std::string(statement) + " failed: " + request.arn + " has " +
                     std::to_string(verified.page_size) + "-byte pages; the database being restored has " +
                     std::to_string(target->page_size()) + ".");
  return target;
}

// Gathers pages that follow each other into writes of up to max_bytes (write_pages is safe from the
// stripes' threads at once).
class PageRunWriter {
 public:
  PageRunWriter(engine::RestoreTarget& target, uint32_t page_size, size_t max_bytes)
      : target_(target), page_size_(page_size), max_bytes_(std::max<size_t>(max_bytes, page_size)) {}
  void add(uint32_t pgno, std::span<const uint8_t> page) {
    if (!run_.empty() && (pgno != first_ + run_.size() / page_size_ || run_.size() >= max_bytes_)) flush();
    if (run_.empty()) first_ = pgno;
    run_.insert(run_.end(), page.begin(), page.end());
  }
  void flush() {
    if (!run_.empty()) target_.write_pages(first_, run_);
    run_.clear();
  }

 private:
  engine::RestoreTarget& target_;
  uint32_t page_size_;
  size_t max_bytes_;
  uint64_t first_ = 0;
  std::vector<uint8_t> run_;
};

// Stored bytes read from a set's objects, shared by its stripes: for progress and the transfer-rate limit.
struct ReadProgress {
  explicit ReadProgress(double limit) : limiter(limit) {}
  RateLimiter limiter;
  std::atomic<uint64_t> bytes{0};
  // Adds what reader took since the last call (last: the stripe's own count).
  void account(const format::BackupReader& reader, uint64_t& last, const JobControl& control) {
    uint64_t now = reader.bytes_read();
    limiter.account(bytes += now - last, control);
    last = now;
  }
};

// --- differential
// -------------------------------------------------------------------------------------------

// One pass over every stripe of a differential backup, side by side: verifies each (target null) or writes
// its pages to target. Returns the pages it holds. Progress runs from progress_from to progress_to.
uint64_t differential_pass(const RestoreRequest& request, Environment& env, JobControl& control,
                           const BackupSet& set, engine::RestoreTarget* target, int progress_from,
                           int progress_to) {
  StripeGroup group(control);
  ReadProgress read(env.max_transfer_bytes_per_second);
  std::atomic<uint64_t> pages{0};
  const uint64_t total = std::max<uint64_t>(set.bytes, 1);
  group.run(
      set.files(),
      [&](size_t stripe) {
        OpenBackup b = open_stripe(request, env, group.storage_context(), set, stripe);
        format::PageRun run = format::stripe_pages(set.header.page_count, static_cast<uint16_t>(stripe),
                                                   static_cast<uint16_t>(set.files()));
        std::optional<PageRunWriter> writer;
        if (target) writer.emplace(*target, set.header.page_size, request.tuning.max_transfer_size);
        uint64_t last = 0;
        auto progress = [&] {
          group.check();
          read.account(*b.reader, last, control);
          group.notify();
        };
        try {
          pages += read_differential(*b.reader, b.header(), run, progress,
                                     [&](uint32_t pgno, std::span<const uint8_t> page) {
                                       if (writer) writer->add(pgno, page);
                                     });
        } catch (const format::FormatError& e) {
          throw task_error(std::string("RESTORE DATABASE failed: ") + e.what() + " (" +
                           object_arn(request, set.keys[stripe]) + ")");
        }
        if (writer) writer->flush();
        progress();
      },
      [&] {
        control.progress(progress_from + static_cast<int>(std::min(read.bytes.load(), total) *
                                                          (progress_to - progress_from) / total));
      });
  return pages;
}

void run_differential_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket, storage_context(control));
  int64_t begin = now_micros();
  BackupSet set = find_backup_set(request, env, control);
  const format::BackupHeader& header = set.header;
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
  const int written = written_percent(request.recover);
  differential_pass(request, env, control, set, nullptr, 0, written / 2);
  auto target = continue_target(request, env, header, "RESTORE DATABASE");
  uint64_t pages = differential_pass(request, env, control, set, target.get(), written / 2, written);
  target->truncate(header.page_count);
  if (request.recover) control.progress(written, kCheckingLine);
  target->finish(request.recover, header.last_lsn, Guid{}, request.login);
  control.progress(100, "RESTORE DATABASE successfully processed " + std::to_string(pages) + " pages " +
                            throughput(pages * header.page_size, elapsed(begin)) + ".");
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
  BackupSet set = find_backup_set(request, env, control);
  check_type(request, set.header, format::BackupType::kLog);
  // Log backups are written as one file (rds_backup_log has no @number_of_files).
  if (set.files() != 1)
    throw task_error("RESTORE LOG failed: " + request.arn + " is a log backup in " +
                     std::to_string(set.files()) + " files; bakrest writes log backups as one file.");
  OpenBackup first = open_stripe(request, env, storage_context(control), set, 0);
  const format::BackupHeader& header = first.header();
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
    read_log_body(*first.reader, header, control, 0, written_percent(request.recover) / 2,
                  [&](const engine::LogRecordHeader& h, const auto&) {
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
  OpenBackup second = open_stripe(request, env, storage_context(control), set, 0);
  auto target = continue_target(request, env, verified, "RESTORE LOG");
  uint64_t applied = 0, pages = 0;
  std::optional<uint64_t> size;  // the database's size in pages, once a record has set it
  try {
    read_log_body(*second.reader, verified, control, written_percent(request.recover) / 2,
                  written_percent(request.recover),
                  [&](const engine::LogRecordHeader& h, const auto& read_pages) {
                    if (h.lsn < plan.apply_from || h.lsn >= plan.apply_to) return;
                    read_pages([&](uint32_t pgno, std::span<const uint8_t> image) {
                      target->write_page(pgno, image);
                      ++pages;
                    });
                    // Setting the size it already has would change nothing (a record's pages all lie
                    // within its size), and costs a system call and a flush per transaction.
                    if (size != h.database_pages) target->truncate(h.database_pages);
                    size = h.database_pages;
                    ++applied;
                  });
  } catch (const format::FormatError& e) {
    throw task_error(std::string("RESTORE LOG failed: ") + e.what() + " (" + request.arn + ")");
  }
  // A STOPAT beyond the end of this log: more log may follow, so the database stays RESTORING (SQL Server's
  // message 4322) even if RECOVERY was asked for.
  bool more_may_follow = request.stopat_us && !plan.stopped_early;
  bool recover = request.recover && !more_may_follow;
  if (recover) control.progress(written_percent(true), kCheckingLine);
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

}  // namespace

void run_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  run_cancellable(control, [&] {
    // A key given is looked up first, whatever the backup turns out to be.
    if (!request.kms_key.empty()) check_key_exists(env.keys, request.kms_key);
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
  BackupSet set = find_backup_set(request, env, control);
  const format::BackupHeader& header = set.header;
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

  // Each stripe holds a run of pages (format::stripe_pages): the stripes are read side by side and each
  // writes its run in writes of max_transfer_size bytes.
  StripeGroup group(control);
  ReadProgress read(env.max_transfer_bytes_per_second);
  std::atomic<uint64_t> written{0};
  const uint64_t batch_pages = std::max<uint64_t>(1, request.tuning.max_transfer_size / header.page_size);
  group.run(
      set.files(),
      [&](size_t stripe) {
        OpenBackup b = open_stripe(request, env, group.storage_context(), set, stripe);
        format::PageRun run = format::stripe_pages(header.page_count, static_cast<uint16_t>(stripe),
                                                   static_cast<uint16_t>(set.files()));
        std::vector<uint8_t> batch(std::min(batch_pages, std::max<uint64_t>(run.count, 1)) *
                                   header.page_size);
        uint64_t last = 0;
        try {
          for (uint64_t done = 0; done < run.count;) {
            group.check();
            uint64_t n = std::min<uint64_t>(batch.size() / header.page_size, run.count - done);
            std::span<uint8_t> pages = std::span(batch).first(n * header.page_size);
            if (!read_exact(*b.reader, pages, "a page"))
              throw format::FormatError("backup is corrupt: header promises " + std::to_string(run.count) +
                                        " pages, body holds " + std::to_string(done));
            if (run.first + done == 1) check_first_page(pages.first(header.page_size), header.page_size);
            target->write_pages(run.first + done, pages);
            done += n;
            written += n;
            read.account(*b.reader, last, control);
            group.notify();
          }
          // The end of the body, where the reader checks the trailer and the digest.
          uint8_t extra;
          if (b.reader->read(std::span<uint8_t>(&extra, 1)) != 0)
            throw format::FormatError("backup is corrupt: the body holds more than the header's " +
                                      std::to_string(run.count) + " pages");
        } catch (const format::FormatError& e) {
          throw task_error(std::string("RESTORE DATABASE failed: ") + e.what() + " (" +
                           object_arn(request, set.keys[stripe]) + ")");
        }
      },
      [&] {
        control.progress(
            static_cast<int>(written.load() * written_percent(request.recover) / header.page_count));
      });
  control.check_cancelled();
  if (request.recover) control.progress(written_percent(request.recover), kCheckingLine);
  target->finish(request.recover, header.last_lsn, header.backup_id, request.login);
  control.progress(100, "RESTORE DATABASE successfully processed " + std::to_string(written.load()) +
                            " pages " + throughput(written.load() * header.page_size, elapsed(begin)) + ".");
}

}  // namespace bakrest::backup
