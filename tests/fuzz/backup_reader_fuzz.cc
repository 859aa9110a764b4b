// The backup reader (format/backup_file.h): BackupReader on a whole file, header and every chunk and the
// trailer, for every backup type, compressed or not, encrypted or not (with fuzz_key.h's data key), and a log
// backup's body through the log record decoder.
// Each input is read as it is and resealed (reseal.h).
// A file the reader accepts must be one the writer could have written: writing its header and body again
// gives a file that reads back the same.
#include <optional>
#include <stdexcept>

#include "engine/log_record.h"
#include "format/backup_file.h"
#include "fuzz_key.h"
#include "fuzz_support.h"
#include "reseal.h"

using namespace bakrest;

namespace {

class VectorSink : public format::ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
  std::vector<uint8_t> data;
};

struct Backup {
  format::BackupHeader header;
  std::vector<uint8_t> body;
  format::BackupTrailer trailer;
};

bool same_header(const format::BackupHeader& a, const format::BackupHeader& b) {
  return a.database_name == b.database_name && a.database_guid == b.database_guid && a.type == b.type &&
         a.first_lsn == b.first_lsn && a.last_lsn == b.last_lsn && a.begin_time_us == b.begin_time_us &&
         a.time_zone == b.time_zone && a.page_size == b.page_size && a.page_count == b.page_count &&
         a.compression == b.compression && a.encryption == b.encryption && a.kms_key_arn == b.kms_key_arn &&
         a.wrapped_data_key == b.wrapped_data_key && a.backup_id == b.backup_id &&
         a.fork_guid == b.fork_guid && a.base_backup_id == b.base_backup_id &&
         a.recovery_model == b.recovery_model && a.stripe_index == b.stripe_index &&
         a.stripe_count == b.stripe_count;
}

// Reads a whole backup; nullopt if the reader finds it damaged. The reader must keep failing once it failed.
std::optional<Backup> read_backup(std::span<const uint8_t> bytes, size_t source_chunk, size_t read_size) {
  fuzz::MemorySource source(bytes, source_chunk);
  Backup backup;
  std::optional<format::BackupReader> reader;
  const fuzz::FixedDataKey key;
  try {
    reader.emplace(source, format::ReaderOptions{.data_key = &key});
  } catch (const format::FormatError&) {
    return std::nullopt;
  }
  backup.header = reader->header();
  std::vector<uint8_t> buffer(read_size);
  try {
    while (size_t n = reader->read(buffer)) {
      fuzz::check(n <= buffer.size(), "read() fills at most the buffer");
      backup.body.insert(backup.body.end(), buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(n));
    }
  } catch (const format::FormatError&) {
    try {
      reader->read(buffer);
      fuzz::check(false, "a reader that failed fails again");
    } catch (const format::FormatError&) {
    }
    return std::nullopt;
  }
  fuzz::check(reader->read(buffer) == 0, "the end of the body stays the end");
  fuzz::check(reader->bytes_read() == bytes.size(), "a whole backup is read to its last byte");
  backup.trailer = reader->trailer();
  fuzz::check(backup.trailer.body_bytes == backup.body.size(), "the trailer counts the body read");
  return backup;
}

// A log backup's body is the log records of its LSN range, which restore decodes with the log's own decoder.
void decode_log_body(const Backup& backup) {
  size_t pos = 0;
  engine::LogInput in = [&](std::span<uint8_t> out) {
    size_t n = std::min(out.size(), backup.body.size() - pos);
    std::copy_n(backup.body.begin() + static_cast<ptrdiff_t>(pos), n, out.begin());
    pos += n;
    return n;
  };
  try {
    engine::LogRecordHeader record;
    while (engine::decode_log_record_header(in, record)) {
      engine::decode_log_record_pages(in, record, [](uint32_t, std::span<const uint8_t>) {});
    }
  } catch (const engine::LogFormatError&) {
  }
}

void check_rewrite(const Backup& backup) {
  VectorSink sink;
  try {
    const bool encrypted = backup.header.encryption == format::Encryption::kAes256Gcm;
    format::BackupWriter writer(sink, backup.header,
                                format::WriterOptions{.data_key = encrypted ? &fuzz::kDataKey : nullptr});
    writer.write(backup.body);
    writer.finish(backup.trailer.end_time_us);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "the writer refuses what the reader accepted: %s\n", e.what());
    fuzz::check(false, "what the reader accepts the writer can write");
  }
  auto again = read_backup(sink.data, sink.data.size(), 1 << 16);
  fuzz::check(again.has_value(), "a rewritten backup reads back");
  fuzz::check(same_header(again->header, backup.header), "a rewritten backup keeps its header");
  fuzz::check(again->body == backup.body, "a rewritten backup keeps its body");
  if (backup.header.type == format::BackupType::kLog) decode_log_body(backup);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> raw(data, data + size);
  // Reads of odd sizes, so chunk boundaries and read boundaries do not line up.
  if (auto backup = read_backup(raw, 4093, 1000)) check_rewrite(*backup);
  std::vector<uint8_t> resealed = fuzz::reseal_backup(raw);
  if (resealed != raw) {
    if (auto backup = read_backup(resealed, 777, 4099)) check_rewrite(*backup);
  }
  return 0;
}
