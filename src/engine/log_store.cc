#include "engine/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "common/durable_file.h"
#include "common/file_io.h"
#include "common/private_files.h"
#include "common/unique_fd.h"
#include "engine/wal_format.h"

namespace bakrest::engine {

namespace fs = std::filesystem;

namespace {

constexpr uint8_t kSegmentMagic[8] = {'B', 'K', 'R', 'S', 'L', 'O', 'G', 0};
constexpr size_t kSegmentHeaderSize = 32;
constexpr uint32_t kSegmentVersion = 1;
constexpr uint64_t kIndexSpacing = 64 * 1024;
constexpr size_t kWriteBuffer = 1 << 20;

void put64(uint8_t* at, uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get64(const uint8_t* at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(at[i]) << (8 * i);
  return v;
}

void pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset, const fs::path& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        fileio::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("writing the transaction log " + path.string());
    done += static_cast<size_t>(n);
  }
}

std::optional<uint64_t> parse_segment_name(const std::string& name) {
  if (name.size() != 20 || name.substr(16) != ".log") return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 16; ++i) {
    char c = name[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

// A file opened for reading; throws naming it if it can't be.
UniqueFd open_for_reading(const fs::path& path) {
  UniqueFd fd(fileio::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw_errno("open " + path.string());
  return fd;
}

// Reads a file sequentially from an offset, for the record decoder.
LogInput input_at(int fd, uint64_t& offset) {
  return [fd, &offset](std::span<uint8_t> out) {
    size_t n = wal::pread_full(fd, out, offset);
    offset += n;
    return n;
  };
}

// Reads a segment sequentially from an offset in reads of kReadSize bytes, for the record decoder: a whole
// record costs one pread per few hundred pages rather than one per page entry (what input_at does, which
// suits skipping from header to header). Bytes past the end the caller planned are read ahead but never
// decoded.
class SequentialInput {
 public:
  static constexpr size_t kReadSize = 1 << 20;

  SequentialInput(int fd, uint64_t offset) : fd_(fd), position_(offset) {}

  size_t read(std::span<uint8_t> out) {
    size_t done = 0;
    while (done < out.size()) {
      if (position_ < buffer_offset_ || position_ >= buffer_offset_ + buffered_) {
        // Reads larger than the buffer go straight to the caller.
        if (out.size() - done >= kReadSize) {
          size_t n = wal::pread_full(fd_, out.subspan(done), position_);
          position_ += n;
          return done + n;
        }
        buffer_.resize(kReadSize);
        buffered_ = wal::pread_full(fd_, buffer_, position_);
        buffer_offset_ = position_;
        if (buffered_ == 0) break;
      }
      size_t at = position_ - buffer_offset_;
      size_t n = std::min(out.size() - done, buffered_ - at);
      std::memcpy(out.data() + done, buffer_.data() + at, n);
      done += n;
      position_ += n;
    }
    return done;
  }
  void seek(uint64_t offset) { position_ = offset; }
  uint64_t position() const { return position_; }
  LogInput input() {
    return [this](std::span<uint8_t> out) { return read(out); };
  }

 private:
  int fd_;
  uint64_t position_;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_offset_ = 0;
  size_t buffered_ = 0;
};

bool read_segment_header(int fd, uint64_t expected_first_lsn) {
  // A segment can't start at LSN 0 (LSNs start at 1) or beyond the last LSN: such a header is damage, and a
  // log that took it would hand out LSNs its own reader refuses.
  if (expected_first_lsn == 0 || expected_first_lsn > kMaxLsn) return false;
  uint8_t h[kSegmentHeaderSize];
  if (wal::pread_full(fd, h, 0) < sizeof h) return false;
  if (std::memcmp(h, kSegmentMagic, sizeof kSegmentMagic) != 0) return false;
  if ((h[8] | h[9] << 8 | h[10] << 16 | static_cast<uint32_t>(h[11]) << 24) != kSegmentVersion) return false;
  if (get64(h + 16) != expected_first_lsn) return false;
  return get64(h + 24) == XXH3_64bits(h, 24);
}

}  // namespace

std::string log_segment_name(uint64_t first_lsn) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.log", static_cast<unsigned long long>(first_lsn));
  return name;
}

LogStore::LogStore(fs::path dir, uint64_t initial_next_lsn, LogStoreOptions options)
    : dir_(std::move(dir)), options_(options) {
  if (initial_next_lsn == 0 || initial_next_lsn > kMaxLsn)
    throw std::invalid_argument("a transaction log starts at an LSN in 1.." + std::to_string(kMaxLsn));
  bool existed = fs::is_directory(dir_);
  create_private_directories(dir_);
  // The directory's own entry is durable only once its parent is synced. (SQLite's unix VFS happens to
  // sync the databases directory at a WAL's first sync, before any record is captured; this does not
  // count on that.)
  if (!existed) fsync_directory(dir_.parent_path());
  open_existing();
  if (segments_.empty()) {
    next_lsn_ = initial_next_lsn;
    start_segment(initial_next_lsn);
    sync();
  }
  synced_next_lsn_ = next_lsn_;
}

LogStore::~LogStore() {
  if (fd_ >= 0) fileio::close(fd_);
}

void LogStore::open_existing() {
  std::vector<uint64_t> firsts;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (auto first = parse_segment_name(entry.path().filename().string())) firsts.push_back(*first);
  }
  std::sort(firsts.begin(), firsts.end());
  // A crash while a segment was being started can leave it without a whole header; it holds no records.
  while (!firsts.empty()) {
    fs::path path = dir_ / log_segment_name(firsts.back());
    UniqueFd f = open_for_reading(path);
    if (read_segment_header(f.get(), firsts.back())) break;
    if (fs::file_size(path) > kSegmentHeaderSize)
      throw LogFormatError("transaction log segment " + path.string() + " has a damaged header");
    remove_file(path);
    firsts.pop_back();
  }
  for (size_t i = 0; i < firsts.size(); ++i) {
    segments_.push_back({firsts[i], dir_ / log_segment_name(firsts[i]), kSegmentHeaderSize});
    bool newest = i + 1 == firsts.size();
    uint64_t end = scan_segment(i, newest);
    segments_[i].size = end;
    if (newest) {
      fd_ = fileio::open(segments_[i].path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd_ < 0) throw_errno("open " + segments_[i].path.string());
      struct stat st {};
      if (::fstat(fd_, &st) != 0) throw_errno("stat " + segments_[i].path.string());
      if (static_cast<uint64_t>(st.st_size) != end && fileio::ftruncate(fd_, static_cast<off_t>(end)) != 0)
        throw_errno("truncating the torn tail of " + segments_[i].path.string());
    }
  }
  if (!segments_.empty()) next_lsn_ = last_ ? last_->lsn + 1 : segments_.back().first_lsn;
}

uint64_t LogStore::scan_segment(size_t index, bool verify) {
  Segment& segment = segments_[index];
  UniqueFd f = open_for_reading(segment.path);
  if (!read_segment_header(f.get(), segment.first_lsn))
    throw LogFormatError("transaction log segment " + segment.path.string() + " has a damaged header");
  uint64_t file_size = fs::file_size(segment.path);
  uint64_t offset = kSegmentHeaderSize;
  uint64_t expected = index > 0 && last_ ? last_->lsn + 1 : segment.first_lsn;
  if (expected != segment.first_lsn)
    throw LogFormatError("transaction log segment " + segment.path.string() + " does not continue LSN " +
                         std::to_string(expected - 1));
  for (;;) {
    uint64_t at = offset;
    LogRecordHeader header;
    try {
      auto in = input_at(f.get(), offset);
      if (!decode_log_record_header(in, header)) break;
      if (header.lsn != expected)
        throw LogFormatError("record LSN " + std::to_string(header.lsn) + " where " +
                             std::to_string(expected) + " belongs");
      if (at + header.encoded_size() > file_size) throw LogFormatError("the last record is torn");
      if (verify) {
        decode_log_record_pages(in, header, [](uint32_t, std::span<const uint8_t>) {});
      } else {
        offset = at + header.encoded_size();
      }
    } catch (const LogFormatError& e) {
      if (!verify) throw LogFormatError("transaction log segment " + segment.path.string() + ": " + e.what());
      return at;  // the newest segment ends at its last whole record
    }
    note_record(header, index, at);
    last_ = header;
    ++expected;
  }
  return offset;
}

void LogStore::note_record(const LogRecordHeader& header, size_t segment, uint64_t offset) {
  bool new_segment = index_.empty() || index_.back().segment != segment;
  if (new_segment || offset >= last_indexed_offset_ + kIndexSpacing) {
    index_.push_back({header.lsn, header.commit_time_us, segment, offset});
    last_indexed_offset_ = offset;
  }
}

void LogStore::start_segment(uint64_t first_lsn) {
  fs::path path = dir_ / log_segment_name(first_lsn);
  int fd = fileio::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("create " + path.string());
  uint8_t h[kSegmentHeaderSize] = {};
  std::memcpy(h, kSegmentMagic, sizeof kSegmentMagic);
  h[8] = kSegmentVersion;
  put64(h + 16, first_lsn);
  put64(h + 24, XXH3_64bits(h, 24));
  try {
    pwrite_all(fd, h, 0, path);
    // Durable before any record goes in. Writeback keeps no order, so a power cut could otherwise keep
    // records written after the header and lose the header, and the segment could never be opened again.
    if (fileio::fdatasync(fd) != 0) throw_errno("fsync " + path.string());
  } catch (...) {
    fileio::close(fd);
    throw;
  }
  if (fd_ >= 0) fileio::close(fd_);
  fd_ = fd;
  segments_.push_back({first_lsn, path, kSegmentHeaderSize});
  dir_dirty_ = true;
}

uint64_t LogStore::first_lsn() const { return segments_.empty() ? next_lsn_ : segments_.front().first_lsn; }

void LogStore::append(const LogRecordHeader& header,
                      const std::function<void(LogRecordEncoder&)>& write_pages) {
  if (header.lsn != next_lsn_) throw std::logic_error("log records must be appended in LSN order");
  if (header.lsn > kMaxLsn) throw LogFormatError("the transaction log has used every LSN");
  if (segments_.back().size >= options_.segment_bytes && segments_.back().size > kSegmentHeaderSize) {
    // Older segments are never written again: make this one durable now, so sync() has one file to flush.
    if (fileio::fdatasync(fd_) != 0) throw_errno("fsync " + segments_.back().path.string());
    start_segment(header.lsn);
  }
  Segment& segment = segments_.back();
  uint64_t start = segment.size;
  uint64_t at = start;
  std::vector<uint8_t> buffer;
  buffer.reserve(std::min<uint64_t>(kWriteBuffer, header.encoded_size()));
  auto flush = [&] {
    pwrite_all(fd_, buffer, at, segment.path);
    at += buffer.size();
    buffer.clear();
  };
  try {
    LogRecordEncoder encoder(header, [&](std::span<const uint8_t> bytes) {
      if (buffer.size() + bytes.size() > kWriteBuffer) flush();
      if (bytes.size() >= kWriteBuffer) {
        pwrite_all(fd_, bytes, at, segment.path);
        at += bytes.size();
      } else {
        buffer.insert(buffer.end(), bytes.begin(), bytes.end());
      }
    });
    write_pages(encoder);
    encoder.finish();
    flush();
    if (at - start != header.encoded_size()) throw std::logic_error("log record size mismatch");
  } catch (...) {
    if (fileio::ftruncate(fd_, static_cast<off_t>(start)) != 0) {
      // The torn record stays on disk; opening the log again cuts it off.
    }
    throw;
  }
  segment.size = at;
  note_record(header, segments_.size() - 1, start);
  last_ = header;
  ++next_lsn_;
}

void LogStore::sync() {
  if (synced_next_lsn_ == next_lsn_ && !dir_dirty_) return;
  if (fileio::fdatasync(fd_) != 0) throw_errno("fsync " + segments_.back().path.string());
  if (dir_dirty_) {
    fsync_directory(dir_);
    dir_dirty_ = false;
  }
  synced_next_lsn_ = next_lsn_;
}

std::pair<size_t, uint64_t> LogStore::locate(uint64_t lsn) const {
  auto it = std::upper_bound(index_.begin(), index_.end(), lsn,
                             [](uint64_t value, const IndexEntry& e) { return value < e.lsn; });
  if (it == index_.begin()) return {0, kSegmentHeaderSize};
  --it;
  return {it->segment, it->offset};
}

void LogStore::read(uint64_t from_lsn, uint64_t to_lsn, const RecordVisitor& visit) const {
  read_planned(plan_read(from_lsn, to_lsn), visit);
}

LogStore::ReadPlan LogStore::plan_read(uint64_t from_lsn, uint64_t to_lsn) const {
  ReadPlan plan;
  plan.from_lsn = from_lsn;
  plan.to_lsn = std::min(to_lsn, next_lsn_);
  if (from_lsn >= plan.to_lsn) return plan;
  if (from_lsn < first_lsn())
    throw std::runtime_error("the transaction log no longer holds LSN " + std::to_string(from_lsn));
  auto [segment, offset] = locate(from_lsn);
  for (; segment < segments_.size(); ++segment, offset = kSegmentHeaderSize) {
    if (segments_[segment].first_lsn >= plan.to_lsn) break;
    plan.pieces.push_back({segments_[segment].path, offset, segments_[segment].size});
  }
  return plan;
}

void LogStore::read_planned(const ReadPlan& plan, const RecordVisitor& visit) {
  for (const auto& piece : plan.pieces) {
    UniqueFd f = open_for_reading(piece.path);
    SequentialInput reader(f.get(), piece.offset);
    const LogInput in = reader.input();
    while (reader.position() < piece.end) {
      uint64_t at = reader.position();
      LogRecordHeader header;
      if (!decode_log_record_header(in, header)) break;
      if (header.lsn >= plan.to_lsn) return;
      if (header.lsn < plan.from_lsn) {
        reader.seek(at + header.encoded_size());
        continue;
      }
      bool consumed = false;
      visit(header, [&](const PageVisitor& on_page) {
        decode_log_record_pages(in, header, on_page);
        consumed = true;
      });
      if (!consumed) throw std::logic_error("a log reader skipped a record's pages");
    }
  }
}

std::optional<uint64_t> LogStore::lsn_at_or_before(int64_t time_us) const {
  auto it = std::upper_bound(index_.begin(), index_.end(), time_us,
                             [](int64_t value, const IndexEntry& e) { return value < e.time_us; });
  if (it == index_.begin()) return std::nullopt;
  --it;
  std::optional<uint64_t> found;
  for (size_t segment = it->segment; segment < segments_.size(); ++segment) {
    UniqueFd f = open_for_reading(segments_[segment].path);
    uint64_t offset = segment == it->segment ? it->offset : kSegmentHeaderSize;
    while (offset < segments_[segment].size) {
      uint64_t at = offset;
      LogRecordHeader header;
      auto in = input_at(f.get(), offset);
      if (!decode_log_record_header(in, header)) break;
      if (header.commit_time_us > time_us) return found;
      found = header.lsn;
      offset = at + header.encoded_size();
    }
  }
  return found;
}

std::optional<int64_t> LogStore::commit_time(uint64_t lsn) const {
  if (lsn < first_lsn() || lsn >= next_lsn_) return std::nullopt;
  std::optional<int64_t> time;
  read(lsn, lsn + 1, [&](const LogRecordHeader& h, const auto& read_pages) {
    time = h.commit_time_us;
    read_pages([](uint32_t, std::span<const uint8_t>) {});
  });
  return time;
}

void LogStore::discard_before(uint64_t lsn) {
  // The segment holding the newest record stays too (the newest can be empty after a failed append):
  // recovery at open finds the WAL position the log has reached from that record.
  size_t keep = segments_.back().size == kSegmentHeaderSize && segments_.size() > 1 ? 2 : 1;
  size_t drop = 0;
  // Segment i holds LSNs below segment i+1's first; it can go when that is at or below lsn.
  while (drop + keep < segments_.size() && segments_[drop + 1].first_lsn <= lsn) ++drop;
  if (drop == 0) return;
  for (size_t i = 0; i < drop; ++i) remove_file(segments_[i].path);
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  std::erase_if(index_, [&](const IndexEntry& e) { return e.segment < drop; });
  for (auto& e : index_) e.segment -= drop;
  dir_dirty_ = true;
}

uint64_t LogStore::bytes_on_disk() const {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.size;
  return total;
}

}  // namespace bakrest::engine
