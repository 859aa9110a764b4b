// Restore targets (engine.h, RestoreTarget): the file a restore writes page by page, made durable and
// checked before the database becomes ONLINE or stays RESTORING for the next backup of its chain.
#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <mutex>
#include <vector>

#include "common/durable_file.h"
#include "common/file_io.h"
#include "common/ids.h"
#include "common/sqlite_file.h"
#include "common/unique_fd.h"
#include "engine/engine_internal.h"
#include "engine/integrity.h"

namespace bakrest::engine {

class RestoreTargetImpl : public RestoreTarget {
 public:
  // fresh: a full restore created this database (removed again unless finished). Otherwise it is a
  // RESTORING database taking a differential or log backup.
  RestoreTargetImpl(Engine& engine, DatabaseInfo info, std::unique_ptr<DatabaseLease> lease,
                    uint32_t page_size, bool fresh)
      : engine_(engine),
        info_(std::move(info)),
        lease_(std::move(lease)),
        page_size_(page_size),
        fresh_(fresh) {
    int flags = O_RDWR | O_CLOEXEC | (fresh_ ? O_CREAT | O_EXCL : 0);
    fd_ = UniqueFd(fileio::open(info_.file.c_str(), flags, 0600));
    if (fd_.get() < 0)
      throw_errno((fresh_ ? "creating database '" : "opening database '") + info_.name + "' (" +
                  info_.file.string() + ")");
    if (page_size_ == 0) {
      page_size_ = sqlite_page_size_of(fd_.get(), info_.file);
      if (page_size_ == 0) throw std::runtime_error("the database being restored has no page size");
    }
  }
  ~RestoreTargetImpl() override {
    if (finished_) return;
    try {
      if (fresh_) {
        remove_database_files(info_.file);
        engine_.msdb_.with([&](sqlite::Database& db) {
          db.prepare("DELETE FROM databases WHERE database_id = ? AND state = 'RESTORING'")
              .bind(1, info_.id)
              .run();
        });
      }
      // A differential or log restore that stopped after writing pages has already been recorded as
      // damaging the database (mark_damaged); one that wrote nothing left it as it was.
    } catch (const std::exception& e) {
      spdlog::error("cleaning up the failed restore of '{}': {}", info_.name, e.what());
    }
  }

  uint32_t page_size() const override { return page_size_; }

  void write_page(uint64_t pgno, std::span<const uint8_t> page) override {
    if (pgno == 0 || page.size() != page_size_) throw std::invalid_argument("bad page for restore");
    mark_damaged();
    // Runs of consecutive pages (a full restore is one) go to the file in writes of up to kRunBytes: a
    // pwrite per page (262,144 for a GiB) was a third of a full restore's CPU time. Nothing is durable
    // before finish() anyway, and everything reaches the file before truncate() and finish().
    if (!run_.empty() && pgno != run_first_ + run_.size() / page_size_) write_run();
    if (run_.empty()) {
      run_first_ = pgno;
      run_.reserve(kRunBytes);
    }
    run_.insert(run_.end(), page.begin(), page.end());
    if (run_.size() >= kRunBytes) write_run();
  }

  void write_pages(uint64_t first, std::span<const uint8_t> pages) override {
    if (first == 0 || pages.size() % page_size_ != 0) throw std::invalid_argument("bad pages for restore");
    {
      std::lock_guard lock(mark_mutex_);
      mark_damaged();
    }
    write_at(first, pages);
  }

  void truncate(uint64_t pages) override {
    write_run();
    mark_damaged();
    if (fileio::ftruncate(fd_.get(), static_cast<off_t>(pages * page_size_)) != 0)
      throw_errno("setting the size of database '" + info_.name + "' (" + info_.file.string() + ")");
  }

