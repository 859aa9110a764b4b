// Backups: a full image, the pages changed since the last full backup, or the log since the last log backup,
// through the backup format into one object.
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
#include "engine/log_record.h"

namespace bakrest::backup {

namespace {

constexpr uint32_t kPagesPerProgressCheck = 64;

std::string capitalized(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// RDS's checks before a backup starts.
void check_backup_request(const BackupRequest& request, Environment& env, const JobControl& control) {
  const storage::CallContext ctx = storage_context(control);
  check_bucket(env, request.bucket, ctx);
  if (request.compress && env.config.edition != "standard" && env.config.edition != "enterprise") {
    throw task_error("BACKUP DATABASE WITH COMPRESSION isn't supported on " +
                     capitalized(env.config.edition) + " Edition");
  }
  if (!request.overwrite && env.store.exists(request.bucket, request.key, ctx)) {
    throw task_error("Please reissue task with correct type and overwrite property");
  }
}

format::BackupHeader base_header(const BackupRequest& request, const engine::DatabaseInfo& info,
                                 Environment& env, int64_t begin) {
  format::BackupHeader header;
  header.database_name = info.name;
  header.database_guid = info.guid;
  header.backup_id = request.backup_id;
  header.fork_guid = info.fork_guid;
  header.recovery_model = recovery_model_code(info.recovery_model);
  header.begin_time_us = begin;
  header.time_zone = env.config.time_zone;
  header.compression = request.compress ? format::Compression::kZstd : format::Compression::kNone;
  return header;
}

struct Published {
  format::BackupTrailer trailer;
  uint64_t stored_bytes = 0;
  int64_t end_us = 0;
};

// Writes header and body (write_body) into the object and publishes it atomically; nothing is left
// behind if anything throws.
Published publish(const BackupRequest& request, Environment& env, const format::BackupHeader& header,
                  JobControl& control,
                  const std::function<void(format::BackupWriter&, RateLimiter&)>& write_body) {
  // Checked up front to fail early, and enforced again atomically when the object is published.
  auto object = env.store.create(request.bucket, request.key,
                                 request.overwrite ? storage::IfExists::kReplace : storage::IfExists::kFail,
                                 storage_context(control));
  if (const uint64_t limit = object->buffer_limit_bytes(); limit > 0) {
    // The memory a remote upload may hold is bounded; say how much (docs/OPERATIONS.md, "S3 buckets").
    control.progress(0, "Uploading to " + env.store.endpoint(request.bucket) + " with at most " +
                            std::to_string(limit >> 20) + " MiB of parts in memory.");
  }
  ObjectSink sink(*object);
  // Chunks are compressed on a pool of threads; without compression a chunk only needs its checksum, which
  // costs less than handing it to another thread (bench/backup_bench).
  unsigned threads = header.compression == format::Compression::kNone ? 1 : env.zstd_threads;
  format::BackupWriter writer(sink, header, {.threads = threads});
  RateLimiter limiter(env.max_transfer_bytes_per_second);
  write_body(writer, limiter);
  control.check_cancelled();
  Published out;
  out.end_us = now_micros();
  out.trailer = writer.finish(out.end_us);
  try {
    object->commit();
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kAlreadyExists) {
      throw task_error("Please reissue task with correct type and overwrite property");
    }
    throw;
  }
  out.stored_bytes = object->bytes_written();
  return out;
}

engine::DatabaseInfo find_database(Environment& env, const std::string& name) {
  auto info = env.engine.find(name);
  if (!info) throw task_error("Database '" + name + "' no longer exists.");
  return *info;
}

BackupRecord record_for(Environment& env, const BackupRequest& request, const engine::DatabaseInfo& info,
                        const format::BackupHeader& header, const Published& published) {
  BackupRecord r;
  r.database_name = info.name;
  r.database_guid = info.guid;
  r.backup_id = request.backup_id;
  r.fork_guid = info.fork_guid;
  r.recovery_model = info.recovery_model;
  r.start_us = header.begin_time_us;
  r.finish_us = published.end_us;
  r.backup_size = published.trailer.body_bytes;
  r.compressed_size = published.stored_bytes;
  r.first_lsn = header.first_lsn;
  r.last_lsn = header.last_lsn;
  r.checkpoint_lsn = header.first_lsn;
  r.arn = request.arn;
  r.endpoint = env.store.endpoint(request.bucket);
  r.task_id = request.task_id;
  return r;
}

void run_differential_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  check_backup_request(request, env, control);
  int64_t begin = now_micros();
  engine::DifferentialSnapshot diff = env.engine.differential_snapshot(request.database);
  engine::DatabaseInfo info = find_database(env, request.database);
  engine::PageSnapshot& image = *diff.image;

