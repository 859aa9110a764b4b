#include "engine/database_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "common/clock.h"
#include "common/sqlite_file.h"
#include "common/unique_fd.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

namespace {}  // namespace

DatabaseLog::DatabaseLog(fs::path db_file, fs::path log_dir, uint64_t initial_next_lsn,
                         LogStoreOptions options)
    : db_file_(std::move(db_file)),
      store_(std::make_unique<LogStore>(log_dir, initial_next_lsn, options)),
      changed_(log_dir / "changed-pages") {
  if (store_->last()) last_commit_time_ = store_->last()->commit_time_us;
  recover();
}

DatabaseLog::~DatabaseLog() {
  try {
    flush();
  } catch (const std::exception& e) {
    spdlog::warn("flushing the transaction log of {}: {}", db_file_.string(), e.what());
  }
}

void DatabaseLog::recover() {
  // Pages of records the changed-page file had not been written for yet. First: marks go in LSN order,
  // and the transactions appended from the WAL below come after these.
  uint64_t from = std::max(changed_.covered_lsn() + 1, store_->first_lsn());
  store_->read(from, store_->next_lsn(), [&](const LogRecordHeader& h, const auto& read_pages) {
    std::vector<uint32_t> pages;
    read_pages([&](uint32_t pgno, std::span<const uint8_t>) { pages.push_back(pgno); });
    changed_.mark(h.lsn, pages);
  });

  fs::path wal_path = db_file_;
  wal_path += "-wal";
  UniqueFd db(fileio::open(db_file_.c_str(), O_RDONLY | O_CLOEXEC));
  if (db.get() >= 0) {
    page_size_ = sqlite_page_size_of(db.get(), db_file_);
    struct stat st {};
    if (page_size_ && ::fstat(db.get(), &st) == 0)
      database_pages_ = static_cast<uint32_t>(st.st_size / page_size_);
  }
  UniqueFd wal_fd(fileio::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (wal_fd.get() >= 0) {
    wal::ReadAt read = [&](uint64_t offset, std::span<uint8_t> out) {
      return wal::pread_full(wal_fd.get(), out, offset);
    };
    // Transactions recovered from the WAL carry no commit time of their own; the WAL's last write is
    // the closest bound there is (docs/LOG.md).
    struct stat st {};
    int64_t wal_time = ::fstat(wal_fd.get(), &st) == 0
                           ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000
                           : now_micros();
    const auto& last = store_->last();
    uint64_t appended = 0;
    auto result = scan_wal_commits(
        read, std::nullopt, std::numeric_limits<uint64_t>::max(), [&](const WalTransaction& txn) {
          database_pages_ = txn.database_pages;
          page_size_ = txn.end.page_size;
          bool logged = last && last->wal_salt[0] == txn.end.salt[0] &&
                        last->wal_salt[1] == txn.end.salt[1] && txn.commit_frame <= last->wal_commit_frame;
          if (logged) return;
          append_transaction(txn, read, std::max(last_commit_time_, wal_time));
          ++appended;
        });
    if (result) cursor_ = result->end;
    if (appended > 0) {
      spdlog::info("transaction log of {}: recovered {} committed transaction(s) from the WAL (LSN {}..{})",
                   db_file_.filename().string(), appended, store_->next_lsn() - appended,
                   store_->next_lsn() - 1);
    }
  }
  store_->sync();
  changed_.persist();
}

void DatabaseLog::append_transaction(const WalTransaction& txn, const wal::ReadAt& read,
                                     int64_t commit_time_us) {
  LogRecordHeader header;
  header.lsn = store_->next_lsn();
  header.commit_time_us = commit_time_us;
  header.database_pages = txn.database_pages;
  header.page_size = txn.end.page_size;
  header.page_count = static_cast<uint32_t>(txn.pages.size());
  header.wal_salt[0] = txn.end.salt[0];
  header.wal_salt[1] = txn.end.salt[1];
  header.wal_commit_frame = txn.commit_frame;
  std::vector<uint8_t> page;  // for images the scan no longer holds
  if (std::any_of(txn.pages.begin(), txn.pages.end(), [](const auto& p) { return !p.image; }))
    page.resize(header.page_size);
  std::vector<uint32_t> pgnos;
  pgnos.reserve(txn.pages.size());
  store_->append(header, [&](LogRecordEncoder& encoder) {
    for (const auto& p : txn.pages) {
      if (p.image) {
        encoder.add_page(p.pgno, {p.image, header.page_size});
      } else {
        uint64_t offset = wal::frame_offset(p.frame, header.page_size) + wal::kFrameHeaderSize;
        if (read(offset, page) < page.size())
          throw std::runtime_error("the WAL frame of page " + std::to_string(p.pgno) + " disappeared");
        encoder.add_page(p.pgno, page);
      }
      pgnos.push_back(p.pgno);
    }
  });
  changed_.mark(header.lsn, pgnos);
  last_commit_time_ = commit_time_us;
  database_pages_ = txn.database_pages;
  page_size_ = header.page_size;
}

void DatabaseLog::after_wal_sync(const wal::ReadAt& read, uint64_t written_end) {
  std::lock_guard lock(mutex_);
  catch_up_locked(read, written_end);
}

bool DatabaseLog::catch_up_locked(const wal::ReadAt& read, uint64_t limit) {
  try {
    uint64_t appended = capture_locked(read, limit);
    if (failure_) {
      spdlog::warn(
          "transaction log of {}: appended {} transaction(s) the log lacked; it has caught up with the "
          "WAL and the database is usable again",
          db_file_.filename().string(), appended);
      failure_.reset();
      behind_.store(false, std::memory_order_release);
    }
    return true;
  } catch (const std::exception& e) {
    if (!failure_) {
      spdlog::error(
          "transaction log of {}: {}. The commit is durable in the WAL; the database is SUSPECT (no new "
          "connections, writes refused) until the log can be written again",
          db_file_.filename().string(), e.what());
    }
    failure_ = e.what();
    behind_.store(true, std::memory_order_release);
    return false;
  }
}

void DatabaseLog::before_wal_write(const wal::ReadAt& read) {
  if (!behind_.load(std::memory_order_acquire)) return;  // the common case, for every frame SQLite writes
  std::lock_guard lock(mutex_);
  if (!failure_) return;
  if (!catch_up_locked(read, std::numeric_limits<uint64_t>::max()))
    throw std::runtime_error("the transaction log is behind the WAL and can't be written: " + *failure_);
}

std::optional<std::string> DatabaseLog::capture_failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

bool DatabaseLog::retry_capture() {
  std::lock_guard lock(mutex_);
  if (!failure_) return true;
  fs::path wal_path = db_file_;
  wal_path += "-wal";
  UniqueFd wal_fd(fileio::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (wal_fd.get() < 0) return false;
  wal::ReadAt read = [&](uint64_t offset, std::span<uint8_t> out) {
    return wal::pread_full(wal_fd.get(), out, offset);
  };
  if (!catch_up_locked(read, std::numeric_limits<uint64_t>::max())) return false;
  try {
    flush_locked();
  } catch (const std::exception& e) {
    failure_ = e.what();
    return false;
  }
  return true;
}

uint64_t DatabaseLog::capture_locked(const wal::ReadAt& read, uint64_t limit) {
  uint64_t appended = 0;
  auto result = scan_wal_commits(read, cursor_, limit, [&](const WalTransaction& txn) {
    // Commit times never go backwards, whatever the wall clock does.
    append_transaction(txn, read, std::max(now_micros(), last_commit_time_));
    // At once: if a later transaction fails to append, the next capture starts after this one.
    cursor_ = txn.end;
    ++appended;
  });
  if (result) cursor_ = result->end;
  return appended;
}

void DatabaseLog::before_wal_restart(const wal::ReadAt& read) {
  std::lock_guard lock(mutex_);
  bool was_behind = failure_.has_value();
  uint64_t before = store_->next_lsn();
  if (!catch_up_locked(read, std::numeric_limits<uint64_t>::max()))
    throw std::runtime_error("the WAL can't start over: the transaction log can't be written: " + *failure_);
  if (uint64_t missed = store_->next_lsn() - before; missed > 0 && !was_behind) {
    spdlog::warn(
        "transaction log of {}: {} committed transaction(s) were not captured at their commit; appended "
        "them before SQLite starts the WAL over (LSN {}..{}, commit time = now)",
        db_file_.filename().string(), missed, before, store_->next_lsn() - 1);
  }
  flush_locked();
}

uint64_t DatabaseLog::next_lsn() const {
  std::lock_guard lock(mutex_);
  return store_->next_lsn();
}

DatabaseLog::CommitPoint DatabaseLog::commit_point() const {
  std::lock_guard lock(mutex_);
  return commit_point_locked();
}

DatabaseLog::CommitPoint DatabaseLog::commit_point_locked() const {
  CommitPoint point;
  point.lsn = store_->next_lsn() - 1;
  if (cursor_ && cursor_->frame > 0) point.wal = cursor_;
  point.database_pages = database_pages_;
  point.page_size = page_size_;
  return point;
}

void DatabaseLog::flush() {
  std::lock_guard lock(mutex_);
  flush_locked();
}

void DatabaseLog::flush_locked() {
  store_->sync();
  changed_.persist();
}

void DatabaseLog::note_checkpointed(uint64_t lsn) {
  std::lock_guard lock(mutex_);
  checkpointed_lsn_ = std::max(checkpointed_lsn_, lsn);
  discard_locked();
}

void DatabaseLog::set_log_backup_floor(std::optional<uint64_t> lsn) {
  std::lock_guard lock(mutex_);
  backup_floor_ = lsn;
  discard_locked();
}

void DatabaseLog::discard_locked() {
  if (readers_ > 0) return;
  // Records are dropped only once the changed-page file no longer needs them to recover.
  changed_.persist();
  uint64_t keep_from = std::min(checkpointed_lsn_, changed_.covered_lsn()) + 1;
  if (backup_floor_) keep_from = std::min(keep_from, *backup_floor_);
  store_->discard_before(keep_from);
}

uint64_t DatabaseLog::first_lsn() const {
  std::lock_guard lock(mutex_);
  return store_->first_lsn();
}

uint64_t DatabaseLog::bytes_on_disk() const {
  std::lock_guard lock(mutex_);
  return store_->bytes_on_disk();
}

void DatabaseLog::read(uint64_t from_lsn, uint64_t to_lsn, const LogStore::RecordVisitor& visit) {
  LogStore::ReadPlan plan;
  {
    std::lock_guard lock(mutex_);
    plan = store_->plan_read(from_lsn, to_lsn);
    ++readers_;
  }
  struct Done {
    DatabaseLog& log;
    ~Done() {
      std::lock_guard lock(log.mutex_);
      --log.readers_;
    }
  } done{*this};
  LogStore::read_planned(plan, visit);
}

std::optional<uint64_t> DatabaseLog::lsn_at_or_before(int64_t time_us) const {
  std::lock_guard lock(mutex_);
  return store_->lsn_at_or_before(time_us);
}

std::optional<int64_t> DatabaseLog::commit_time(uint64_t lsn) const {
  std::lock_guard lock(mutex_);
  return store_->commit_time(lsn);
}

std::optional<DifferentialBase> DatabaseLog::differential_base() const {
  std::lock_guard lock(mutex_);
  return changed_.base();
}

std::pair<DatabaseLog::CommitPoint, uint64_t> DatabaseLog::begin_full_backup() {
  std::lock_guard lock(mutex_);
  CommitPoint point = commit_point_locked();
  return {point, changed_.begin_generation(point.lsn)};
}

void DatabaseLog::finish_full_backup(uint64_t handle, const std::optional<Guid>& succeeded_backup_id) {
  std::lock_guard lock(mutex_);
  changed_.finish_generation(handle, succeeded_backup_id);
}

void DatabaseLog::adopt_full_backup(const DifferentialBase& base) {
  std::lock_guard lock(mutex_);
  changed_.adopt_base(base);
}

DatabaseLog::DifferentialPoint DatabaseLog::begin_differential_backup() const {
  std::lock_guard lock(mutex_);
  return {commit_point_locked(), changed_.base(), changed_.since_base()};
}

}  // namespace bakrest::engine