  void finish(bool recover, uint64_t next_lsn, const Guid& base_backup_id,
              const std::string& restored_by) override {
    write_run();
    if (fileio::fsync(fd_.get()) != 0)
      throw_errno("making database '" + info_.name + "' durable (fsync of " + info_.file.string() + ")");
    fsync_directory(info_.file.parent_path());
    if (recover) {
      if (auto problems = quick_check(info_.file); !problems.empty()) {
        throw std::runtime_error("Database '" + info_.name +
                                 "' was not brought ONLINE: " + quick_check_failure(problems) + "." +
                                 (fresh_ ? " It was removed; restore a good backup."
                                         : " It stays RESTORING; drop it with rds_drop_database and restore "
                                           "a good backup."));
      }
    }
    bool updated = engine_.msdb_.with([&](sqlite::Database& db) {
      if (recover) {
        mark_recovered(db, info_, next_lsn);
      } else {
        db.prepare(
              "UPDATE databases SET restore_lsn = ?, restored_by = ?, restore_damaged = 0, "
              "restore_base_backup_id = COALESCE(?, restore_base_backup_id) "
              "WHERE database_id = ? AND state = 'RESTORING'")
            .bind(1, static_cast<int64_t>(next_lsn))
            .bind(2, restored_by)
            .bind(3, fresh_ ? std::optional<std::string>(guid_to_string(base_backup_id)) : std::nullopt)
            .bind(4, info_.id)
            .run();
      }
      return db.changes() == 1;
    });
    if (!updated) throw std::runtime_error("the database '" + info_.name + "' being restored disappeared");
    finished_ = true;
  }

 private:
  static constexpr size_t kRunBytes = 1 << 20;
  static constexpr size_t kWriteBehindBytes = 256 << 10;

  void write_run() {
    write_at(run_first_, run_);
    run_.clear();
  }

  // pwrite is safe from several threads at once at different offsets.
  void write_at(uint64_t first, std::span<const uint8_t> bytes) const {
    size_t done = 0;
    const uint64_t offset = (first - 1) * page_size_;
    while (done < bytes.size()) {
      ssize_t n = fileio::pwrite(fd_.get(), bytes.data() + done, bytes.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("writing database '" + info_.name + "' (" + info_.file.string() + ")");
      done += static_cast<size_t>(n);
    }
    // A large run starts on its way to the disk at once, so the disk writes while the restore decompresses
    // the next; finish()'s fsync then waits for little (it waited for the whole database: a second per GiB
    // here). Advice only: an error changes nothing, the fsync is what makes the file durable.
    if (bytes.size() >= kWriteBehindBytes)
      ::sync_file_range(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(bytes.size()),
                        SYNC_FILE_RANGE_WRITE);
  }

  // Before the first byte of a differential or log restore reaches the file, msdb records that the
  // database is being changed; finish() clears it. A crash or error in between leaves it marked.
  void mark_damaged() {
    if (fresh_ || damaged_marked_) return;
    engine_.msdb_.with([&](sqlite::Database& db) {
      db.prepare("UPDATE databases SET restore_damaged = 1 WHERE database_id = ?").bind(1, info_.id).run();
    });
    damaged_marked_ = true;
  }

  Engine& engine_;
  DatabaseInfo info_;
  std::unique_ptr<DatabaseLease> lease_;  // a restore in progress is a use: DROP DATABASE refuses it
  uint32_t page_size_;
  bool fresh_;
  UniqueFd fd_;
  bool finished_ = false;
  bool damaged_marked_ = false;
  std::mutex mark_mutex_;     // write_pages() from several threads marks once
  std::vector<uint8_t> run_;  // pages run_first_, run_first_ + 1, ... not written to the file yet
  uint64_t run_first_ = 0;
};

std::unique_ptr<RestoreTarget> make_restore_target(Engine& engine, DatabaseInfo info,
                                                   std::unique_ptr<DatabaseLease> lease, uint32_t page_size,
                                                   bool fresh) {
  return std::make_unique<RestoreTargetImpl>(engine, std::move(info), std::move(lease), page_size, fresh);
}

}  // namespace bakrest::engine