  format::BackupHeader header = base_header(request, info, env, begin);
  header.type = format::BackupType::kDifferential;
  header.base_backup_id = diff.base.backup_id;
  header.first_lsn = header.last_lsn = image.lsn() + 1;
  header.page_size = image.page_size();
  header.page_count = image.page_count();

  uint64_t changed = 0;
  std::vector<uint8_t> page(header.page_size), entry;
  Published published =
      publish(request, env, header, control, [&](format::BackupWriter& writer, RateLimiter& limiter) {
        for (uint64_t pgno = 1; pgno <= header.page_count; ++pgno) {
          if (pgno % kPagesPerProgressCheck == 0) {
            control.check_cancelled();
            limiter.account(writer.bytes_written(), control);
            control.progress(static_cast<int>(pgno * 100 / header.page_count));
          }
          // Only changed pages are read at all: the bitmap, not the image, decides.
          if (!diff.changed.test(static_cast<uint32_t>(pgno))) continue;
          image.read_page(pgno, page);
          encode_page_entry(static_cast<uint32_t>(pgno), page, entry);
          writer.write(entry);
          ++changed;
        }
      });
  BackupRecord record = record_for(env, request, info, header, published);
  record.type = 'I';
  record.database_backup_lsn = record.differential_base_lsn = diff.base.lsn + 1;
  record.differential_base_guid = diff.base.backup_id;
  record_backup(env, record);
  control.progress(100, "BACKUP DATABASE WITH DIFFERENTIAL successfully processed " +
                            std::to_string(changed) + " of " + std::to_string(header.page_count) + " pages " +
                            throughput(published.trailer.body_bytes, published.end_us - begin) + ".");
}

void run_log_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  check_backup_request(request, env, control);
  int64_t begin = now_micros();
  auto source = env.engine.begin_log_backup(request.database);
  engine::DatabaseInfo info = find_database(env, request.database);
  auto base = env.engine.differential_base(request.database);

  format::BackupHeader header = base_header(request, info, env, begin);
  header.type = format::BackupType::kLog;
  header.first_lsn = source->first_lsn();
  header.last_lsn = source->last_lsn();
  header.page_size = source->page_size();
  header.page_count = 0;

  uint64_t records = 0;
  uint64_t span = std::max<uint64_t>(header.last_lsn - header.first_lsn, 1);
  Published published =
      publish(request, env, header, control, [&](format::BackupWriter& writer, RateLimiter& limiter) {
        source->read([&](const engine::LogRecordHeader& h, const auto& read_pages) {
          // Records go into the backup exactly as the log holds them; their checksums are checked on the way.
          engine::LogRecordEncoder encoder(h, [&](std::span<const uint8_t> bytes) { writer.write(bytes); });
          read_pages([&](uint32_t pgno, std::span<const uint8_t> image) { encoder.add_page(pgno, image); });
          encoder.finish();
          ++records;
          control.check_cancelled();
          limiter.account(writer.bytes_written(), control);
          control.progress(static_cast<int>((h.lsn - header.first_lsn + 1) * 100 / span));
        });
        if (records != header.last_lsn - header.first_lsn)
          throw task_error("BACKUP LOG read " + std::to_string(records) + " records where " +
                           std::to_string(header.last_lsn - header.first_lsn) + " were expected");
      });
  BackupRecord record = record_for(env, request, info, header, published);
  record.type = 'L';
  if (base) record.database_backup_lsn = base->lsn + 1;
  record_backup(env, record);
  source->succeeded();
  control.progress(100, "BACKUP LOG successfully processed " + std::to_string(records) +
                            " transactions (LSN " + std::to_string(header.first_lsn) + " to " +
                            std::to_string(header.last_lsn) + ") " +
                            throughput(published.trailer.body_bytes, published.end_us - begin) + ".");
}

}  // namespace

