#include "backup/jobs.h"

#include <spdlog/spdlog.h>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "backup/object_stream.h"
#include "common/clock.h"
#include "common/error.h"
#include "format/backup_file.h"

namespace bakrest::backup {

namespace {

constexpr uint32_t kPagesPerProgressCheck = 64;

std::runtime_error task_error(const std::string& text) { return std::runtime_error(text); }

// Bucket checks every S3 task makes first, with RDS's wording.
void check_bucket(Environment& env, const std::string& bucket) {
  auto region = env.store.bucket_region(bucket);
  if (!region) throw task_error("The specified bucket does not exist");
  if (*region != env.config.region) {
    throw task_error("Please specify a bucket that is in the same region as RDS instance");
  }
}

std::string capitalized(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// Keeps transfer speed under a limit (instance.toml [storage] max_transfer_mb_per_sec) by sleeping.
class RateLimiter {
 public:
  explicit RateLimiter(double bytes_per_second) : rate_(bytes_per_second), start_(now_micros()) {}
  void account(uint64_t total_bytes, const JobControl& control) {
    if (rate_ <= 0) return;
    for (;;) {
      double due_micros = static_cast<double>(total_bytes) / rate_ * 1e6;
      double ahead = due_micros - static_cast<double>(now_micros() - start_);
      if (ahead <= 0) return;
      control.check_cancelled();
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(std::min(ahead, 100'000.0))));
    }
  }

 private:
  double rate_;
  int64_t start_;
};

// Page 1 starts with SQLite's header, whose page size must agree with the backup's.
void check_first_page(const std::vector<uint8_t>& page, uint32_t page_size) {
  static constexpr char kMagic[] = "SQLite format 3";
  uint32_t stored = static_cast<uint32_t>(page[16]) << 8 | page[17];
  if (stored == 1) stored = 65536;
  if (std::memcmp(page.data(), kMagic, sizeof kMagic) != 0 || stored != page_size) {
    throw format::FormatError("backup is corrupt: page 1 is not the first page of a SQLite database with " +
                              std::to_string(page_size) + "-byte pages");
  }
}

std::string throughput(uint64_t bytes, int64_t micros) {
  double seconds = std::max(static_cast<double>(micros) / 1e6, 1e-6);
  char text[96];
  std::snprintf(text, sizeof text, "in %.3f seconds (%.3f MB/sec)", seconds,
                static_cast<double>(bytes) / 1048576.0 / seconds);
  return text;
}

}  // namespace

std::string database_exists_message(const std::string& name) {
  return "Database '" + name +
         "' already exists. Two databases that differ only by case or accent are not allowed. Choose a "
         "different "
         "database name.";
}

void run_full_backup(const BackupRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket);
  if (request.compress && env.config.edition != "standard" && env.config.edition != "enterprise") {
    throw task_error("BACKUP DATABASE WITH COMPRESSION isn't supported on " +
                     capitalized(env.config.edition) + " Edition");
  }
  if (!request.overwrite && env.store.exists(request.bucket, request.key)) {
    throw task_error("Please reissue task with correct type and overwrite property");
  }

  int64_t begin = now_micros();
  auto snapshot = env.engine.snapshot(request.database);
  auto info = env.engine.find(request.database);
  if (!info) throw task_error("Database '" + request.database + "' no longer exists.");

  format::BackupHeader header;
  header.database_name = info->name;
  header.database_guid = info->guid;
  header.backup_id = request.backup_id;
  header.fork_guid = info->fork_guid;
  header.recovery_model = info->recovery_model == "SIMPLE"        ? format::RecoveryModel::kSimple
                          : info->recovery_model == "BULK_LOGGED" ? format::RecoveryModel::kBulkLogged
                                                                  : format::RecoveryModel::kFull;
  header.type = format::BackupType::kFull;
  // The image holds every transaction below last_lsn: a log backup that starts at or before it continues it.
  header.first_lsn = header.last_lsn = snapshot->lsn() + 1;
  header.begin_time_us = begin;
  header.time_zone = env.config.time_zone;
  header.page_size = snapshot->page_size();
  header.page_count = snapshot->page_count();
  header.compression = request.compress ? format::Compression::kZstd : format::Compression::kNone;

  // Checked above to fail early, and enforced again atomically when the object is published.
  auto object = env.store.create(request.bucket, request.key,
                                 request.overwrite ? storage::IfExists::kReplace : storage::IfExists::kFail);
  ObjectSink sink(*object);
  format::BackupWriter writer(sink, header);
  RateLimiter limiter(env.max_transfer_bytes_per_second);
  std::vector<uint8_t> page(header.page_size);
  for (uint64_t pgno = 1; pgno <= header.page_count; ++pgno) {
    snapshot->read_page(pgno, page);
    writer.write(page);
    if (pgno % kPagesPerProgressCheck == 0) {
      control.check_cancelled();
      limiter.account(writer.bytes_written(), control);
      control.progress(static_cast<int>(pgno * 100 / header.page_count));
    }
  }
  control.check_cancelled();
  int64_t end = now_micros();
  format::BackupTrailer trailer = writer.finish(end);
  try {
    object->commit();
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kAlreadyExists) {
      throw task_error("Please reissue task with correct type and overwrite property");
    }
    throw;
  }
  snapshot.reset();

  env.msdb.with([&](sqlite::Database& db) {
    db.prepare(
          "INSERT INTO backupset (database_name, database_guid, type, backup_start_date, backup_finish_date, "
          "backup_size, compressed_backup_size, first_lsn, last_lsn, media_arn, task_id) "
          "VALUES (?, ?, 'D', ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, info->name)
        .bind(2, guid_to_string(info->guid))
        .bind(3, format_datetime(begin))
        .bind(4, format_datetime(end))
        .bind(5, static_cast<int64_t>(trailer.body_bytes))
        .bind(6, static_cast<int64_t>(object->bytes_written()))
        .bind(7, static_cast<int64_t>(header.first_lsn))
        .bind(8, static_cast<int64_t>(header.last_lsn))
        .bind(9, request.arn)
        .bind(10, request.task_id)
        .run();
  });
  control.progress(100, "BACKUP DATABASE successfully processed " + std::to_string(header.page_count) +
                            " pages " + throughput(trailer.body_bytes, end - begin) + ".");
}

void remove_interrupted_backup(const BackupRequest& request, Environment& env) {
  std::unique_ptr<storage::ObjectReader> object;
  try {
    object = env.store.open(request.bucket, request.key);
  } catch (const storage::StorageError&) {
    return;  // nothing was published (the store removed the partial upload when it opened)
  }
  ObjectSource source(*object);
  try {
    if (format::BackupReader(source).header().backup_id != request.backup_id) return;
  } catch (const format::FormatError&) {
    return;  // not a backup of ours
  }
  object.reset();
  env.store.remove(request.bucket, request.key);
  spdlog::info("removed {}: its backup task was interrupted before it finished", request.arn);
}

void run_full_restore(const RestoreRequest& request, Environment& env, JobControl& control) {
  check_bucket(env, request.bucket);
  std::unique_ptr<storage::ObjectReader> object;
  try {
    object = env.store.open(request.bucket, request.key);
  } catch (const storage::StorageError& e) {
    if (e.kind() == storage::StorageError::Kind::kNoSuchKey) {
      throw task_error("The specified key does not exist: " + request.arn);
    }
    throw;
  }
  int64_t begin = now_micros();
  ObjectSource source(*object);
  std::unique_ptr<format::BackupReader> reader;
  try {
    reader = std::make_unique<format::BackupReader>(source);
  } catch (const format::FormatError& e) {
    throw task_error("Please reissue task with correct type and overwrite property. " + request.arn +
                     " is not a bakrest backup: " + e.what());
  }
  const format::BackupHeader& header = reader->header();
  if (header.type != format::BackupType::kFull) {
    throw task_error("Please reissue task with correct type and overwrite property. " + request.arn +
                     " is not a full backup.");
  }
  // The header is checksummed, not trusted: a database image needs a real SQLite page size and a page 1.
  bool power_of_two = (header.page_size & (header.page_size - 1)) == 0;
  if (header.page_size < 512 || header.page_size > 65536 || !power_of_two || header.page_count == 0) {
    throw task_error("RESTORE DATABASE failed: " + request.arn +
                     " describes no valid database image (page size " + std::to_string(header.page_size) +
                     ", " + std::to_string(header.page_count) + " pages).");
  }

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
    for (;;) {
      // A page may arrive in pieces; fill it before writing.
      size_t filled = 0;
      while (filled < page.size()) {
        size_t n = reader->read(std::span<uint8_t>(page).subspan(filled));
        if (n == 0) break;
        filled += n;
      }
      if (filled == 0) break;
      if (filled != page.size()) throw format::FormatError("backup is corrupt: the body ends inside a page");
      if (pgno == 0) check_first_page(page, header.page_size);
      target->write_page(++pgno, page);
      if (pgno % kPagesPerProgressCheck == 0) {
        control.check_cancelled();
        limiter.account(reader->bytes_read(), control);
        control.progress(header.page_count ? static_cast<int>(pgno * 100 / header.page_count) : 0);
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
  target->finish(true, header.last_lsn, header.backup_id, "");
  control.progress(100, "RESTORE DATABASE successfully processed " + std::to_string(pgno) + " pages " +
                            throughput(pgno * header.page_size, now_micros() - begin) + ".");
}

}  // namespace bakrest::backup
