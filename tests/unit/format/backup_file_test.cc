#include "format/backup_file.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "forge_backup.h"
#include "format/backup_layout.h"

namespace bakrest::format {
namespace {

using Bytes = std::vector<uint8_t>;
namespace L = layout;
using forge::chunk_end;
using forge::Layout;
using forge::parse_layout;
using forge::reseal;
using forge::sha256;

class VectorSink : public ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
  Bytes data;
};

// Hands out at most max_read bytes per call, so readers are exercised on short reads.
class VectorSource : public ByteSource {
 public:
  explicit VectorSource(const Bytes& data, size_t max_read = SIZE_MAX) : data_(data), max_read_(max_read) {}
  size_t read(std::span<uint8_t> out) override {
    size_t n = std::min({out.size(), data_.size() - pos_, max_read_});
    if (n == 0) return 0;  // data() may be null for an empty vector
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  const Bytes& data_;
  size_t pos_ = 0;
  size_t max_read_;
};

class ThrowingSink : public ByteSink {
 public:
  explicit ThrowingSink(size_t budget) : budget_(budget) {}
  void write(std::span<const uint8_t> bytes) override {
    if (bytes.size() > budget_) throw std::runtime_error("sink full");
    budget_ -= bytes.size();
  }

 private:
  size_t budget_;
};

enum class Data { kCompressible, kRandom };

Bytes make_body(size_t size, Data kind, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  Bytes body(size);
  for (size_t i = 0; i < size; ++i) {
    body[i] = kind == Data::kRandom ? static_cast<uint8_t>(rng())
                                    : static_cast<uint8_t>("page row "[i % 9] + (i / 4096) % 3);
  }
  return body;
}

std::array<uint8_t, 16> make_id(uint8_t first) {
  std::array<uint8_t, 16> id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(first + i);
  return id;
}

BackupHeader make_header(Compression compression = Compression::kNone) {
  BackupHeader header;
  header.database_name = "sales";
  header.type = BackupType::kDifferential;
  header.compression = compression;
  header.page_size = 4096;
  header.page_count = 100;
  header.first_lsn = header.last_lsn = 5;
  header.backup_id = make_id(0x10);
  header.fork_guid = make_id(0x40);
  header.base_backup_id = make_id(0x80);
  return header;
}

Bytes write_backup(const BackupHeader& header, const Bytes& body, uint32_t chunk_size = 4096,
                   int64_t end_time_us = 42) {
  VectorSink sink;
  BackupWriter writer(sink, header, {.chunk_size = chunk_size, .zstd_level = 3});
  writer.write(body);
  writer.finish(end_time_us);
  EXPECT_EQ(writer.bytes_written(), sink.data.size());
  return sink.data;
}

struct ReadResult {
  BackupHeader header;
  BackupTrailer trailer;
  Bytes body;
  uint64_t bytes_read = 0;
};

ReadResult read_backup(const Bytes& file, size_t out_size = 65536, size_t max_read = SIZE_MAX,
                       unsigned threads = 1) {
  VectorSource source(file, max_read);
  BackupReader reader(source, {.threads = threads});
  ReadResult result;
  result.header = reader.header();
  Bytes buffer(out_size);
  while (size_t n = reader.read(buffer))
    result.body.insert(result.body.end(), buffer.begin(), buffer.begin() + n);
  result.trailer = reader.trailer();
  result.bytes_read = reader.bytes_read();
  return result;
}

// The FormatError message reading file produces; fails the test if reading succeeds.
std::string read_error(const Bytes& file) {
  try {
    read_backup(file);
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "reading did not throw FormatError";
  return "";
}

#define EXPECT_READ_ERROR(file, text) \
  EXPECT_NE(read_error(file).find(text), std::string::npos) << read_error(file)

// --- round trips -----------------------------------------------------------------------------------------

class RoundTrip : public testing::TestWithParam<std::tuple<size_t, Compression, Data>> {};

TEST_P(RoundTrip, BodyComesBackByteForByte) {
  auto [size, compression, kind] = GetParam();
  Bytes body = make_body(size, kind);
  Bytes file = write_backup(make_header(compression), body);
  for (auto [out_size, max_read] : {std::pair<size_t, size_t>{65536, SIZE_MAX}, {7, 13}, {1, 1}}) {
    if (size > 50000 && max_read < 100) continue;  // byte-at-a-time reads of big bodies add nothing
    ReadResult result = read_backup(file, out_size, max_read);
    EXPECT_EQ(result.body, body);
    EXPECT_EQ(result.bytes_read, file.size());
    EXPECT_EQ(result.trailer.body_bytes, size);
    EXPECT_EQ(result.trailer.chunk_count, (size + 4095) / 4096);
    EXPECT_EQ(result.trailer.end_time_us, 42);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTrip,
                         testing::Combine(testing::Values(0, 1, 4095, 4096, 4097, 8192, 40960, 41083, 100003),
                                          testing::Values(Compression::kNone, Compression::kZstd),
                                          testing::Values(Data::kCompressible, Data::kRandom)));

TEST(BackupFile, DefaultChunkSizeManyChunksInOddWrites) {
  Bytes body = make_body(5 * (1 << 20) + 12345, Data::kCompressible);
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    VectorSink sink;
    BackupWriter writer(sink, make_header(compression));
    std::mt19937 rng(7);
    for (size_t at = 0; at < body.size();) {
      size_t n = std::min<size_t>(body.size() - at, rng() % 3000000);
      writer.write(std::span(body).subspan(at, n));
      at += n;
    }
    BackupTrailer written = writer.finish(99);
    EXPECT_EQ(written.chunk_count, 6u);
    ReadResult result = read_backup(sink.data, 100000);
    EXPECT_EQ(result.body, body);
    EXPECT_EQ(result.trailer.digest, written.digest);
    EXPECT_EQ(result.trailer.stored_bytes, written.stored_bytes);
  }
}

void expect_same_header(const BackupHeader& got, const BackupHeader& want) {
  EXPECT_EQ(got.database_name, want.database_name);
  EXPECT_EQ(got.database_guid, want.database_guid);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.first_lsn, want.first_lsn);
  EXPECT_EQ(got.last_lsn, want.last_lsn);
  EXPECT_EQ(got.begin_time_us, want.begin_time_us);
  EXPECT_EQ(got.time_zone, want.time_zone);
  EXPECT_EQ(got.page_size, want.page_size);
  EXPECT_EQ(got.page_count, want.page_count);
  EXPECT_EQ(got.compression, want.compression);
  EXPECT_EQ(got.encryption, want.encryption);
  EXPECT_EQ(got.kms_key_arn, want.kms_key_arn);
  EXPECT_EQ(got.wrapped_data_key, want.wrapped_data_key);
  EXPECT_EQ(got.backup_id, want.backup_id);
  EXPECT_EQ(got.fork_guid, want.fork_guid);
  EXPECT_EQ(got.base_backup_id, want.base_backup_id);
  EXPECT_EQ(got.recovery_model, want.recovery_model);
  EXPECT_EQ(got.stripe_index, want.stripe_index);
  EXPECT_EQ(got.stripe_count, want.stripe_count);
}

TEST(BackupFile, EveryHeaderFieldRoundTrips) {
  BackupHeader header;
  header.database_name = "Ventes_été";
  for (size_t i = 0; i < header.database_guid.size(); ++i)
    header.database_guid[i] = static_cast<uint8_t>(i * 17 + 3);
  header.type = BackupType::kLog;
  header.first_lsn = 0x0102030405060708;
  header.last_lsn = kMaxLsn;
  header.begin_time_us = 0x0102030405060708;
  header.time_zone = "Central European Standard Time";
  header.page_size = 65536;
  header.page_count = 0;
  header.compression = Compression::kZstd;
  header.backup_id = make_id(0xF5);  // wraps past 0xff
  header.fork_guid = make_id(0x21);
  header.recovery_model = RecoveryModel::kBulkLogged;
  header.stripe_index = 9;
  header.stripe_count = kMaxStripeCount;

  Bytes file = write_backup(header, make_body(10, Data::kRandom), 4096, INT64_MIN);
  ReadResult result = read_backup(file);
  expect_same_header(result.header, header);
  EXPECT_EQ(result.trailer.end_time_us, INT64_MIN);

  // A differential carries its base; the other recovery models come back too.
  header.type = BackupType::kDifferential;
  header.base_backup_id = make_id(0x99);
  header.first_lsn = header.last_lsn = kMaxLsn;
  header.page_count = kMaxPageCount;
  for (RecoveryModel model : {RecoveryModel::kFull, RecoveryModel::kSimple}) {
    header.recovery_model = model;
    header.stripe_index = 2;
    header.stripe_count = 3;
    expect_same_header(read_backup(write_backup(header, make_body(10, Data::kRandom))).header, header);
  }
}

TEST(BackupFile, DefaultIdentityFieldsRoundTrip) {
  BackupHeader header;
  header.database_name = "d";
  header.page_size = 4096;
  header.type = BackupType::kLog;
  header.first_lsn = header.last_lsn = 1;
  BackupHeader got = read_backup(write_backup(header, {})).header;
  EXPECT_EQ(got.backup_id, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(got.fork_guid, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(got.base_backup_id, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(got.recovery_model, RecoveryModel::kFull);
  EXPECT_EQ(got.stripe_index, 0);
  EXPECT_EQ(got.stripe_count, 1);
}

// The identity fields sit where docs/FORMAT.md says, so other readers can find them.
TEST(BackupFile, IdentityFieldsAreAtTheDocumentedOffsets) {
  BackupHeader header = make_header();
  header.recovery_model = RecoveryModel::kSimple;
  header.stripe_index = 4;
  header.stripe_count = 7;
  Bytes file = write_backup(header, make_body(10, Data::kRandom));
  auto fields = std::span<const uint8_t>(file).subspan(L::kHeaderPrefixSize);
  auto at = [&](size_t offset, size_t size) {
    return Bytes(fields.begin() + offset, fields.begin() + offset + size);
  };
  EXPECT_EQ(at(L::kFieldBackupId, 16), Bytes(header.backup_id.begin(), header.backup_id.end()));
  EXPECT_EQ(L::load_le<uint16_t>(fields.subspan(L::kFieldStripeIndex)), 4);
  EXPECT_EQ(L::load_le<uint16_t>(fields.subspan(L::kFieldStripeCount)), 7);
  EXPECT_EQ(at(L::kFieldForkGuid, 16), Bytes(header.fork_guid.begin(), header.fork_guid.end()));
  EXPECT_EQ(at(L::kFieldBaseBackupId, 16), Bytes(header.base_backup_id.begin(), header.base_backup_id.end()));
  EXPECT_EQ(fields[L::kFieldRecoveryModel], 3);
  // The database name's length follows the fixed fields.
  EXPECT_EQ(L::load_le<uint32_t>(fields.subspan(L::kHeaderFixedFieldsSize)), 5u);
}

TEST(BackupFile, StripesOfOneBackupShareItsId) {
  BackupHeader header = make_header();
  header.backup_id = random_backup_id();
  header.stripe_count = 3;
  for (uint16_t i = 0; i < 3; ++i) {
    header.stripe_index = i;
    BackupHeader got = read_backup(write_backup(header, make_body(100, Data::kRandom, i))).header;
    EXPECT_EQ(got.backup_id, header.backup_id);
    EXPECT_EQ(got.stripe_index, i);
    EXPECT_EQ(got.stripe_count, 3);
  }
}

TEST(BackupFile, RandomBackupIdsDiffer) {
  auto a = random_backup_id();
  auto b = random_backup_id();
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<uint8_t, 16>{}));
}

TEST(BackupFile, FileStartsWithMagicAndVersionAndEndsWithEndMagic) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  EXPECT_TRUE(std::equal(L::kMagic.begin(), L::kMagic.end(), file.begin()));
  EXPECT_EQ(file[8], 3);
  EXPECT_EQ(file[9], 0);
  EXPECT_TRUE(std::equal(L::kEndMagic.begin(), L::kEndMagic.end(), file.end() - 8));
}

// Version 2's digest: XXH3-128 of everything before the trailer, canonical bytes then 16 zero bytes.
TEST(BackupFile, TrailerDigestIsXxh3128OfEverythingBeforeTheTrailer) {
  Bytes body = make_body(20000, Data::kCompressible);
  VectorSink sink;
  BackupWriter writer(sink, make_header(Compression::kZstd), {.chunk_size = 4096});
  writer.write(body);
  BackupTrailer trailer = writer.finish(1);
  ASSERT_EQ(sink.data.size(), writer.bytes_written());
  XXH128_canonical_t expected;
  XXH128_canonicalFromHash(&expected, XXH3_128bits(sink.data.data(), sink.data.size() - L::kTrailerSize));
  std::array<uint8_t, 32> want{};
  std::copy(std::begin(expected.digest), std::end(expected.digest), want.begin());
  EXPECT_EQ(trailer.digest, want);
  EXPECT_EQ(trailer.chunk_count, 5u);
  EXPECT_EQ(trailer.body_bytes, body.size());
  EXPECT_LT(trailer.stored_bytes, body.size() / 4);
}

// Backups written before version 2 (SHA-256 digest) still read, and their digest is still checked.
TEST(BackupFile, VersionOneBackupsStillRead) {
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    Bytes body = make_body(20000, Data::kCompressible);
    Bytes file = write_backup(make_header(compression), body);
    L::store_le<uint16_t>(std::span(file).subspan(L::kHeaderVersionOffset), 1);
    forge::reseal(file);
    Layout layout = parse_layout(file);
    EXPECT_TRUE(std::equal(file.begin() + layout.trailer + L::kTrailerDigestOffset,
                           file.begin() + layout.trailer + L::kTrailerDigestOffset + 32,
                           sha256(std::span(file).first(layout.trailer)).begin()));
    EXPECT_EQ(read_backup(file).body, body);
    EXPECT_EQ(read_backup(file, 65536, SIZE_MAX, 2).body, body);
    file[layout.trailer + L::kTrailerDigestOffset] ^= 1;
    forge::reseal(file, false);
    try {
      read_backup(file);
      ADD_FAILURE() << "a wrong version-1 digest was accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("the SHA-256 of the header and chunks differs"), std::string::npos)
          << e.what();
    }
  }
}

TEST(BackupFile, IncompressibleChunksAreStoredRaw) {
  Bytes body = make_body(3 * 4096, Data::kRandom);
  Bytes file = write_backup(make_header(Compression::kZstd), body);
  ReadResult result = read_backup(file);
  EXPECT_EQ(result.trailer.stored_bytes, body.size());
  for (size_t begin : parse_layout(file).chunk_begins) {
    EXPECT_EQ(L::load_le<uint32_t>(std::span(file).subspan(begin + L::kChunkFlagsOffset)), 0u);
  }
}

TEST(BackupFile, FullBackupBodyMatchesPages) {
  BackupHeader header = make_header(Compression::kZstd);
  header.type = BackupType::kFull;
  header.base_backup_id = {};
  header.page_count = 3;
  Bytes body = make_body(3 * 4096, Data::kCompressible);
  EXPECT_EQ(read_backup(write_backup(header, body)).body, body);

  VectorSink sink;
  BackupWriter writer(sink, header, {.chunk_size = 4096});
  writer.write(std::span(body).first(5000));
  size_t before = sink.data.size();
  EXPECT_THROW(writer.finish(1), std::invalid_argument);
  EXPECT_EQ(sink.data.size(), before) << "nothing more is written for a full backup of the wrong size";
}

// Stripes split a database into contiguous runs that cover every page once, in order, of sizes that differ
// by at most one page (a stripe of a tiny database may hold none).
TEST(BackupFile, StripePagesCoverTheDatabaseOnce) {
  for (uint64_t pages : {uint64_t{1}, uint64_t{2}, uint64_t{9}, uint64_t{10}, uint64_t{11}, uint64_t{1000003},
                         kMaxPageCount}) {
    for (uint16_t count = 1; count <= kMaxStripeCount; ++count) {
      uint64_t next = 1, smallest = UINT64_MAX, largest = 0;
      for (uint16_t i = 0; i < count; ++i) {
        PageRun run = stripe_pages(pages, i, count);
        EXPECT_EQ(run.first, next) << pages << " pages, stripe " << i << " of " << count;
        next += run.count;
        smallest = std::min(smallest, run.count);
        largest = std::max(largest, run.count);
      }
      EXPECT_EQ(next, pages + 1) << pages << " pages in " << count << " stripes";
      EXPECT_LE(largest - smallest, 1u);
    }
  }
  EXPECT_THROW(stripe_pages(10, 3, 3), std::invalid_argument);
  EXPECT_THROW(stripe_pages(10, 0, 0), std::invalid_argument);
}

// A stripe of a full backup holds its run of pages: the writer and the reader hold it to that size.
TEST(BackupFile, AFullBackupStripeHoldsItsShareOfThePages) {
  BackupHeader header = make_header(Compression::kZstd);
  header.type = BackupType::kFull;
  header.base_backup_id = {};
  header.page_count = 10;
  header.stripe_count = 3;
  header.stripe_index = 1;  // pages 4..6
  ASSERT_EQ(stripe_pages(10, 1, 3).count, 3u);
  Bytes body = make_body(3 * 4096, Data::kCompressible);
  EXPECT_EQ(read_backup(write_backup(header, body)).body, body);

  VectorSink sink;
  BackupWriter writer(sink, header, {.chunk_size = 4096});
  writer.write(make_body(10 * 4096, Data::kCompressible));
  try {
    writer.finish(1);
    ADD_FAILURE() << "a stripe with all the pages was written";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3 pages of 4096 bytes (stripe 2 of 3)"), std::string::npos)
        << e.what();
  }
}

// The chunks a pool keeps in flight are bounded by max_in_flight, and the writer reports the buffer memory
// that took.
TEST(BackupFile, ChunksInFlightBoundTheWritersBuffers) {
  Bytes body = make_body(64 * 4096, Data::kCompressible);
  auto peak = [&](unsigned threads, unsigned in_flight) {
    VectorSink sink;
    BackupWriter writer(sink, make_header(Compression::kZstd),
                        {.chunk_size = 4096, .threads = threads, .max_in_flight = in_flight});
    writer.write(body);
    writer.finish(1);
    EXPECT_EQ(read_backup(sink.data).body, body);
    return writer.peak_buffer_bytes();
  };
  const uint64_t chunk = 4096 + L::kChunkOverhead;
  EXPECT_EQ(peak(1, 0), 2 * chunk);
  EXPECT_LE(peak(2, 1), (2 * 2 + 1) * chunk);
  EXPECT_LE(peak(2, 8), (2 * 9 + 1) * chunk);
  VectorSink sink;
  EXPECT_THROW(BackupWriter(sink, make_header(), {.max_in_flight = kMaxChunksInFlight + 1}),
               std::invalid_argument);
}

// --- reader behaviour ------------------------------------------------------------------------------------

TEST(BackupFile, ReadAfterEndKeepsReturningZero) {
  Bytes file = write_backup(make_header(), make_body(10, Data::kRandom));
  VectorSource source(file);
  BackupReader reader(source);
  Bytes buffer(100);
  EXPECT_EQ(reader.read(buffer), 10u);
  EXPECT_EQ(reader.read(buffer), 0u);
  EXPECT_EQ(reader.read(buffer), 0u);
  EXPECT_EQ(reader.trailer().body_bytes, 10u);
}

TEST(BackupFile, TrailerBeforeEndIsAMistake) {
  Bytes file = write_backup(make_header(), make_body(10000, Data::kRandom));
  VectorSource source(file);
  BackupReader reader(source);
  EXPECT_THROW(reader.trailer(), std::logic_error);
  Bytes buffer(100);
  reader.read(buffer);
  EXPECT_THROW(reader.trailer(), std::logic_error);
}

TEST(BackupFile, ReaderKeepsFailingAfterAnError) {
  Bytes file = write_backup(make_header(), make_body(10000, Data::kRandom));
  file[parse_layout(file).chunk_begins[1] + 100] ^= 1;
  VectorSource source(file);
  BackupReader reader(source);
  Bytes buffer(10000);
  EXPECT_EQ(reader.read(buffer), 4096u);
  EXPECT_THROW(reader.read(buffer), FormatError);
  try {
    reader.read(buffer);
    FAIL() << "read after a failure returned";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "backup is corrupt: chunk 1 checksum mismatch");
  }
}