std::string database_exists_message(const std::string& name) {
  return "Database '" + name +
         "' already exists. Two databases that differ only by case or accent are not allowed. Choose a "
         "different database name.";
}

void run_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  run_cancellable(control, [&] {
    switch (request.kind) {
      case BackupKind::kFull:
        return run_full_backup(request, env, control);
      case BackupKind::kDifferential:
        return run_differential_backup(request, env, control);
      case BackupKind::kLog:
        return run_log_backup(request, env, control);
    }
  });
}

void run_full_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  check_backup_request(request, env, control);
  int64_t begin = now_micros();
  auto snapshot = env.engine.snapshot(request.database);
  engine::DatabaseInfo info = find_database(env, request.database);
  auto previous_base = env.engine.differential_base(request.database);

  format::BackupHeader header = base_header(request, info, env, begin);
  header.type = format::BackupType::kFull;
  // The image holds every transaction below last_lsn: a log backup that starts at or before it continues it.
  header.first_lsn = header.last_lsn = snapshot->lsn() + 1;
  header.page_size = snapshot->page_size();
  header.page_count = snapshot->page_count();

  std::vector<uint8_t> page(header.page_size);
  Published published =
      publish(request, env, header, control, [&](format::BackupWriter& writer, RateLimiter& limiter) {
        for (uint64_t pgno = 1; pgno <= header.page_count; ++pgno) {
          snapshot->read_page(pgno, page);
          writer.write(page);
          if (pgno % kPagesPerProgressCheck == 0) {
            control.check_cancelled();
            limiter.account(writer.bytes_written(), control);
            control.progress(static_cast<int>(pgno * 100 / header.page_count));
          }
        }
      });
  BackupRecord record = record_for(env, request, info, header, published);
  record.type = 'D';
  if (previous_base) record.database_backup_lsn = previous_base->lsn + 1;
  record_backup(env, record);
  // Only now, with the backup safe and recorded, does it become the differential base and start the log
  // chain; a crash before this leaves the previous base, which is still valid.
  snapshot->full_backup_succeeded(request.backup_id);
  snapshot.reset();
  control.progress(100, "BACKUP DATABASE successfully processed " + std::to_string(header.page_count) +
                            " pages " + throughput(published.trailer.body_bytes, published.end_us - begin) +
                            ".");
}

namespace {

const char* recovery_model_name(format::RecoveryModel model) {
  switch (model) {
    case format::RecoveryModel::kSimple:
      return "SIMPLE";
    case format::RecoveryModel::kBulkLogged:
      return "BULK_LOGGED";
    case format::RecoveryModel::kFull:
      break;
  }
  return "FULL";
}

char backupset_type(format::BackupType type) {
  return type == format::BackupType::kDifferential ? 'I' : type == format::BackupType::kLog ? 'L' : 'D';
}

}  // namespace

namespace {

// What a backup that succeeded does to its database's chain, done again after a restart that may have come
// before it was done (both calls do nothing if it was).
void take_place_in_chain(Environment& env, const std::string& database, char type, const Guid& database_guid,
                         const Guid& backup_id, uint64_t first_lsn, uint64_t last_lsn) {
  // A full backup's first LSN is the first after its image.
  if (type == 'D' && first_lsn > 0)
    env.engine.adopt_full_backup(database, database_guid, engine::DifferentialBase{first_lsn - 1, backup_id});
  if (type == 'L') env.engine.adopt_log_backup(database, database_guid, last_lsn);
}

}  // namespace

bool settle_recorded_backup(int64_t task_id, const std::string& database, Environment& env) {
  struct Recorded {
    std::string type;
    bool copy_only;
    std::optional<Guid> backup_id, database_guid;
    uint64_t first_lsn, last_lsn;
  };
  auto recorded = env.msdb.with([&](sqlite::Database& db) -> std::optional<Recorded> {
    auto s = db.prepare(
        "SELECT type, is_copy_only, backup_set_uuid, database_guid, first_lsn, last_lsn FROM backupset "
        "WHERE task_id = ?");
    s.bind(1, task_id);
    if (!s.step()) return std::nullopt;
    return Recorded{s.get_text(0),
                    s.get_int(1) != 0,
                    guid_from_string(s.get_text(2)),
                    guid_from_string(s.get_text(3)),
                    static_cast<uint64_t>(s.get_int(4)),
                    static_cast<uint64_t>(s.get_int(5))};
  });
  if (!recorded) return false;
  if (!recorded->copy_only && recorded->backup_id && recorded->database_guid && recorded->type.size() == 1) {
    take_place_in_chain(env, database, recorded->type[0], *recorded->database_guid, *recorded->backup_id,
                        recorded->first_lsn, recorded->last_lsn);
  }
  return true;
}

