// The bakrest backup file, version 3 (docs/FORMAT.md): a header that says what the backup is, a body of
// checksummed chunks (optionally zstd-compressed, optionally sealed with AES-256-GCM under a data key), and a
// trailer with totals and an XXH3-128 digest over everything before it (and, when encrypted, a tag that
// authenticates the header and the totals). Bytes in, bytes out: no files, no object store, no key service:
// the caller brings the data key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "crypto/secret.h"

namespace bakrest::format {

// The stream a writer produces into. write() may throw; the writer then stops.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(std::span<const uint8_t> bytes) = 0;
};

// The stream a reader consumes. read() returns the number of bytes read, 0 only at end of stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual size_t read(std::span<uint8_t> out) = 0;
};

// Any corruption, truncation or unknown format found while reading. what() is a sentence for users.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class BackupType : uint8_t { kFull = 1, kDifferential = 2, kLog = 3 };
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };
enum class Encryption : uint8_t { kNone = 0, kAes256Gcm = 1 };
enum class RecoveryModel : uint8_t { kFull = 1, kBulkLogged = 2, kSimple = 3 };

// A backup is split across 1..kMaxStripeCount stripe objects, each a complete backup file.
inline constexpr uint16_t kMaxStripeCount = 10;

// The ranges a header keeps (versions 1 and 2 alike) (docs/FORMAT.md, "Header"). Page sizes are SQLite's (a
// power of two); the page count is bounded by SQLite's largest database; LSNs fit the signed 64-bit integers
// msdb keeps.
inline constexpr uint32_t kMinPageSize = 512;
inline constexpr uint32_t kMaxPageSize = 65536;
inline constexpr uint64_t kMaxPageCount = 4294967294;
inline constexpr uint64_t kMaxLsn = (uint64_t{1} << 63) - 1;
inline constexpr size_t kMaxDatabaseNameBytes = 512;

struct BackupHeader {
  std::string database_name;                // UTF-8
  std::array<uint8_t, 16> database_guid{};  // the database's identity
  BackupType type = BackupType::kFull;
  uint64_t first_lsn = 0;         // LSN range covered; for a full backup both are the snapshot
  uint64_t last_lsn = 0;          //   position
  int64_t begin_time_us = 0;      // backup start, microseconds since the Unix epoch (UTC)
  std::string time_zone = "UTC";  // the instance's time zone when the backup was taken
  uint32_t page_size = 0;         // database page size in bytes
  uint64_t page_count = 0;        // pages in the body
  Compression compression = Compression::kNone;
  // kAes256Gcm (version 3): every chunk sealed under a 256-bit data key that the KMS key kms_key_arn
  // wrapped into wrapped_data_key (the KMS's ciphertext of it, bytes). kNone: both empty (versions 1 and 2
  // read them as written).
  Encryption encryption = Encryption::kNone;
  std::string kms_key_arn;
  std::string wrapped_data_key;

  // Which backup this is, which stripe of it, and where it sits in the database's history.
  // Random per backup (random_backup_id()) and the same in every stripe of it, so that a stripe of another
  // backup is told apart.
  std::array<uint8_t, 16> backup_id{};
  std::array<uint8_t, 16> fork_guid{};  // the database's recovery-fork GUID
  // A differential's base: the backup_id of the full backup it applies onto. All zero for full and log.
  std::array<uint8_t, 16> base_backup_id{};
  RecoveryModel recovery_model = RecoveryModel::kFull;  // the database's, when the backup was taken
  uint16_t stripe_index = 0;                            // this file is stripe stripe_index (from 0)
  uint16_t stripe_count = 1;                            //   of stripe_count, 1..kMaxStripeCount
};

// The pages of a full or differential backup that stripe `index` of `count` holds (docs/FORMAT.md,
// "Bodies"): one contiguous run, the stripes in index order covering pages 1..page_count, their sizes
// differing by at most one page. A stripe of a database smaller than the stripe count may hold none.
// Requires index < count and count >= 1.
struct PageRun {
  uint64_t first = 1;  // the run's first page number
  uint64_t count = 0;  // pages in the run
};
PageRun stripe_pages(uint64_t page_count, uint16_t index, uint16_t count);

// An encrypted backup's data key (AES-256), wiped when destroyed (crypto/secret.h).
using DataKey = crypto::SecretArray<32>;

// 16 bytes from OpenSSL's CSPRNG, for BackupHeader::backup_id. Throws std::runtime_error if it has none.
std::array<uint8_t, 16> random_backup_id();

struct BackupTrailer {
  uint64_t chunk_count = 0;
  uint64_t body_bytes = 0;    // uncompressed body bytes
  uint64_t stored_bytes = 0;  // body bytes as stored (after compression)
  int64_t end_time_us = 0;    // backup finish, microseconds since the Unix epoch (UTC)
  // Of every byte of the file before the trailer: XXH3-128 then 16 zero bytes, or for an encrypted backup
  // the trailer's tag (version 1 files: SHA-256).
  std::array<uint8_t, 32> digest{};
};