// --- writer behaviour ------------------------------------------------------------------------------------

TEST(BackupFile, WriterRejectsWhatVersionOneCannotHold) {
  VectorSink sink;
  BackupHeader header = make_header();
  EXPECT_THROW(BackupWriter(sink, header, {.chunk_size = 0}), std::invalid_argument);
  EXPECT_THROW(BackupWriter(sink, header, {.chunk_size = L::kMaxChunkSize + 1}), std::invalid_argument);
  header.compression = Compression::kZstd;
  EXPECT_THROW(BackupWriter(sink, header, {.zstd_level = 1000}), std::invalid_argument);
  header.type = static_cast<BackupType>(9);
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.encryption = static_cast<Encryption>(1);
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.kms_key_arn.assign(L::kHeaderMaxFieldsSize, 'x');
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.recovery_model = static_cast<RecoveryModel>(0);
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header.recovery_model = static_cast<RecoveryModel>(4);
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.stripe_count = 0;
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header.stripe_count = kMaxStripeCount + 1;
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header.stripe_count = 4;
  header.stripe_index = 4;
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.base_backup_id = {};  // a differential without its base
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header = make_header();
  header.type = BackupType::kFull;  // a full backup with a base
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  header.type = BackupType::kLog;
  EXPECT_THROW(BackupWriter(sink, header), std::invalid_argument);
  EXPECT_TRUE(sink.data.empty());
}