InterruptedBackup settle_interrupted_backup(const BackupRequest& request, Environment& env) {
  // The upload the task was writing (an S3 multipart upload) will never be finished: end it, so that it
  // neither lingers unseen nor costs storage. Uploads begun after this start (none yet) are left alone.
  try {
    int ended =
        env.store.abort_unfinished_uploads(request.bucket, request.key, std::chrono::system_clock::now(), {});
    if (ended > 0)
      spdlog::info("ended {} unfinished upload(s) to {} left by an interrupted backup", ended, request.arn);
  } catch (const storage::StorageError& e) {
    spdlog::warn("could not end the unfinished uploads to {} of an interrupted backup: {}", request.arn,
                 e.what());
  }
  std::unique_ptr<storage::ObjectReader> object;
  try {
    object = env.store.open(request.bucket, request.key);
  } catch (const storage::StorageError&) {
    return InterruptedBackup::kNothing;  // nothing was published (the store removed the partial upload)
  }
  uint64_t stored_bytes = object->size();
  ObjectSource source(*object);
  format::BackupHeader header;
  format::BackupTrailer trailer;
  try {
    format::BackupReader reader(source);
    header = reader.header();
    if (header.backup_id != request.backup_id) return InterruptedBackup::kNothing;  // not ours
    // Publishing is atomic, so a published object is whole; it is read to the end all the same before it
    // is recorded as a backup anyone may restore.
    std::vector<uint8_t> buffer(1 << 20);
    while (reader.read(buffer) > 0) {
    }
    trailer = reader.trailer();
  } catch (const format::FormatError& e) {
    if (header.backup_id != request.backup_id) return InterruptedBackup::kNothing;  // not a backup of ours
    object.reset();
    env.store.remove(request.bucket, request.key);
    spdlog::warn("removed {}: its backup task was interrupted and the object does not verify: {}",
                 request.arn, e.what());
    return InterruptedBackup::kNothing;
  }
  object.reset();

  BackupRecord r;
  r.type = backupset_type(header.type);
  r.database_name = request.database;
  r.database_guid = header.database_guid;
  r.backup_id = header.backup_id;
  r.fork_guid = header.fork_guid;
  r.recovery_model = recovery_model_name(header.recovery_model);
  r.start_us = header.begin_time_us;
  r.finish_us = trailer.end_time_us;
  r.backup_size = trailer.body_bytes;
  r.compressed_size = stored_bytes;
  r.first_lsn = header.first_lsn;
  r.last_lsn = header.last_lsn;
  r.checkpoint_lsn = header.first_lsn;
  if (header.type == format::BackupType::kDifferential) {
    r.differential_base_guid = header.base_backup_id;
    r.database_backup_lsn = r.differential_base_lsn = recorded_checkpoint_lsn(env, header.base_backup_id);
  }
  r.arn = request.arn;
  r.endpoint = env.store.endpoint(request.bucket);
  r.task_id = request.task_id;
  if (header.type == format::BackupType::kLog) {
    // As run_log_backup records it: the full backup the log chain rests on, if the database still has one.
    try {
      if (auto base = env.engine.differential_base(request.database)) r.database_backup_lsn = base->lsn + 1;
    } catch (const SqlError&) {
      // dropped or being restored since: nothing to name
    }
  }
  record_backup(env, r);
  take_place_in_chain(env, request.database, r.type, r.database_guid, r.backup_id, r.first_lsn, r.last_lsn);
  spdlog::info("kept {}: its backup task was interrupted after the backup was published; recorded it",
               request.arn);
  return InterruptedBackup::kKept;
}

}  // namespace bakrest::backup