struct WriterOptions {
  uint32_t chunk_size = 1 << 20;  // uncompressed bytes per chunk
  int zstd_level = 3;
  // Threads that compress and checksum chunks. 1: the caller's thread does, between writes. More: a pool of
  // that many, with up to two chunks per thread in flight (about 4 * threads * chunk_size bytes of memory);
  // chunks are written in order, and the file is byte for byte what one thread writes.
  unsigned threads = 1;
  // With a pool: chunks handed to it and not yet written, at most (the memory bound: each holds its body
  // bytes and its sealed bytes). 0: two per thread. At most kMaxChunksInFlight.
  unsigned max_in_flight = 0;
  // The data key of a header with kAes256Gcm, read by the constructor: fresh for every backup (every stripe
  // of one backup shares it; the stripe index is in each nonce, so no nonce repeats under it). Null
  // otherwise.
  const DataKey* data_key = nullptr;
};

// Unwraps an encrypted backup's data key for a reader (a restore: the KMS's Decrypt of wrapped_data_key).
class DataKeySource {
 public:
  virtual ~DataKeySource() = default;
  // Called with the checked header; what it throws, the reader's constructor throws.
  virtual DataKey unwrap(const BackupHeader& header) const = 0;
};

// The most chunks WriterOptions::max_in_flight and ReaderOptions::read_ahead may keep in flight.
inline constexpr unsigned kMaxChunksInFlight = 256;

class BackupWriter {
 public:
  // Writes the header at once. Throws std::invalid_argument for threads outside 1..64, max_in_flight over
  // kMaxChunksInFlight, and for what version 2
  // cannot hold: chunk_size outside 1..64 MiB, a zstd level zstd does not have, unknown enum values,
  // kAes256Gcm without a data key, a KMS key ARN or a wrapped key (or kNone with any of them), header
  // strings over 64 KiB in all, stripe_count outside 1..kMaxStripeCount,
  // stripe_index not below stripe_count, a differential with an all-zero base_backup_id, a full or log backup
  // with a nonzero one, and header fields outside their ranges: page_size not a power of two in
  // kMinPageSize..kMaxPageSize; a full or differential backup whose page_count is outside 1..kMaxPageCount or
  // whose first_lsn and last_lsn are not one LSN in 1..kMaxLsn; a log backup with a page_count or an LSN
  // range that is not 1 <= first_lsn <= last_lsn <= kMaxLsn; a negative begin time; an empty database name or
  // one over kMaxDatabaseNameBytes; an empty time zone.
  BackupWriter(ByteSink& sink, const BackupHeader& header, WriterOptions options = {});
  ~BackupWriter();
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;

  // Appends body bytes; full chunks are sealed and written as they fill.
  void write(std::span<const uint8_t> body);
  // Writes the last chunk and the trailer. No writes after this. A full backup whose body is not its
  // stripe's pages (stripe_pages) of page_size bytes each throws std::invalid_argument and writes nothing
  // more (readers reject it). After finish(), or after the sink threw, further calls throw std::logic_error.
  BackupTrailer finish(int64_t end_time_us);

  uint64_t bytes_written() const;  // bytes given to the sink so far
  // The most bytes of chunk buffers (the chunk being filled, chunks on the pool, the chunk being written)
  // held at once so far.
  uint64_t peak_buffer_bytes() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct ReaderOptions {
  // Threads that verify, decrypt and decompress an encrypted or compressed backup's chunks. 1: the caller's
  // thread does, in read(). More: a pool of that many, with up to two chunks per thread read ahead (about
  // 4 * threads * chunk_size bytes of memory); the body, and any error, come out in the order of the file as
  // with one thread. A backup neither encrypted nor compressed is always read on the caller's thread (its
  // checksum costs less than handing a chunk over).
  unsigned threads = 1;
  // With a pool: chunks read ahead and not yet handed out, at most (the memory bound). 0: two per thread.
  unsigned read_ahead = 0;
  // For an encrypted backup: asked once, by the constructor, for the data key. Null: an encrypted backup's
  // header can be read, but read() throws FormatError.
  const DataKeySource* data_key = nullptr;
};

class BackupReader {
 public:
  // Reads and checks the header; throws FormatError for anything that is not a valid version-1, 2 or 3
  // header, including every field outside the ranges BackupWriter keeps, and std::invalid_argument for
  // threads outside 1..64 or read_ahead over kMaxChunksInFlight. Then, for an encrypted backup, asks
  // options.data_key for its key.
  explicit BackupReader(ByteSource& source, ReaderOptions options = {});
  ~BackupReader();
  BackupReader(const BackupReader&) = delete;
  BackupReader& operator=(const BackupReader&) = delete;

  const BackupHeader& header() const;

  // Reads body bytes into out, checking each chunk (and opening it, for an encrypted backup: a chunk that
  // does not authenticate under the data key, at its place in this backup, is FormatError). Returns 0 at the
  // end of the body, and only after the trailer, its totals, the digest (and the trailer's tag) were checked
  // and nothing follows the trailer.
  // Throws FormatError on any corruption or truncation, and again on every call after that. An empty out
  // returns 0 without reading.
  size_t read(std::span<uint8_t> out);

  const BackupTrailer& trailer() const;  // valid after read() returned 0
  uint64_t bytes_read() const;           // bytes taken from the source so far

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bakrest::format