TEST(BackupFile, WriterRefusesUseAfterFinish) {
  VectorSink sink;
  BackupWriter writer(sink, make_header());
  writer.finish(1);
  Bytes body(1);
  EXPECT_THROW(writer.write(body), std::logic_error);
  EXPECT_THROW(writer.finish(1), std::logic_error);
}

TEST(BackupFile, WriterStopsAfterTheSinkThrows) {
  ThrowingSink sink(200);
  BackupWriter writer(sink, make_header(), {.chunk_size = 4096});
  Bytes body = make_body(4096, Data::kRandom);
  EXPECT_THROW(writer.write(body), std::runtime_error);
  EXPECT_THROW(writer.write(body), std::logic_error);
  EXPECT_THROW(writer.finish(1), std::logic_error);
}

// --- chunks sealed on a pool of threads --------------------------------------------------------------------

// A body of compressible and incompressible chunks and a short last one, written in uneven pieces.
Bytes write_with_threads(const BackupHeader& header, const Bytes& body, unsigned threads) {
  VectorSink sink;
  BackupWriter writer(sink, header, {.chunk_size = 4096, .zstd_level = 3, .threads = threads});
  for (size_t at = 0, step = 1; at < body.size(); at += step, step = step * 3 % 10007 + 1)
    writer.write(std::span(body).subspan(at, std::min(step, body.size() - at)));
  writer.finish(42);
  EXPECT_EQ(writer.bytes_written(), sink.data.size());
  return sink.data;
}

