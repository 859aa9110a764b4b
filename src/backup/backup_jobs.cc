// Backups: a full image, the pages changed since the last full backup, or the log since the last log backup,
// through the backup format into one object.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "backup/backup_keys.h"
#include "backup/differential_body.h"
#include "backup/job_support.h"
#include "backup/jobs.h"
#include "backup/object_stream.h"
#include "backup/stripe_group.h"
#include "common/clock.h"
#include "common/error.h"
#include "engine/log_record.h"
#include "storage/arn.h"

namespace bakrest::backup {

namespace {

constexpr uint32_t kPagesPerProgressCheck = 64;

std::string capitalized(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// RDS's checks before a backup starts. Every object the backup would write is checked before any is written.
void check_backup_request(const BackupRequest& request, Environment& env, const JobControl& control) {
  const storage::CallContext ctx = storage_context(control);
  check_bucket(env, request.bucket, ctx);
  if (!request.kms_key.empty()) check_backup_key(env.keys, request.kms_key);
  if (request.compress && env.config.edition != "standard" && env.config.edition != "enterprise") {
    throw task_error("BACKUP DATABASE WITH COMPRESSION isn't supported on " +
                     capitalized(env.config.edition) + " Edition");
  }
  if (!request.overwrite) {
    for (const std::string& key : request.keys()) {
      if (env.store.exists(request.bucket, key, ctx))
        throw task_error("Please reissue task with correct type and overwrite property");
    }
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
  uint64_t body_bytes = 0;         // over all stripes
  uint64_t stored_bytes = 0;       // the objects' sizes, over all stripes
  uint64_t peak_buffer_bytes = 0;  // chunk buffers held at once, over all stripes
  int64_t end_us = 0;              // when the last object was published
};

// The work a backup's stripes share, for progress: units done (pages, log records) out of a total.
struct Work {
  uint64_t total = 1;
  std::atomic<uint64_t> done{0};
};

// Writes one stripe's body: its share of the pages (format::stripe_pages) or, for a log backup, the log.
using StripeBody = std::function<void(size_t stripe, format::BackupWriter& writer, StripeGroup& group)>;

// One stripe's object while it is written.
struct StripeObject {
  std::string key;
  std::unique_ptr<storage::ObjectWriter> object;
  bool committed = false;
  uint64_t stored_bytes = 0;
  uint64_t body_bytes = 0;
  uint64_t peak_buffer_bytes = 0;
};

// Writes the backup into its objects, one stripe each, side by side, and publishes them; reports progress
// from work. If anything fails, no object is left: unpublished ones are abandoned and stripes already
// published are removed (with overwrite, what they replaced is gone: docs/PROCEDURES.md says so).
Published publish(const BackupRequest& request, Environment& env, const format::BackupHeader& header,
                  JobControl& control, Work& work, const StripeBody& body) {
  const std::vector<std::string> keys = request.keys();
  const size_t stripes = keys.size();
  // An encrypted backup's data key, made before anything is written; every stripe shares it.
  format::BackupHeader sealed_header = header;
  std::optional<format::DataKey> data_key;
  if (!request.kms_key.empty()) {
    BackupKey key = make_backup_key(env.keys, request.kms_key, header.backup_id);
    sealed_header.encryption = format::Encryption::kAes256Gcm;
    sealed_header.kms_key_arn = key.key_arn;
    sealed_header.wrapped_data_key = key.wrapped;
    data_key = key.data_key;
  }
  StripeGroup group(control);
  std::vector<StripeObject> objects(stripes);
  for (size_t i = 0; i < stripes; ++i) {
    objects[i].key = keys[i];
    // Checked up front to fail early, and enforced again atomically when the object is published.
    objects[i].object = env.store.create(
        request.bucket, keys[i], request.overwrite ? storage::IfExists::kReplace : storage::IfExists::kFail,
        group.storage_context());
  }
  if (const uint64_t limit = objects[0].object->buffer_limit_bytes(); limit > 0) {
    // The memory a remote upload may hold is bounded; say how much (docs/OPERATIONS.md, "S3 buckets").
    control.progress(0, "Uploading to " + env.store.endpoint(request.bucket) + " with at most " +
                            std::to_string(limit * stripes >> 20) + " MiB of parts in memory.");
  }
  // The stripes share the threads that compress and encrypt, and the chunks in flight; a chunk that is
  // neither only needs its checksum, which costs less than handing it to another thread (bench/backup_bench).
  const bool pooled = header.compression != format::Compression::kNone || data_key.has_value();
  const unsigned threads = pooled ? std::max<unsigned>(1, env.zstd_threads / stripes) : 1;
  const unsigned in_flight =
      request.tuning.buffer_count > 0 ? std::max<unsigned>(1, request.tuning.buffer_count / stripes) : 0;
  RateLimiter limiter(env.max_transfer_bytes_per_second);
  std::atomic<uint64_t> sent{0};
  auto report = [&] {
    // The body is 99%; publishing and recording the backup the last 1% (write-behind keeps the final
    // fsync short: storage::LocalStore).
    control.progress(static_cast<int>(std::min<uint64_t>(work.done.load(), work.total) * 99 / work.total));
  };
  auto write_stripe = [&](size_t i) {
    StripeObject& out = objects[i];
    format::BackupHeader stripe_header = sealed_header;
    stripe_header.stripe_index = static_cast<uint16_t>(i);
    stripe_header.stripe_count = static_cast<uint16_t>(stripes);
    ObjectSink sink(*out.object, request.tuning.block_size,
                    [&](size_t bytes) { limiter.account(sent += bytes, control); });
    format::BackupWriter writer(sink, stripe_header,
                                {.chunk_size = request.tuning.max_transfer_size,
                                 .zstd_level = env.zstd_level,
                                 .threads = threads,
                                 .max_in_flight = in_flight,
                                 .data_key = data_key ? &*data_key : nullptr});
    body(i, writer, group);
    group.check();
    format::BackupTrailer trailer = writer.finish(now_micros());
    sink.flush();
    out.object->commit();
    out.committed = true;
    out.stored_bytes = out.object->bytes_written();
    out.body_bytes = trailer.body_bytes;
    out.peak_buffer_bytes = writer.peak_buffer_bytes();
    group.notify();
  };
  try {
    group.run(stripes, write_stripe, report);
  } catch (...) {
    for (StripeObject& out : objects) {
      if (!out.committed) continue;
      try {
        env.store.remove(request.bucket, out.key);
      } catch (const std::exception& e) {
        spdlog::warn("could not remove {} of a failed multi-file backup: {}", out.key, e.what());
      }
    }
    try {
      throw;
    } catch (const storage::StorageError& e) {
      if (e.kind() == storage::StorageError::Kind::kAlreadyExists)
        throw task_error("Please reissue task with correct type and overwrite property");
      throw;
    }
  }
  Published out;
  out.end_us = now_micros();
  for (const StripeObject& o : objects) {
    out.body_bytes += o.body_bytes;
    out.stored_bytes += o.stored_bytes;
    out.peak_buffer_bytes += o.peak_buffer_bytes;
  }
  return out;
}

// What the last task_info line adds after SQL Server's "in N seconds (M MB/sec)": what was written, the
// compression it got, and the memory the pipeline held.
std::string cost_text(const BackupRequest& request, const Published& published) {
  const size_t files = request.keys().size();
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.2f",
                published.stored_bytes > 0
                    ? static_cast<double>(published.body_bytes) / static_cast<double>(published.stored_bytes)
                    : 1.0);
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f", static_cast<double>(published.peak_buffer_bytes) / 1048576.0);
  return " Wrote " + std::to_string(published.stored_bytes) + " bytes in " + std::to_string(files) +
         (files == 1 ? " file" : " files") + " from " + std::to_string(published.body_bytes) +
         " bytes of backup data (compression ratio " + ratio + "); peak pipeline memory " + memory + " MiB.";
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
  r.backup_size = published.body_bytes;
  r.compressed_size = published.stored_bytes;
  r.first_lsn = header.first_lsn;
  r.last_lsn = header.last_lsn;
  r.checkpoint_lsn = header.first_lsn;
  r.arn = request.arn;
  for (const std::string& key : request.keys())
    r.media.push_back(storage::s3_object_arn(request.bucket, key));
  r.endpoint = env.store.endpoint(request.bucket);
  r.block_size = request.tuning.block_size;
  r.task_id = request.task_id;
  return r;
}

// Says which objects a multi-file backup writes, as RDS does.
void announce_stripes(const BackupRequest& request, JobControl& control, const char* task_type) {
  if (request.stripe_keys.size() <= 1) return;
  std::string files;
  for (const std::string& key : request.stripe_keys)
    files += (files.empty() ? "" : ", ") + storage::s3_object_arn(request.bucket, key);
  control.progress(0, std::string(task_type) + " task will initiate a multi-file task with " +
                          std::to_string(request.stripe_keys.size()) + " file(s). The files are: " + files);
}

void run_differential_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  check_backup_request(request, env, control);
  announce_stripes(request, control, "BACKUP_DB_DIFFERENTIAL");
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

  Work work;
  work.total = header.page_count;
  std::atomic<uint64_t> changed{0};
  const size_t stripes = request.keys().size();
  Published published = publish(request, env, header, control, work,
                                [&](size_t stripe, format::BackupWriter& writer, StripeGroup& group) {
                                  // Each stripe holds the changed pages of its share of the database, in page
                                  // order.
                                  format::PageRun run =
                                      format::stripe_pages(header.page_count, static_cast<uint16_t>(stripe),
                                                           static_cast<uint16_t>(stripes));
                                  std::vector<uint8_t> page(header.page_size), entry;
                                  uint64_t since_notice = 0;
                                  for (uint64_t pgno = run.first; pgno < run.first + run.count; ++pgno) {
                                    if (++since_notice == kPagesPerProgressCheck) {
                                      group.check();
                                      work.done += since_notice;
                                      since_notice = 0;
                                      group.notify();
                                    }
                                    // Only changed pages are read at all: the bitmap, not the image, decides.
                                    if (!diff.changed.test(static_cast<uint32_t>(pgno))) continue;
                                    image.read_page(pgno, page);
                                    encode_page_entry(static_cast<uint32_t>(pgno), page, entry);
                                    writer.write(entry);
                                    ++changed;
                                  }
                                  work.done += since_notice;
                                });
  BackupRecord record = record_for(env, request, info, header, published);
  record.type = 'I';
  record.database_backup_lsn = record.differential_base_lsn = diff.base.lsn + 1;
  record.differential_base_guid = diff.base.backup_id;
  record_backup(env, record);
  control.progress(100, "BACKUP DATABASE WITH DIFFERENTIAL successfully processed " +
                            std::to_string(changed.load()) + " of " + std::to_string(header.page_count) +
                            " pages " + throughput(published.body_bytes, now_micros() - begin) + "." +
                            cost_text(request, published));
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
  Work work;
  work.total = std::max<uint64_t>(header.last_lsn - header.first_lsn, 1);
  Published published = publish(
      request, env, header, control, work, [&](size_t, format::BackupWriter& writer, StripeGroup& group) {
        source->read([&](const engine::LogRecordHeader& h, const auto& read_pages) {
          // Records go into the backup exactly as the log holds them; their checksums are checked on the way.
          engine::LogRecordEncoder encoder(h, [&](std::span<const uint8_t> bytes) { writer.write(bytes); });
          read_pages([&](uint32_t pgno, std::span<const uint8_t> image) { encoder.add_page(pgno, image); });
          encoder.finish();
          // Small transactions are many: progress and the stop check every few records, not each.
          if (++records % kPagesPerProgressCheck == 0) {
            group.check();
            work.done = h.lsn - header.first_lsn + 1;
            group.notify();
          }
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
  control.progress(
      100, "BACKUP LOG successfully processed " + std::to_string(records) + " transactions (LSN " +
               std::to_string(header.first_lsn) + " to " + std::to_string(header.last_lsn) + ") " +
               throughput(published.body_bytes, now_micros() - begin) + "." + cost_text(request, published));
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
  announce_stripes(request, control, "BACKUP_DB");
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

  Work work;
  work.total = header.page_count;
  const size_t stripes = request.keys().size();
  // Pages are read in runs of max_transfer_size bytes (a chunk): one read of the database file each.
  const uint64_t run_pages = std::max<uint64_t>(1, request.tuning.max_transfer_size / header.page_size);
  Published published = publish(request, env, header, control, work,
                                [&](size_t stripe, format::BackupWriter& writer, StripeGroup& group) {
                                  format::PageRun run =
                                      format::stripe_pages(header.page_count, static_cast<uint16_t>(stripe),
                                                           static_cast<uint16_t>(stripes));
                                  std::vector<uint8_t> pages(run_pages * header.page_size);
                                  for (uint64_t done = 0; done < run.count;) {
                                    group.check();
                                    uint64_t n = std::min(run_pages, run.count - done);
                                    std::span<uint8_t> batch = std::span(pages).first(n * header.page_size);
                                    snapshot->read_pages(run.first + done, batch);
                                    writer.write(batch);
                                    done += n;
                                    work.done += n;
                                    group.notify();
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
                            " pages " + throughput(published.body_bytes, now_micros() - begin) + "." +
                            cost_text(request, published));
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
  const std::vector<std::string> keys = request.keys();
  // The uploads the task was writing (S3 multipart uploads) will never be finished: end them, so that they
  // neither linger unseen nor cost storage. Uploads begun after this start (none yet) are left alone.
  for (const std::string& key : keys) {
    try {
      int ended =
          env.store.abort_unfinished_uploads(request.bucket, key, std::chrono::system_clock::now(), {});
      if (ended > 0)
        spdlog::info("ended {} unfinished upload(s) to {} left by an interrupted backup", ended, key);
    } catch (const storage::StorageError& e) {
      spdlog::warn("could not end the unfinished uploads to {} of an interrupted backup: {}", key, e.what());
    }
  }
  // Each object is this backup's published stripe, verified to its last byte (publishing is atomic, so a
  // published object is whole; it is read to the end all the same before anyone may restore it), or not.
  format::BackupHeader header;
  uint64_t stored_bytes = 0, body_bytes = 0;
  int64_t end_us = 0;
  std::vector<std::string> ours;  // keys holding an object of this backup, verified or not
  bool complete = true;
  for (const std::string& key : keys) {
    std::unique_ptr<storage::ObjectReader> object;
    try {
      object = env.store.open(request.bucket, key);
    } catch (const storage::StorageError&) {
      complete = false;  // nothing was published (the store removed the partial upload)
      continue;
    }
    ObjectSource source(*object);
    format::BackupHeader stripe;
    try {
      // An encrypted backup is opened with the key its header names (the instance's own clean-up).
      OwnKey own_key(env.keys);
      format::BackupReader reader(source, format::ReaderOptions{.data_key = &own_key});
      stripe = reader.header();
      if (stripe.backup_id != request.backup_id) {
        complete = false;  // not ours
        continue;
      }
      ours.push_back(key);
      std::vector<uint8_t> buffer(1 << 20);
      while (reader.read(buffer) > 0) {
      }
      body_bytes += reader.trailer().body_bytes;
      end_us = std::max(end_us, reader.trailer().end_time_us);
      stored_bytes += object->size();
      if (ours.size() == 1) header = stripe;
    } catch (const format::FormatError& e) {
      if (stripe.backup_id == request.backup_id)
        spdlog::warn("{} of an interrupted backup task does not verify: {}", key, e.what());
      complete = false;
    }
  }
  if (!complete) {
    // A backup missing a stripe cannot be restored: what it published of itself goes.
    for (const std::string& key : ours) {
      env.store.remove(request.bucket, key);
      spdlog::warn("removed {}: its backup task was interrupted before the backup was complete", key);
    }
    return InterruptedBackup::kNothing;
  }
  BackupRecord r;
  r.type = backupset_type(header.type);
  r.database_name = request.database;
  r.database_guid = header.database_guid;
  r.backup_id = header.backup_id;
  r.fork_guid = header.fork_guid;
  r.recovery_model = recovery_model_name(header.recovery_model);
  r.start_us = header.begin_time_us;
  r.finish_us = end_us;
  r.backup_size = body_bytes;
  r.compressed_size = stored_bytes;
  r.first_lsn = header.first_lsn;
  r.last_lsn = header.last_lsn;
  r.checkpoint_lsn = header.first_lsn;
  if (header.type == format::BackupType::kDifferential) {
    r.differential_base_guid = header.base_backup_id;
    r.database_backup_lsn = r.differential_base_lsn = recorded_checkpoint_lsn(env, header.base_backup_id);
  }
  r.arn = request.arn;
  for (const std::string& key : keys) r.media.push_back(storage::s3_object_arn(request.bucket, key));
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
