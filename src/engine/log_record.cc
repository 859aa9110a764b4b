#include "engine/log_record.h"

#include <xxhash.h>

#include <cstring>
#include <string>

namespace bakrest::engine {

namespace {

constexpr uint32_t kRecordMagic = 0x4345524c;  // "LREC" little-endian

template <typename T>
void put(uint8_t* at, T value) {
  auto bits = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = 0; i < sizeof(T); ++i) at[i] = static_cast<uint8_t>(bits >> (8 * i));
}

template <typename T>
T get(const uint8_t* at) {
  std::make_unsigned_t<T> bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<std::make_unsigned_t<T>>(at[i]) << (8 * i);
  return static_cast<T>(bits);
}

bool valid_page_size(uint32_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

}  // namespace

struct LogRecordEncoder::State {
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

uint64_t LogRecordHeader::encoded_size() const {
  return kLogRecordHeaderSize + static_cast<uint64_t>(page_count) * (uint64_t{4} + page_size) +
         kLogRecordChecksumSize;
}

std::vector<uint8_t> encode_log_record_header(const LogRecordHeader& h) {
  std::vector<uint8_t> b(kLogRecordHeaderSize);
  put<uint32_t>(&b[0], kRecordMagic);
  put<uint32_t>(&b[4], h.page_count);
  put<uint64_t>(&b[8], h.encoded_size());
  put<uint64_t>(&b[16], h.lsn);
  put<int64_t>(&b[24], h.commit_time_us);
  put<uint32_t>(&b[32], h.database_pages);
  put<uint32_t>(&b[36], h.page_size);
  put<uint32_t>(&b[40], h.wal_salt[0]);
  put<uint32_t>(&b[44], h.wal_salt[1]);
  put<uint32_t>(&b[48], h.wal_commit_frame);
  put<uint32_t>(&b[52], 0);  // reserved
  return b;
}

LogRecordEncoder::LogRecordEncoder(const LogRecordHeader& header, Output out)
    : header_(header), out_(std::move(out)), state_(std::make_unique<State>()) {
  XXH3_64bits_reset(state_->xxh);
  auto bytes = encode_log_record_header(header_);
  XXH3_64bits_update(state_->xxh, bytes.data(), bytes.size());
  out_(bytes);
}

LogRecordEncoder::~LogRecordEncoder() = default;

void LogRecordEncoder::add_page(uint32_t pgno, std::span<const uint8_t> image) {
  if (image.size() != header_.page_size || added_ >= header_.page_count)
    throw std::logic_error("log record page does not match its header");
  uint8_t number[4];
  put<uint32_t>(number, pgno);
  XXH3_64bits_update(state_->xxh, number, sizeof number);
  XXH3_64bits_update(state_->xxh, image.data(), image.size());
  out_(number);
  out_(image);
  ++added_;
}

void LogRecordEncoder::finish() {
  if (added_ != header_.page_count) throw std::logic_error("log record is missing pages");
  uint8_t sum[8];
  put<uint64_t>(sum, XXH3_64bits_digest(state_->xxh));
  out_(sum);
}

bool decode_log_record_header(const LogInput& in, LogRecordHeader& h) {
  uint8_t b[kLogRecordHeaderSize];
  size_t n = in(b);
  if (n == 0) return false;
  if (n < sizeof b) throw LogFormatError("log record header is torn");
  if (get<uint32_t>(&b[0]) != kRecordMagic) throw LogFormatError("no log record where one should start");
  h.page_count = get<uint32_t>(&b[4]);
  uint64_t size = get<uint64_t>(&b[8]);
  h.lsn = get<uint64_t>(&b[16]);
  h.commit_time_us = get<int64_t>(&b[24]);
  h.database_pages = get<uint32_t>(&b[32]);
  h.page_size = get<uint32_t>(&b[36]);
  h.wal_salt[0] = get<uint32_t>(&b[40]);
  h.wal_salt[1] = get<uint32_t>(&b[44]);
  h.wal_commit_frame = get<uint32_t>(&b[48]);
  // The checksum covers the header as re-encoded from its fields, so the reserved bytes are checked here.
  // A record's pages are distinct pages of the database after the commit, so there are at most
  // database_pages of them.
  bool sizes_fit = h.database_pages > 0 && h.page_count <= h.database_pages;
  if (!valid_page_size(h.page_size) || size != h.encoded_size() || h.lsn == 0 || get<uint32_t>(&b[52]) != 0 ||
      !sizes_fit)
    throw LogFormatError("log record header of LSN " + std::to_string(h.lsn) + " is damaged");
  return true;
}

void decode_log_record_pages(const LogInput& in, const LogRecordHeader& header,
                             const std::function<void(uint32_t, std::span<const uint8_t>)>& on_page) {
  XXH3_state_t* xxh = XXH3_createState();
  struct Free {
    XXH3_state_t* p;
    ~Free() { XXH3_freeState(p); }
  } free_state{xxh};
  XXH3_64bits_reset(xxh);
  auto head = encode_log_record_header(header);
  XXH3_64bits_update(xxh, head.data(), head.size());
  std::vector<uint8_t> entry(size_t{4} + header.page_size);
  uint32_t previous = 0;
  for (uint32_t i = 0; i < header.page_count; ++i) {
    if (in(entry) < entry.size())
      throw LogFormatError("log record of LSN " + std::to_string(header.lsn) + " is torn");
    XXH3_64bits_update(xxh, entry.data(), entry.size());
    uint32_t pgno = get<uint32_t>(entry.data());
    // Capture writes each page once, in ascending order, and none past the database's end.
    if (pgno <= previous || pgno > header.database_pages) {
      throw LogFormatError("log record of LSN " + std::to_string(header.lsn) + " names page " +
                           std::to_string(pgno) + " after page " + std::to_string(previous) +
                           " of a database of " + std::to_string(header.database_pages) + " pages");
    }
    previous = pgno;
    on_page(pgno, std::span<const uint8_t>(entry).subspan(4));
  }
  uint8_t sum[8];
  if (in(sum) < sizeof sum)
    throw LogFormatError("log record of LSN " + std::to_string(header.lsn) + " is torn");
  if (get<uint64_t>(sum) != XXH3_64bits_digest(xxh))
    throw LogFormatError("log record of LSN " + std::to_string(header.lsn) + " fails its checksum");
}

}  // namespace bakrest::engine