TEST(BackupFile, ThreadsWriteTheSameFileAsOne) {
  Bytes body = make_body(200 * 1024, Data::kCompressible);
  Bytes random = make_body(100 * 1024 + 123, Data::kRandom, 7);
  body.insert(body.begin() + 50 * 1024, random.begin(), random.end());
  BackupHeader header = make_header(Compression::kZstd);
  header.page_count = 0;
  header.type = BackupType::kLog;
  header.base_backup_id = {};
  header.first_lsn = 1;
  header.last_lsn = 9;
  for (Compression compression : {Compression::kZstd, Compression::kNone}) {
    header.compression = compression;
    Bytes one = write_with_threads(header, body, 1);
    for (unsigned threads : {2u, 3u, 8u}) {
      Bytes many = write_with_threads(header, body, threads);
      EXPECT_EQ(many, one) << threads << " threads, compression " << static_cast<int>(compression);
    }
    EXPECT_EQ(read_backup(one).body, body);
  }
}

TEST(BackupFile, ThreadsStopAfterTheSinkThrows) {
  for (size_t budget : {size_t{200}, size_t{9000}, size_t{60000}}) {
    ThrowingSink sink(budget);
    BackupWriter writer(sink, make_header(Compression::kZstd), {.chunk_size = 4096, .threads = 3});
    Bytes body = make_body(64 * 4096, Data::kRandom);
    // The sink's failure surfaces from the write or the finish that emits the chunk it refuses.
    EXPECT_THROW(
        {
          writer.write(body);
          writer.finish(1);
        },
        std::runtime_error);
    EXPECT_THROW(writer.write(body), std::logic_error);
    EXPECT_THROW(writer.finish(1), std::logic_error);
  }  // and the writer's threads end with it
}

// What a reader with `threads` threads makes of file: the body bytes it handed out before it stopped, and the
// FormatError that stopped it ("" if none).
std::pair<Bytes, std::string> read_what_it_can(const Bytes& file, unsigned threads) {
  Bytes body;
  try {
    VectorSource source(file, 1000);
    BackupReader reader(source, {.threads = threads});
    Bytes buffer(300);
    while (size_t n = reader.read(buffer)) body.insert(body.end(), buffer.begin(), buffer.begin() + n);
  } catch (const FormatError& e) {
    return {body, e.what()};
  }
  return {body, ""};
}

TEST(BackupFile, ThreadsReadDamagedBackupsAsOneThreadDoes) {
  // A compressed backup whose chunks are compressed and raw, in chunks of 128 bytes.
  Bytes body = make_body(1500, Data::kCompressible);
  Bytes random = make_body(700, Data::kRandom, 3);
  body.insert(body.begin() + 300, random.begin(), random.end());
  Bytes file = write_backup(make_header(Compression::kZstd), body, 128);
  EXPECT_EQ(read_what_it_can(file, 3), std::make_pair(body, std::string()));
  EXPECT_EQ(read_backup(file, 65536, SIZE_MAX, 3).body, body);
  // Every bit flipped, and the file cut at every length: the same bytes handed out, the same error.
  for (size_t bit = 0; bit < file.size() * 8; bit += 3) {
    Bytes damaged = file;
    damaged[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    auto one = read_what_it_can(damaged, 1);
    EXPECT_FALSE(one.second.empty()) << "bit " << bit;
    EXPECT_EQ(read_what_it_can(damaged, 3), one) << "bit " << bit;
  }
  for (size_t size = 0; size < file.size(); ++size) {
    Bytes cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(size));
    EXPECT_EQ(read_what_it_can(cut, 2), read_what_it_can(cut, 1)) << "size " << size;
  }
}

TEST(BackupFile, WriterThreadsAreBounded) {
  VectorSink sink;
  EXPECT_THROW(BackupWriter(sink, make_header(), {.threads = 0}), std::invalid_argument);
  EXPECT_THROW(BackupWriter(sink, make_header(), {.threads = 65}), std::invalid_argument);
  EXPECT_TRUE(sink.data.empty());
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  VectorSource source(file);
  EXPECT_THROW(BackupReader(source, {.threads = 0}), std::invalid_argument);
}

// --- not a backup, other versions ------------------------------------------------------------------------

TEST(BackupFile, BadMagicIsNotABackup) {
  Bytes file = write_backup(make_header(), make_body(10, Data::kRandom));
  file[0] = 'X';
  EXPECT_READ_ERROR(file, "not a bakrest backup");
  Bytes text(1000, 'a');
  EXPECT_READ_ERROR(text, "not a bakrest backup");
  Bytes tiny = {'P', 'K'};
  EXPECT_READ_ERROR(tiny, "not a bakrest backup");
}

TEST(BackupFile, EmptySourceIsTruncated) {
  EXPECT_READ_ERROR(Bytes{}, "backup is truncated: the source is empty");
}

TEST(BackupFile, UnknownVersionIsUnsupported) {
  Bytes file = write_backup(make_header(), make_body(10, Data::kRandom));
  file[L::kHeaderVersionOffset] = 7;
  EXPECT_EQ(read_error(file), "unsupported backup format version 7");
  file[L::kHeaderVersionOffset] = 0;
  EXPECT_EQ(read_error(file), "unsupported backup format version 0");
}

// --- corruption ------------------------------------------------------------------------------------------

