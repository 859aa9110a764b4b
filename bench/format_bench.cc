// Backup format throughput: writes and reads a backup of page-like data held in memory, with and without
// zstd, and prints MB/s (10^6 bytes of body per second) and the compression ratio.
// Usage: format_bench [body MiB, default 256]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "format/backup_file.h"

namespace {

using bakrest::format::BackupHeader;
using bakrest::format::BackupReader;
using bakrest::format::BackupTrailer;
using bakrest::format::BackupType;
using bakrest::format::BackupWriter;
using bakrest::format::ByteSink;
using bakrest::format::ByteSource;
using bakrest::format::Compression;
using bakrest::format::DataKey;
using bakrest::format::DataKeySource;
using bakrest::format::Encryption;
using bakrest::format::ReaderOptions;
using bakrest::format::WriterOptions;

constexpr size_t kPageSize = 4096;

class MemorySink : public ByteSink {
 public:
  explicit MemorySink(std::vector<uint8_t>& out) : out_(out) {}
  void write(std::span<const uint8_t> bytes) override { out_.insert(out_.end(), bytes.begin(), bytes.end()); }

 private:
  std::vector<uint8_t>& out_;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(const std::vector<uint8_t>& in) : in_(in) {}
  size_t read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), in_.size() - pos_);
    if (n != 0) std::memcpy(out.data(), in_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const std::vector<uint8_t>& in_;
  size_t pos_ = 0;
};

// Pages shaped like SQLite table leaves: a small header, rows of ids, words and random keys, free space.
// Roughly how a real database compresses: text and small integers do, keys and hashes do not.
std::vector<uint8_t> make_pages(size_t count) {
  static const char* kWords[] = {"alpha", "bravo", "charlie", "delta", "echo",   "foxtrot", "golf",
                                 "hotel", "india", "juliet",  "kilo",  "lima",   "mike",    "november",
                                 "oscar", "papa",  "quebec",  "romeo", "sierra", "tango",   "uniform"};
  std::mt19937_64 rng(20261124);
  std::vector<uint8_t> pages(count * kPageSize, 0);
  for (size_t p = 0; p < count; ++p) {
    uint8_t* page = pages.data() + p * kPageSize;
    page[0] = 0x0d;
    size_t at = 8;
    size_t fill = kPageSize - 64 - rng() % 1024;  // leaves some free space, as real pages do
    uint64_t id = p * 40;
    while (at + 64 < fill) {
      std::string row = std::to_string(++id) + "|" + kWords[rng() % 21] + " " + kWords[rng() % 21] + "|" +
                        std::to_string(rng() % 100000) + "|";
      std::memcpy(page + at, row.data(), row.size());
      at += row.size();
      for (int i = 0; i < 2; ++i, at += 8) {
        uint64_t key = rng();
        std::memcpy(page + at, &key, 8);
      }
    }
  }
  return pages;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The data key of the encrypted modes (any fixed key: the cost does not depend on it).
class BenchKey : public DataKeySource {
 public:
  BenchKey() { bytes[0] = 1, bytes[1] = 2, bytes[2] = 3; }
  DataKey unwrap(const BackupHeader&) const override { return bytes; }
  DataKey bytes;
};

void run(const char* name, Compression compression, int level, const std::vector<uint8_t>& pool,
         size_t body_bytes, bool encrypted = false) {
  BackupHeader header;
  header.database_name = "bench";
  header.type = BackupType::kFull;
  header.page_size = kPageSize;
  header.page_count = body_bytes / kPageSize;
  header.compression = compression;
  header.first_lsn = header.last_lsn = 1;  // a full backup's image is at one LSN
  const BenchKey key;
  if (encrypted) {
    header.encryption = Encryption::kAes256Gcm;
    header.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/bench";
    header.wrapped_data_key = "wrapped";
  }

  std::vector<uint8_t> file;
  file.reserve(body_bytes + body_bytes / 64 + (1 << 20));
  MemorySink sink(file);
  auto start = std::chrono::steady_clock::now();
  BackupWriter writer(
      sink, header,
      WriterOptions{
          .chunk_size = 1 << 20, .zstd_level = level, .data_key = encrypted ? &key.bytes : nullptr});
  for (size_t at = 0; at < body_bytes; at += kPageSize) {
    writer.write(std::span(pool).subspan(at % pool.size(), kPageSize));  // one page at a time, as backups do
  }
  BackupTrailer trailer = writer.finish(0);
  double write_seconds = seconds_since(start);

  MemorySource source(file);
  std::vector<uint8_t> buffer(1 << 20);
  size_t got = 0;
  bool same = true;
  start = std::chrono::steady_clock::now();
  BackupReader reader(source, ReaderOptions{.data_key = &key});
  while (size_t n = reader.read(buffer)) {
    same = same && std::memcmp(buffer.data(), pool.data() + got % pool.size(), n) == 0;
    got += n;
  }
  double read_seconds = seconds_since(start);
  if (!same || got != body_bytes) {
    std::fprintf(stderr, "%s: body read back differs from body written\n", name);
    std::exit(1);
  }
  std::printf("%-14s %10.0f %10.0f %8.2fx %12llu\n", name, body_bytes / write_seconds / 1e6,
              body_bytes / read_seconds / 1e6, static_cast<double>(trailer.body_bytes) / trailer.stored_bytes,
              static_cast<unsigned long long>(file.size()));
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 256;
  size_t body_bytes = mib << 20;
  // A 16 MiB pool, larger than any zstd window used here, so repeating it does not flatter the ratio.
  std::vector<uint8_t> pool = make_pages((16 << 20) / kPageSize);
  std::printf("body %zu MiB of 4 KiB pages, 1 MiB chunks; MB/s = 10^6 body bytes per second\n", mib);
  std::printf("%-14s %10s %10s %9s %12s\n", "mode", "write MB/s", "read MB/s", "ratio", "file bytes");
  run("none", Compression::kNone, 0, pool, body_bytes);
  run("zstd level 1", Compression::kZstd, 1, pool, body_bytes);
  run("zstd level 3", Compression::kZstd, 3, pool, body_bytes);
  run("none, AES-GCM", Compression::kNone, 0, pool, body_bytes, true);
  run("zstd 3, AES-GCM", Compression::kZstd, 3, pool, body_bytes, true);
  return 0;
}
