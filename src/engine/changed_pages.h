// Which pages changed since a database's differential base — the LSN of its last successful full backup —
// so that a differential backup reads only those (docs/LOG.md). Kept in memory as a bitmap, marked at every
// captured commit, written to disk atomically when the log is flushed; after a crash the log records past
// the file's covered LSN are marked again, so nothing is lost. A full backup collects the pages changed
// after its own LSN in a separate generation that becomes the base only if that backup succeeds: a failed or
// cancelled full backup leaves the base as it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "common/ids.h"

namespace bakrest::engine {

class PageBitmap {
 public:
  void set(uint32_t pgno);
  bool test(uint32_t pgno) const;
  uint32_t size() const { return static_cast<uint32_t>(words_.size() * 64); }  // pages it can hold
  uint64_t count() const;
  const std::vector<uint64_t>& words() const { return words_; }
  void assign(std::vector<uint64_t> words) { words_ = std::move(words); }

 private:
  std::vector<uint64_t> words_;  // bit (pgno - 1)
};

struct DifferentialBase {
  uint64_t lsn = 0;  // the full backup's image holds every transaction up to this LSN
  Guid backup_id{};  // that full backup's id (its header's backup ID)
};

class ChangedPages {
 public:
  // Loads file if it exists and is intact; otherwise starts with no base. A damaged file is treated as
  // missing (it is rewritten at the next persist()): a differential then needs a new full backup.
  explicit ChangedPages(std::filesystem::path file);

  const std::optional<DifferentialBase>& base() const { return base_; }
  // Every record up to this LSN has been marked.
  uint64_t covered_lsn() const { return covered_lsn_; }

  // Marks the pages of the committed transaction lsn (called in LSN order).
  void mark(uint64_t lsn, std::span<const uint32_t> pages);

  // A full backup of the image at lsn starts: pages changed after lsn are collected for it. Returns a
  // handle for finish_generation().
  uint64_t begin_generation(uint64_t lsn);
  // The full backup ended. With a backup id (it succeeded) its generation becomes the base and is made
  // durable (if writing fails, at the next persist(): the backup has succeeded all the same); without one the
  // generation is dropped.
  void finish_generation(uint64_t handle, const std::optional<Guid>& succeeded_backup_id);

  // A full backup of the image at lsn succeeded, but its generation was lost (a restart came between its
  // history being recorded and finish_generation()): it becomes the base, keeping the pages marked since
  // the older base, which include every page changed since lsn. Ignored if the base is already this one
  // or newer. Made durable like finish_generation().
  void adopt_base(const DifferentialBase& base);

  // The pages changed since the base (requires a base).
  const PageBitmap& since_base() const { return current_; }

  // Writes the state to disk if it changed since the last persist (temporary file, fsync, rename).
  void persist();

 private:
  struct Generation {
    uint64_t lsn;
    PageBitmap pages;
  };

  std::filesystem::path file_;
  std::optional<DifferentialBase> base_;
  PageBitmap current_;
  uint64_t covered_lsn_ = 0;
  bool dirty_ = false;
  std::map<uint64_t, Generation> generations_;
  uint64_t next_handle_ = 1;
};

}  // namespace bakrest::engine