TEST(BackupFile, FlippedBitInHeader) {
  Bytes file = write_backup(make_header(), make_body(10, Data::kRandom));
  size_t header_end = parse_layout(file).header_end;
  for (size_t bit = 0; bit < header_end * 8; ++bit) {
    Bytes damaged = file;
    damaged[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
    EXPECT_FALSE(read_error(damaged).empty()) << "bit " << bit;
  }
  Bytes damaged = file;
  damaged[L::kHeaderPrefixSize + 20] ^= 4;  // in the GUID
  EXPECT_EQ(read_error(damaged), "backup is corrupt: header checksum mismatch");
}

TEST(BackupFile, FlippedBitInEachRegionOfAChunk) {
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    Bytes file = write_backup(make_header(compression), make_body(3 * 4096, Data::kCompressible));
    size_t chunk = parse_layout(file).chunk_begins[1];
    size_t end = chunk_end(file, chunk);
    struct Case {
      size_t offset;
      const char* message;
    };
    for (Case c :
         {Case{chunk, "expected chunk 1 or the trailer"},
          Case{chunk + L::kChunkSequenceOffset, "chunk 1 header checksum mismatch"},
          Case{chunk + L::kChunkRawLengthOffset + 1, "chunk 1 header checksum mismatch"},
          Case{chunk + L::kChunkStoredLengthOffset + 3, "chunk 1 header checksum mismatch"},
          Case{chunk + L::kChunkFlagsOffset, "chunk 1 header checksum mismatch"},
          Case{chunk + L::kChunkHeaderCheckOffset, "chunk 1 header checksum mismatch"},
          Case{chunk + L::kChunkHeaderSize, "chunk 1 checksum mismatch"},
          Case{(chunk + L::kChunkHeaderSize + end - L::kChunkChecksumSize) / 2, "chunk 1 checksum mismatch"},
          Case{end - L::kChunkChecksumSize - 1, "chunk 1 checksum mismatch"},
          Case{end - 1, "chunk 1 checksum mismatch"}}) {
      Bytes damaged = file;
      damaged[c.offset] ^= 0x10;
      EXPECT_READ_ERROR(damaged, c.message);
    }
  }
}

TEST(BackupFile, FlippedBitInTrailer) {
  Bytes file = write_backup(make_header(), make_body(5000, Data::kRandom));
  size_t trailer = parse_layout(file).trailer;
  for (size_t offset = trailer; offset < file.size(); ++offset) {
    Bytes damaged = file;
    damaged[offset] ^= 0x80;
    std::string error = read_error(damaged);
    EXPECT_TRUE(error.starts_with("backup is corrupt: ")) << offset << ": " << error;
  }
  Bytes damaged = file;
  damaged[trailer + L::kTrailerEndTimeOffset] ^= 1;
  EXPECT_EQ(read_error(damaged), "backup is corrupt: trailer checksum mismatch");
  damaged = file;
  damaged.back() ^= 1;
  EXPECT_EQ(read_error(damaged), "backup is corrupt: the end marker is wrong");
}

TEST(BackupFile, EverySingleBitFlipAnywhereIsCaught) {
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    Bytes file = write_backup(make_header(compression), make_body(300, Data::kCompressible), 128);
    for (size_t bit = 0; bit < file.size() * 8; ++bit) {
      Bytes damaged = file;
      damaged[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      EXPECT_FALSE(read_error(damaged).empty()) << "bit " << bit;
    }
  }
}

TEST(BackupFile, TruncationAtEveryOffsetIsReported) {
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    Bytes file = write_backup(make_header(compression), make_body(1000, Data::kCompressible), 128);
    for (size_t size = 0; size < file.size(); ++size) {
      Bytes cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(size));
      std::string error = read_error(cut);
      EXPECT_TRUE(error.starts_with("backup is truncated: ")) << "size " << size << ": " << error;
    }
  }
}

TEST(BackupFile, TruncationAtAChunkBoundarySaysWhere) {
  Bytes file = write_backup(make_header(), make_body(10000, Data::kRandom));
  Layout layout = parse_layout(file);
  Bytes cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(layout.trailer));
  EXPECT_READ_ERROR(cut, "after chunk 2, with no trailer");
  cut.resize(layout.header_end);
  EXPECT_READ_ERROR(cut, "after the header, with no trailer");
}

TEST(BackupFile, SwappedChunks) {
  Bytes file = write_backup(make_header(), make_body(4 * 4096, Data::kRandom));
  Layout layout = parse_layout(file);
  Bytes swapped(file.begin(), file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]));
  swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[2]),
                 file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[3]));
  swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]),
                 file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[2]));
  swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[3]), file.end());
  ASSERT_EQ(swapped.size(), file.size());
  EXPECT_READ_ERROR(swapped, "found chunk 2 where chunk 1 belongs");
}

TEST(BackupFile, DroppedChunk) {
  Bytes file = write_backup(make_header(), make_body(4 * 4096, Data::kRandom));
  Layout layout = parse_layout(file);
  Bytes middle = file;
  middle.erase(middle.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]),
               middle.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[2]));
  EXPECT_READ_ERROR(middle, "found chunk 2 where chunk 1 belongs");
  Bytes last = file;
  last.erase(last.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[3]),
             last.begin() + static_cast<ptrdiff_t>(layout.trailer));
  EXPECT_READ_ERROR(last, "the trailer says 4 chunks but 3 were read");
}

TEST(BackupFile, RepeatedChunk) {
  Bytes file = write_backup(make_header(), make_body(2 * 4096, Data::kRandom));
  Layout layout = parse_layout(file);
  file.insert(file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]),
              file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[0]),
              file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]));
  EXPECT_READ_ERROR(file, "found chunk 0 where chunk 1 belongs");
}

TEST(BackupFile, BytesAfterTheTrailer) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  Bytes one = file;
  one.push_back(0);
  EXPECT_READ_ERROR(one, "backup is corrupt: there are bytes after the trailer");
  Bytes two = file;
  two.insert(two.end(), file.begin(), file.end());
  EXPECT_READ_ERROR(two, "backup is corrupt: there are bytes after the trailer");
}

TEST(BackupFile, TrailerTotalsMustMatch) {
  Bytes file = write_backup(make_header(Compression::kZstd), make_body(10000, Data::kCompressible));
  size_t trailer = parse_layout(file).trailer;
  Bytes body = file;
  L::store_le<uint64_t>(std::span(body).subspan(trailer + L::kTrailerBodyBytesOffset), 10001);
  reseal(body);
  EXPECT_READ_ERROR(body, "the trailer says 10001 body bytes but 10000 were read");
  Bytes stored = file;
  L::store_le<uint64_t>(std::span(stored).subspan(trailer + L::kTrailerStoredBytesOffset), 3);
  reseal(stored);
  EXPECT_READ_ERROR(stored, "stored bytes but");
}

TEST(BackupFile, DigestMismatch) {
  Bytes file = write_backup(make_header(), make_body(10000, Data::kRandom));
  file[parse_layout(file).chunk_begins[1] + L::kChunkHeaderSize] ^= 1;
  reseal(file, /*digest=*/false);
  EXPECT_READ_ERROR(file, "backup is corrupt: digest mismatch");
}

