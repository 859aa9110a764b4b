#include "backup/job_support.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/clock.h"

namespace bakrest::backup {

void check_bucket(Environment& env, const std::string& bucket, const storage::CallContext& ctx) {
  auto region = env.store.bucket_region(bucket, ctx);
  if (!region) throw task_error("The specified bucket does not exist");
  if (*region != env.config.region) {
    throw task_error("Please specify a bucket that is in the same region as RDS instance");
  }
}

storage::CallContext storage_context(const JobControl& control) {
  return storage::CallContext([&control] { return control.cancel_requested(); });
}

RateLimiter::RateLimiter(double bytes_per_second) : rate_(bytes_per_second), start_(now_micros()) {}

void RateLimiter::account(uint64_t total_bytes, const JobControl& control) const {
  if (rate_ <= 0) return;
  for (;;) {
    double due_micros = static_cast<double>(total_bytes) / rate_ * 1e6;
    double ahead = due_micros - static_cast<double>(now_micros() - start_);
    if (ahead <= 0) return;
    control.check_cancelled();
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(std::min(ahead, 100'000.0))));
  }
}

std::string throughput(uint64_t bytes, int64_t micros) {
  double seconds = std::max(static_cast<double>(micros) / 1e6, 1e-6);
  char text[96];
  std::snprintf(text, sizeof text, "in %.3f seconds (%.3f MB/sec)", seconds,
                static_cast<double>(bytes) / 1048576.0 / seconds);
  return text;
}

format::RecoveryModel recovery_model_code(const std::string& model) {
  if (model == "SIMPLE") return format::RecoveryModel::kSimple;
  if (model == "BULK_LOGGED") return format::RecoveryModel::kBulkLogged;
  return format::RecoveryModel::kFull;
}

namespace {

Value optional_int(const std::optional<uint64_t>& v) { return v ? Value(static_cast<int64_t>(*v)) : Value(); }

}  // namespace

void record_backup(Environment& env, const BackupRecord& r) {
  env.msdb.with([&](sqlite::Database& db) {
    sqlite::with_transaction(db, [&] {
      // SQL Server writes recovery models with a hyphen here.
      std::string model = r.recovery_model == "BULK_LOGGED" ? "BULK-LOGGED" : r.recovery_model;
      db.prepare(
            "INSERT INTO backupset (backup_set_uuid, database_name, database_guid, family_guid, type, "
            "backup_start_date, backup_finish_date, backup_size, compressed_backup_size, first_lsn, "
            "last_lsn, "
            "checkpoint_lsn, database_backup_lsn, differential_base_lsn, differential_base_guid, "
            "first_recovery_fork_guid, last_recovery_fork_guid, recovery_model, is_copy_only, media_arn, "
            "task_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, guid_to_string(r.backup_id))
          .bind(2, r.database_name)
          .bind(3, guid_to_string(r.database_guid))
          .bind(4, guid_to_string(r.database_guid))
          .bind(5, std::string(1, r.type))
          .bind(6, format_datetime(r.start_us))
          .bind(7, format_datetime(r.finish_us))
          .bind(8, static_cast<int64_t>(r.backup_size))
          .bind(9, static_cast<int64_t>(r.compressed_size))
          .bind(10, static_cast<int64_t>(r.first_lsn))
          .bind(11, static_cast<int64_t>(r.last_lsn))
          .bind(12, static_cast<int64_t>(r.checkpoint_lsn))
          .bind(13, optional_int(r.database_backup_lsn))
          .bind(14, optional_int(r.differential_base_lsn))
          .bind(15, r.differential_base_guid ? Value(guid_to_string(*r.differential_base_guid)) : Value())
          .bind(16, guid_to_string(r.fork_guid))
          .bind(17, guid_to_string(r.fork_guid))
          .bind(18, model)
          .bind(19, r.copy_only ? 1 : 0)
          .bind(20, r.arn)
          .bind(21, r.task_id)
          .run();
      int64_t id = db.last_insert_rowid();
      db.prepare("UPDATE backupset SET media_set_id = ? WHERE backup_set_id = ?")
          .bind(1, id)
          .bind(2, id)
          .run();
      const std::vector<std::string> media = r.media.empty() ? std::vector{r.arn} : r.media;
      for (size_t i = 0; i < media.size(); ++i) {
        db.prepare(
              "INSERT INTO backupmediafamily (media_set_id, family_sequence_number, media_family_id, "
              "physical_device_name, device_type, endpoint, physical_block_size) VALUES (?, ?, ?, ?, 9, ?, "
              "?)")
            .bind(1, id)
            .bind(2, static_cast<int64_t>(i + 1))
            .bind(3, guid_to_string(r.backup_id))
            .bind(4, media[i])
            .bind(5, r.endpoint)
            .bind(6, r.block_size > 0 ? Value(static_cast<int64_t>(r.block_size)) : Value())
            .run();
      }
    });
  });
}

std::optional<uint64_t> recorded_checkpoint_lsn(Environment& env, const Guid& backup_id) {
  return env.msdb.with([&](sqlite::Database& db) -> std::optional<uint64_t> {
    auto s = db.prepare("SELECT checkpoint_lsn FROM backupset WHERE backup_set_uuid = ?");
    s.bind(1, guid_to_string(backup_id));
    if (!s.step() || s.is_null(0)) return std::nullopt;
    return static_cast<uint64_t>(s.get_int(0));
  });
}

bool read_exact(format::BackupReader& reader, std::span<uint8_t> out, const char* what) {
  size_t filled = 0;
  while (filled < out.size()) {
    size_t n = reader.read(out.subspan(filled));
    if (n == 0) break;
    filled += n;
  }
  if (filled == 0 && !out.empty()) return false;
  if (filled != out.size())
    throw format::FormatError(std::string("backup is corrupt: the body ends inside ") + what);
  return true;
}

}  // namespace bakrest::backup
