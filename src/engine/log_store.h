// One database's transaction log on disk (docs/LOG.md): a directory of segment files, each a short header
// followed by log records in LSN order. Appends are buffered by the OS and made durable by sync(), which the
// engine calls before any checkpoint or WAL restart could make the WAL's copy of a transaction go away.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/log_record.h"

namespace bakrest::engine {

struct LogStoreOptions {
  uint64_t segment_bytes = 64u << 20;  // a new segment starts once the current one reaches this size
};

class LogStore {
 public:
  // Opens the log in dir. An empty or missing directory becomes a log whose first record will get
  // initial_next_lsn (1..kMaxLsn, else std::invalid_argument). Checks every record of the newest segment and
  // cuts off a torn or damaged tail (a crash in the middle of an append); throws LogFormatError if an older
  // segment is damaged, or a segment whose header names no valid first LSN holds records.
  LogStore(std::filesystem::path dir, uint64_t initial_next_lsn, LogStoreOptions options = {});
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  uint64_t next_lsn() const { return next_lsn_; }
  // The oldest LSN the log still holds (next_lsn() if it holds none).
  uint64_t first_lsn() const;
  // The newest record's header, if the log holds any.
  const std::optional<LogRecordHeader>& last() const { return last_; }

  // Appends a record whose header.lsn must be next_lsn(). write_pages is given an encoder and must add
  // exactly header.page_count pages. If anything throws, the partial record is cut off again.
  void append(const LogRecordHeader& header, const std::function<void(LogRecordEncoder&)>& write_pages);

  // Makes every appended record durable (fsync of the segments and the directory).
  void sync();
  uint64_t synced_lsn() const { return synced_next_lsn_ - 1; }  // the newest durable LSN

  // Calls visit for each record with from_lsn <= lsn < to_lsn, in order. visit gets the header and must
  // call read_pages exactly once (or throw); pages are checked against the record checksum as they are read.
  using PageVisitor = std::function<void(uint32_t pgno, std::span<const uint8_t> image)>;
  using RecordVisitor =
      std::function<void(const LogRecordHeader&, const std::function<void(const PageVisitor&)>& read_pages)>;
  void read(uint64_t from_lsn, uint64_t to_lsn, const RecordVisitor& visit) const;

  // The same in two steps, so that a long read needs no lock: plan_read() (with appends excluded) notes
  // where the records are, read_planned() reads them while appends go on. Segments must not be discarded
  // in between.
  struct ReadPlan {
    struct Piece {
      std::filesystem::path path;
      uint64_t offset;  // where to start reading
      uint64_t end;     // bytes of whole records when planned
    };
    std::vector<Piece> pieces;
    uint64_t from_lsn = 0;
    uint64_t to_lsn = 0;
  };
  ReadPlan plan_read(uint64_t from_lsn, uint64_t to_lsn) const;
  static void read_planned(const ReadPlan& plan, const RecordVisitor& visit);

  // The newest LSN committed at or before time_us (nullopt if the oldest record held is later).
  std::optional<uint64_t> lsn_at_or_before(int64_t time_us) const;
  // The commit time of a record the log holds (nullopt if it does not hold it).
  std::optional<int64_t> commit_time(uint64_t lsn) const;

  // Removes segments all of whose records are below lsn. The newest segment and the one holding the
  // newest record always stay.
  void discard_before(uint64_t lsn);

  uint64_t bytes_on_disk() const;

 private:
  struct Segment {
    uint64_t first_lsn;
    std::filesystem::path path;
    uint64_t size;  // bytes of whole records, header included
  };
  // A sparse index from LSN and time to a place in a segment, one entry per ~64 KiB of log.
  struct IndexEntry {
    uint64_t lsn;
    int64_t time_us;
    size_t segment;
    uint64_t offset;
  };

  void open_existing();
  void start_segment(uint64_t first_lsn);
  uint64_t scan_segment(size_t index, bool verify);  // returns the end of the last whole record
  void note_record(const LogRecordHeader& header, size_t segment, uint64_t offset);
  // Finds where to start reading for lsn: (segment, offset) of a record at or before it.
  std::pair<size_t, uint64_t> locate(uint64_t lsn) const;

  std::filesystem::path dir_;
  LogStoreOptions options_;
  std::vector<Segment> segments_;
  std::vector<IndexEntry> index_;
  uint64_t last_indexed_offset_ = 0;
  int fd_ = -1;  // the newest segment, open for appending
  uint64_t next_lsn_ = 1;
  uint64_t synced_next_lsn_ = 1;
  bool dir_dirty_ = false;
  std::optional<LogRecordHeader> last_;
};

// "0000000000000001.log" for a segment whose first record is LSN 1.
std::string log_segment_name(uint64_t first_lsn);

}  // namespace bakrest::engine