TEST(BackupFile, FullBackupOfTheWrongSize) {
  BackupHeader header = make_header();
  header.page_count = 2;
  Bytes file = write_backup(header, make_body(3 * 4096, Data::kRandom));
  file[L::kHeaderPrefixSize + L::kFieldType] = static_cast<uint8_t>(BackupType::kFull);
  std::fill_n(file.begin() + L::kHeaderPrefixSize + L::kFieldBaseBackupId, 16, 0);
  reseal(file);
  EXPECT_READ_ERROR(file, "full backup has 12288 body bytes but its header says 2 pages of 4096 bytes");
}

// Forged files whose checksums are right but whose lengths would make a reader allocate or read too much.
TEST(BackupFile, LengthsAreCheckedBeforeUse) {
  Bytes file = write_backup(make_header(), make_body(10000, Data::kRandom));
  size_t chunk = parse_layout(file).chunk_begins[0];

  Bytes header_length = file;
  L::store_le<uint32_t>(std::span(header_length).subspan(L::kHeaderFieldsLengthOffset), 0x7fffffff);
  EXPECT_READ_ERROR(header_length, "header length 2147483647 is outside");

  Bytes raw_length = file;
  L::store_le<uint32_t>(std::span(raw_length).subspan(chunk + L::kChunkRawLengthOffset), 0xffffffff);
  reseal(raw_length);
  EXPECT_READ_ERROR(raw_length, "chunk 0 has 4294967295 body bytes, outside 1..4096");

  Bytes stored_length = file;
  L::store_le<uint32_t>(std::span(stored_length).subspan(chunk + L::kChunkStoredLengthOffset), 0xffffff);
  std::span<uint8_t> head = std::span(stored_length).subspan(chunk);
  L::store_le<uint32_t>(head.subspan(L::kChunkHeaderCheckOffset), L::chunk_header_check(head));
  EXPECT_READ_ERROR(stored_length, "chunk 0 has a stored length of 16777215 for 4096 body bytes");

  Bytes chunk_size = file;
  L::store_le<uint32_t>(std::span(chunk_size).subspan(L::kHeaderPrefixSize + L::kFieldChunkSize), 1u << 30);
  reseal(chunk_size);
  EXPECT_READ_ERROR(chunk_size, "chunk size 1073741824 is outside");

  Bytes string_length = file;
  L::store_le<uint32_t>(std::span(string_length).subspan(L::kHeaderPrefixSize + L::kHeaderFixedFieldsSize),
                        0x10000000);
  reseal(string_length);
  EXPECT_READ_ERROR(string_length, "header field database name runs past the header");
}

TEST(BackupFile, ChunkFlagsMustFitTheBackup) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kCompressible));
  size_t chunk = parse_layout(file).chunk_begins[0];
  Bytes zstd = file;
  zstd[chunk + L::kChunkFlagsOffset] = L::kChunkFlagZstd;
  reseal(zstd);
  EXPECT_READ_ERROR(zstd, "chunk 0 is zstd-compressed but the backup is not compressed");
  Bytes unknown = file;
  unknown[chunk + L::kChunkFlagsOffset + 1] = 1;
  reseal(unknown);
  EXPECT_READ_ERROR(unknown, "chunk 0 has unknown flags 256");
}

TEST(BackupFile, OnlyTheLastChunkMayBeShort) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom), 50);
  L::store_le<uint32_t>(std::span(file).subspan(L::kHeaderPrefixSize + L::kFieldChunkSize), 100);
  reseal(file);
  EXPECT_READ_ERROR(file, "chunk 1 follows a chunk shorter than the chunk size");
}

TEST(BackupFile, EncryptionMustBeKnownAndComplete) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  file[L::kHeaderPrefixSize + L::kFieldEncryption] = 2;
  reseal(file);
  EXPECT_EQ(read_error(file), "unsupported backup encryption 2");
  // AES-256-GCM without the key's ARN and the wrapped key.
  file[L::kHeaderPrefixSize + L::kFieldEncryption] = 1;
  reseal(file);
  EXPECT_EQ(read_error(file), "backup is corrupt: encrypted backup names no KMS key or no wrapped data key");
  // Versions 1 and 2 have no encryption.
  L::store_le<uint16_t>(std::span(file).subspan(L::kHeaderVersionOffset), 2);
  reseal(file);
  EXPECT_EQ(read_error(file), "unsupported backup encryption 1");
}

// Forges the u16 at a header field offset, with every checksum and the digest right.
Bytes with_header_u16(size_t field, uint16_t value) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  L::store_le<uint16_t>(std::span(file).subspan(L::kHeaderPrefixSize + field), value);
  reseal(file);
  return file;
}

TEST(BackupFile, StripeCountMustBeOneToTen) {
  EXPECT_EQ(read_error(with_header_u16(L::kFieldStripeCount, 0)),
            "backup is corrupt: stripe count 0 is outside 1..10");
  EXPECT_EQ(read_error(with_header_u16(L::kFieldStripeCount, 11)),
            "backup is corrupt: stripe count 11 is outside 1..10");
  EXPECT_EQ(read_error(with_header_u16(L::kFieldStripeCount, 65535)),
            "backup is corrupt: stripe count 65535 is outside 1..10");
  EXPECT_EQ(read_backup(with_header_u16(L::kFieldStripeCount, 10)).header.stripe_count, 10);
}

TEST(BackupFile, StripeIndexMustBeBelowStripeCount) {
  // make_header() is stripe 0 of 1.
  EXPECT_EQ(read_error(with_header_u16(L::kFieldStripeIndex, 1)),
            "backup is corrupt: stripe index 1 is not below the stripe count 1");
  EXPECT_EQ(read_error(with_header_u16(L::kFieldStripeIndex, 65535)),
            "backup is corrupt: stripe index 65535 is not below the stripe count 1");
  Bytes file = with_header_u16(L::kFieldStripeCount, 10);
  L::store_le<uint16_t>(std::span(file).subspan(L::kHeaderPrefixSize + L::kFieldStripeIndex), 10);
  reseal(file);
  EXPECT_EQ(read_error(file), "backup is corrupt: stripe index 10 is not below the stripe count 10");
  L::store_le<uint16_t>(std::span(file).subspan(L::kHeaderPrefixSize + L::kFieldStripeIndex), 9);
  reseal(file);
  EXPECT_EQ(read_backup(file).header.stripe_index, 9);
}

TEST(BackupFile, RecoveryModelMustBeKnown) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  for (uint8_t model : {0, 4, 255}) {
    file[L::kHeaderPrefixSize + L::kFieldRecoveryModel] = model;
    reseal(file);
    EXPECT_EQ(read_error(file), "backup is corrupt: unknown recovery model " + std::to_string(model));
  }
}

TEST(BackupFile, OnlyADifferentialHasABase) {
  Bytes file = write_backup(make_header(), make_body(100, Data::kRandom));
  Bytes no_base = file;
  std::fill_n(no_base.begin() + L::kHeaderPrefixSize + L::kFieldBaseBackupId, 16, 0);
  reseal(no_base);
  EXPECT_EQ(read_error(no_base), "backup is corrupt: differential backup names no base backup");
  Bytes log = file;
  log[L::kHeaderPrefixSize + L::kFieldType] = static_cast<uint8_t>(BackupType::kLog);
  reseal(log);
  EXPECT_EQ(read_error(log),
            "backup is corrupt: log backup names a base backup; only a differential has one");
}

