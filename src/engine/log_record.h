// One transaction-log record (docs/LOG.md): a committed transaction's LSN, commit time, the database size
// after it and the full images of the pages it changed, closed by a checksum. Encoded and decoded as a
// stream, so a transaction of any size passes through in page-sized pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

namespace bakrest::engine {

struct LogRecordHeader {
  uint64_t lsn = 0;
  int64_t commit_time_us = 0;   // microseconds since the Unix epoch, UTC
  uint32_t database_pages = 0;  // the database size after the commit
  uint32_t page_size = 0;
  uint32_t page_count = 0;  // page images that follow
  // Where the commit sits in the database's WAL (the generation's salts and the commit frame), so that
  // recovery at open knows which WAL transactions the log already has.
  uint32_t wal_salt[2] = {0, 0};
  uint32_t wal_commit_frame = 0;

  uint64_t encoded_size() const;  // the whole record, checksum included
};

inline constexpr size_t kLogRecordHeaderSize = 56;
// LSNs run from 1 and fit the signed 64-bit integers msdb and backup headers keep.
inline constexpr uint64_t kMaxLsn = (uint64_t{1} << 63) - 1;
inline constexpr size_t kLogRecordChecksumSize = 8;

// A damaged, torn or impossible record. what() says what and where.
class LogFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes one record to `out` piece by piece: the header at construction, then exactly page_count pages with
// add_page(), then finish().
class LogRecordEncoder {
 public:
  using Output = std::function<void(std::span<const uint8_t>)>;
  LogRecordEncoder(const LogRecordHeader& header, Output out);
  ~LogRecordEncoder();
  LogRecordEncoder(const LogRecordEncoder&) = delete;
  LogRecordEncoder& operator=(const LogRecordEncoder&) = delete;
  void add_page(uint32_t pgno, std::span<const uint8_t> image);
  void finish();

 private:
  struct State;
  LogRecordHeader header_;
  Output out_;
  uint32_t added_ = 0;
  std::unique_ptr<State> state_;  // XXH3 streaming state
};

// Reads bytes for the decoder: exactly out.size() bytes, or fewer only at the end of the input.
using LogInput = std::function<size_t(std::span<uint8_t> out)>;

// Decodes the header of the next record. Returns false at a clean end of input (no bytes at all). Throws
// LogFormatError for a damaged or partial header, also for one whose fields are impossible (a page size
// SQLite does not have, LSN 0, no database pages, more page images than database pages).
bool decode_log_record_header(const LogInput& in, LogRecordHeader& header);

// Reads the rest of a record whose header was decoded, calling on_page for each page image (the span is only
// valid during the call), then checks the checksum. Page numbers ascend and lie in 1..database_pages.
// Throws LogFormatError on a short read, a page number out of order or range, or a checksum mismatch —
// after on_page may already have seen pages, so callers that apply pages must verify first.
void decode_log_record_pages(
    const LogInput& in, const LogRecordHeader& header,
    const std::function<void(uint32_t pgno, std::span<const uint8_t> image)>& on_page);

// The header as bytes (the record's first kLogRecordHeaderSize bytes).
std::vector<uint8_t> encode_log_record_header(const LogRecordHeader& header);

}  // namespace bakrest::engine