// Header fields outside their documented ranges, with every checksum right: the reader refuses them before
// anyone sizes a buffer or a database by them, and the writer never writes them.
TEST(BackupFile, HeaderFieldsOutsideTheirRangesAreRefused) {
  struct Case {
    size_t field;
    uint64_t value;
    int bytes;
    std::string error;
  };
  const Case cases[] = {
      {L::kFieldPageSize, 0xFFFFFFFC, 4, "page size 4294967292 is not a power of two in 512..65536"},
      {L::kFieldPageSize, 0, 4, "page size 0 is not a power of two"},
      {L::kFieldPageSize, 256, 4, "page size 256 is not a power of two"},
      {L::kFieldPageSize, 131072, 4, "page size 131072 is not a power of two"},
      {L::kFieldPageSize, 4097, 4, "page size 4097 is not a power of two"},
      {L::kFieldPageCount, 0, 8, "page count 0 is outside 1..4294967294"},
      {L::kFieldPageCount, 4294967295, 8, "page count 4294967295 is outside 1..4294967294"},
      {L::kFieldFirstLsn, 0, 8, "database image's LSNs 0 and 5 are not one LSN"},
      {L::kFieldLastLsn, 6, 8, "database image's LSNs 5 and 6 are not one LSN"},
      {L::kFieldBeginTime, static_cast<uint64_t>(-1), 8, "begin time -1 is before 1970"},
  };
  Bytes good = write_backup(make_header(), make_body(100, Data::kRandom));
  for (const Case& c : cases) {
    Bytes file = good;
    if (c.bytes == 4) forge::forge_header_field<uint32_t>(file, c.field, static_cast<uint32_t>(c.value));
    if (c.bytes == 8) forge::forge_header_field<uint64_t>(file, c.field, c.value);
    EXPECT_EQ(read_error(file).rfind("backup is corrupt: " + c.error, 0), 0u)
        << c.error << " / " << read_error(file);
  }
  // A log backup holds no pages and LSNs first <= last.
  BackupHeader log = make_header();
  log.type = BackupType::kLog;
  log.base_backup_id = {};
  log.page_count = 0;
  log.first_lsn = 7;
  log.last_lsn = 9;
  Bytes log_file = write_backup(log, {});
  EXPECT_EQ(read_backup(log_file).header.last_lsn, 9u);
  Bytes backwards = log_file;
  forge::forge_header_field<uint64_t>(backwards, L::kFieldLastLsn, 6);
  EXPECT_READ_ERROR(backwards, "log backup's LSN range 7..6 is not within");
  Bytes pages = log_file;
  forge::forge_header_field<uint64_t>(pages, L::kFieldPageCount, 3);
  EXPECT_READ_ERROR(pages, "log backup has a page count (3)");

  // The writer refuses the same headers.
  BackupHeader bad = make_header();
  bad.page_size = 0xFFFFFFFC;
  VectorSink sink;
  EXPECT_THROW(BackupWriter(sink, bad), std::invalid_argument);
  bad = make_header();
  bad.page_count = 0;
  EXPECT_THROW(BackupWriter(sink, bad), std::invalid_argument);
  bad = make_header();
  bad.database_name.clear();
  EXPECT_THROW(BackupWriter(sink, bad), std::invalid_argument);
}

TEST(BackupFile, CompressedChunkThatDoesNotDecompress) {
  Bytes file = write_backup(make_header(Compression::kZstd), make_body(4096, Data::kCompressible));
  size_t chunk = parse_layout(file).chunk_begins[0];
  file[chunk + L::kChunkHeaderSize + 2] ^= 0xff;  // inside the zstd frame header
  reseal(file);
  EXPECT_READ_ERROR(file, "chunk 0 does");
}

// --- encrypted backups (version 3)
// ---------------------------------------------------------------------------

class FixedKey : public DataKeySource {
 public:
  explicit FixedKey(DataKey key) : key_(key) {}
  DataKey unwrap(const BackupHeader& header) const override {
    seen = header.kms_key_arn;
    return key_;
  }
  mutable std::string seen;

 private:
  DataKey key_;
};

DataKey make_key(uint8_t first) {
  DataKey key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(first + 3 * i);
  return key;
}

BackupHeader encrypted_header(Compression compression = Compression::kNone) {
  BackupHeader header = make_header(compression);
  header.encryption = Encryption::kAes256Gcm;
  header.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  header.wrapped_data_key = std::string("\0\x01\xff wrapped", 12);
  return header;
}

Bytes write_encrypted(const BackupHeader& header, const Bytes& body, const DataKey& key, unsigned threads = 1,
                      uint32_t chunk_size = 4096) {
  VectorSink sink;
  BackupWriter writer(sink, header, {.chunk_size = chunk_size, .threads = threads, .data_key = &key});
  writer.write(body);
  writer.finish(42);
  return sink.data;
}

ReadResult read_encrypted(const Bytes& file, const DataKey& key, unsigned threads = 1) {
  VectorSource source(file);
  FixedKey keys(key);
  BackupReader reader(source, {.threads = threads, .data_key = &keys});
  EXPECT_EQ(keys.seen, reader.header().kms_key_arn);
  ReadResult result;
  result.header = reader.header();
  Bytes buffer(65536);
  while (size_t n = reader.read(buffer))
    result.body.insert(result.body.end(), buffer.begin(), buffer.begin() + n);
  result.trailer = reader.trailer();
  return result;
}

std::string encrypted_error(const Bytes& file, const DataKey& key, unsigned threads = 1) {
  try {
    read_encrypted(file, key, threads);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(read without error)";
}

TEST(EncryptedBackup, RoundTripsAndHidesTheBody) {
  const DataKey key = make_key(7);
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    for (unsigned threads : {1u, 3u}) {
      Bytes body = make_body(50000, Data::kCompressible);
      Bytes file = write_encrypted(encrypted_header(compression), body, key, threads);
      ReadResult got = read_encrypted(file, key, threads == 1 ? 3 : 1);
      EXPECT_EQ(got.body, body);
      expect_same_header(got.header, encrypted_header(compression));
      // The body's bytes are nowhere in the file: not even a 16-byte run of the repetitive text.
      auto run = std::span(body).subspan(4096, 16);
      EXPECT_EQ(std::search(file.begin(), file.end(), run.begin(), run.end()), file.end());
      // Byte for byte the same on any number of threads.
      EXPECT_EQ(write_encrypted(encrypted_header(compression), body, key, 1), file);
    }
  }
}

TEST(EncryptedBackup, NeedsItsKey) {
  const DataKey key = make_key(7);
  Bytes file = write_encrypted(encrypted_header(), make_body(10000, Data::kRandom), key);
  EXPECT_EQ(
      encrypted_error(file, make_key(8)),
      "backup is corrupt: chunk 0 does not authenticate under the backup's data key: it was changed, or "
      "comes from another backup or another place in this one");
  // Without a key the header reads, the body does not.
  VectorSource source(file);
  BackupReader reader(source);
  EXPECT_EQ(reader.header().encryption, Encryption::kAes256Gcm);
  Bytes buffer(100);
  try {
    reader.read(buffer);
    ADD_FAILURE() << "read without a key";
  } catch (const FormatError& e) {
    EXPECT_EQ(std::string(e.what()), "backup is encrypted with the KMS key " +
                                         encrypted_header().kms_key_arn + ": reading it needs its data key");
  }
}

TEST(EncryptedBackup, EveryByteIsProtected) {
  const DataKey key = make_key(7);
  // Read on the caller's thread, and on a pool (where a chunk that was not compressed opens in place).
  for (auto [compression, threads] : {std::pair{Compression::kZstd, 1u}, std::pair{Compression::kNone, 2u}}) {
    SCOPED_TRACE(threads);
    Bytes file =
        write_encrypted(encrypted_header(compression), make_body(9000, Data::kCompressible), key, 1, 2048);
    Layout layout = parse_layout(file);
    const size_t fields_end =
        L::kHeaderPrefixSize + L::load_le<uint32_t>(std::span(file).subspan(L::kHeaderFieldsLengthOffset));
    for (size_t at = 0; at < file.size(); ++at) {
      Bytes changed = file;
      changed[at] ^= 0x20;
      EXPECT_NE(encrypted_error(changed, key, threads), "(read without error)") << "byte " << at;
      // A header field or a chunk's payload changed with every checksum and the digest made right again: the
      // cipher still catches it.
      bool in_payload = false;
      for (size_t begin : layout.chunk_begins) {
        in_payload = in_payload || (at >= begin + L::kChunkHeaderSize &&
                                    at < chunk_end(file, begin) - L::kChunkChecksumSize);
      }
      if (!in_payload && (at < L::kHeaderPrefixSize || at >= fields_end)) continue;
      reseal(changed);
      EXPECT_NE(encrypted_error(changed, key, threads), "(read without error)")
          << "byte " << at << ", resealed";
    }
  }
}

TEST(EncryptedBackup, ChunksCannotMove) {
  const DataKey key = make_key(7);
  const Bytes body = make_body(4096 * 3, Data::kRandom);
  Bytes file = write_encrypted(encrypted_header(), body, key);
  Layout layout = parse_layout(file);
  ASSERT_EQ(layout.chunk_begins.size(), 3u);
  // Chunks 0 and 1 swapped, their sequence numbers put back: each is at another place than it was sealed for.
  {
    const size_t a = layout.chunk_begins[0], b = layout.chunk_begins[1], c = layout.chunk_begins[2];
    Bytes swapped(file.begin(), file.begin() + static_cast<ptrdiff_t>(a));
    swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(b),
                   file.begin() + static_cast<ptrdiff_t>(c));
    swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(a),
                   file.begin() + static_cast<ptrdiff_t>(b));
    swapped.insert(swapped.end(), file.begin() + static_cast<ptrdiff_t>(c), file.end());
    Layout moved = parse_layout(swapped);
    for (uint64_t i = 0; i < 2; ++i)
      L::store_le<uint64_t>(std::span(swapped).subspan(moved.chunk_begins[i] + L::kChunkSequenceOffset), i);
    reseal(swapped);
    EXPECT_EQ(encrypted_error(swapped, key).substr(0, 54),
              "backup is corrupt: chunk 0 does not authenticate under");
  }
  // The same chunk from another backup (another ID) under the same key.
  {
    BackupHeader other = encrypted_header();
    other.backup_id = make_id(0x33);
    Bytes theirs = write_encrypted(other, body, key);
    Layout their_layout = parse_layout(theirs);
    Bytes spliced = file;
    std::copy(theirs.begin() + static_cast<ptrdiff_t>(their_layout.chunk_begins[1]),
              theirs.begin() + static_cast<ptrdiff_t>(their_layout.chunk_begins[2]),
              spliced.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[1]));
    reseal(spliced);
    EXPECT_EQ(encrypted_error(spliced, key).substr(0, 54),
              "backup is corrupt: chunk 1 does not authenticate under");
  }
  // Stripes share the key but never a nonce: the same body in stripe 0 and stripe 1 seals differently.
  {
    BackupHeader first = encrypted_header(), second = encrypted_header();
    first.type = second.type = BackupType::kLog;
    first.page_count = second.page_count = 0;
    first.base_backup_id = second.base_backup_id = {};
    first.stripe_count = second.stripe_count = 2;
    second.stripe_index = 1;
    Bytes one = write_encrypted(first, body, key), two = write_encrypted(second, body, key);
    Layout l1 = parse_layout(one), l2 = parse_layout(two);
    EXPECT_FALSE(
        std::equal(one.begin() + static_cast<ptrdiff_t>(l1.chunk_begins[0] + L::kChunkHeaderSize),
                   one.begin() + static_cast<ptrdiff_t>(l1.chunk_begins[0] + L::kChunkHeaderSize + 64),
                   two.begin() + static_cast<ptrdiff_t>(l2.chunk_begins[0] + L::kChunkHeaderSize)));
  }
}

TEST(EncryptedBackup, TheTrailerAuthenticatesTheEndAndTheHeader) {
  const DataKey key = make_key(7);
  const Bytes body = make_body(4096 * 3, Data::kRandom);
  Bytes file = write_encrypted(encrypted_header(), body, key);
  Layout layout = parse_layout(file);
  // The last chunk dropped, the trailer's totals made to match and every checksum and digest right.
  Bytes cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(layout.chunk_begins[2]));
  cut.insert(cut.end(), file.begin() + static_cast<ptrdiff_t>(layout.trailer), file.end());
  auto trailer = std::span(cut).subspan(parse_layout(cut).trailer);
  L::store_le<uint64_t>(trailer.subspan(L::kTrailerChunkCountOffset), 2);
  L::store_le<uint64_t>(trailer.subspan(L::kTrailerBodyBytesOffset), 4096 * 2);
  L::store_le<uint64_t>(trailer.subspan(L::kTrailerStoredBytesOffset), 2 * (4096 + L::kSealTagSize));
  reseal(cut);
  EXPECT_EQ(
      encrypted_error(cut, key),
      "backup is corrupt: the trailer does not authenticate under the backup's data key: the header or the "
      "totals were changed");
  // A header field changed, checksums and digest made right.
  Bytes forged = file;
  L::store_le<int64_t>(std::span(forged).subspan(L::kHeaderPrefixSize + L::kFieldBeginTime), 12345);
  reseal(forged);
  EXPECT_EQ(encrypted_error(forged, key).substr(0, 56),
            "backup is corrupt: the trailer does not authenticate und");
}

TEST(EncryptedBackup, WriterRefusesHalfAnEncryption) {
  VectorSink sink;
  const DataKey key = make_key(1);
  EXPECT_THROW(BackupWriter(sink, encrypted_header(), {}), std::invalid_argument);  // no key
  BackupHeader no_arn = encrypted_header();
  no_arn.kms_key_arn.clear();
  EXPECT_THROW(BackupWriter(sink, no_arn, {.data_key = &key}), std::invalid_argument);
  EXPECT_THROW(BackupWriter(sink, make_header(), {.data_key = &key}),
               std::invalid_argument);  // a key, no encryption
  BackupHeader stray = make_header();
  stray.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/x";
  EXPECT_THROW(BackupWriter(sink, stray, {}), std::invalid_argument);
}

}  // namespace
}  // namespace bakrest::format
