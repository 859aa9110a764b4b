// Writes the structured seeds of the fuzz corpora, so that mutation starts from real structure: TDS messages,
// PRELOGIN, LOGIN7, RPC, SQL_BATCH and BULK_LOAD payloads laid out as clients send them, and backups, log
// records, log segments, changed-page files and configurations made by bakrest's own writers.
//
// usage: make_fuzz_seeds CORPUS_ROOT   (writes CORPUS_ROOT/<target>/seed-<name>; run by hand, see README.md)
//
// Targets that take extra parameters through FuzzedDataProvider read them from the end of the input, so those
// seeds end in a Tail: each value as the provider consumes it, in the order it consumes them.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "engine/changed_pages.h"
#include "engine/log_record.h"
#include "engine/log_store.h"
#include "format/backup_file.h"
#include "fuzz_key.h"
#include "instance/config.h"
#include "server/bytes.h"
#include "server/login7.h"
#include "server/packet.h"
#include "server/prelogin.h"
#include "server/tds_version.h"
#include "server/text.h"
#include "support/tds_bytes.h"

namespace fs = std::filesystem;
using namespace bakrest;
using server::ByteWriter;

namespace {

using namespace server::tds_bytes;

using Bytes = std::vector<uint8_t>;

fs::path g_root;

// Where the writers that need files write them before they are copied into the corpus.
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "bakrest-seeds-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return fs::path(pattern);
  }();
  return dir;
}

void save(const std::string& target, const std::string& name, std::span<const uint8_t> bytes) {
  fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write seed " + target + "/" + name);
}

void save_text(const std::string& target, const std::string& name, std::string_view text) {
  save(target, name, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

// Values for FuzzedDataProvider::ConsumeIntegral*, which takes bytes from the end of the input, least
// significant first: add() them in the order the target consumes them, then append() after the payload.
class Tail {
 public:
  // value is what the target should get minus the range's minimum; width is the bytes the range needs.
  Tail& add(uint64_t value, size_t width) {
    Bytes le;
    for (size_t i = 0; i < width; ++i) le.push_back(static_cast<uint8_t>(value >> (8 * i)));
    parts_.insert(parts_.begin(), le);
    return *this;
  }
  Bytes append(Bytes payload) const {
    for (const Bytes& part : parts_) payload.insert(payload.end(), part.begin(), part.end());
    return payload;
  }

 private:
  std::vector<Bytes> parts_;
};

// ALL_HEADERS with the transaction descriptor header that 7.2+ clients send.
Bytes all_headers() {
  ByteWriter w;
  w.u32le(22);
  w.u32le(18);
  w.u16le(2);
  w.u64le(0);
  w.u32le(1);
  return w.take();
}

// --- TDS -------------------------------------------------------------------------------------------------

class CaptureStream : public server::Stream {
 public:
  size_t read_some(std::span<uint8_t>) override { return 0; }
  void write_all(std::span<const uint8_t> data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  Bytes bytes;
};

Bytes message(server::PacketType type, const Bytes& payload, size_t packet_size) {
  CaptureStream out;
  server::MessageWriter writer(out, 0, packet_size);
  writer.begin(type);
  writer.write(payload);
  writer.end();
  return out.bytes;
}

Bytes prelogin_request(bool mars, std::string_view instance) {
  struct Option {
    uint8_t token;
    Bytes value;
  };
  Bytes inst(instance.begin(), instance.end());
  inst.push_back(0);
  std::vector<Option> options = {{0x00, {0x0F, 0x00, 0x07, 0xD0, 0x00, 0x00}},
                                 {0x01, {server::encryption::kOff}},
                                 {0x02, inst},
                                 {0x03, {0x00, 0x10, 0x00, 0x00}},
                                 {0x04, {static_cast<uint8_t>(mars)}}};
  ByteWriter w;
  size_t offset = options.size() * 5 + 1;
  for (const Option& o : options) {
    w.u8(o.token);
    w.u16be(static_cast<uint16_t>(offset));
    w.u16be(static_cast<uint16_t>(o.value.size()));
    offset += o.value.size();
  }
  w.u8(0xFF);
  for (const Option& o : options) w.bytes(o.value);
  return w.take();
}

struct LoginFields {
  std::string host = "client-host", user = "sa", password = "Secret1!", app = "sqlcmd", server = "localhost",
              library = "ODBC", language = "us_english", database = "master";
};

// LOGIN7 as MS-TDS lays it out: 36 fixed bytes, the offset table through cbSSPILong (94 bytes in all), then
// the strings in UTF-16LE (the password scrambled), then an optional FeatureExt block.
Bytes login7(uint32_t version, const LoginFields& f, const Bytes& feature_ext) {
  constexpr size_t kTableEnd = 94;
  Bytes data;
  Bytes table(kTableEnd - 36, 0);
  auto put16 = [](Bytes& b, size_t at, size_t v) {
    b[at] = static_cast<uint8_t>(v);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
  };
  auto field = [&](size_t slot, std::string_view text, bool password) {
    Bytes bytes = password ? server::encode_password(text) : utf16(text);
    put16(table, slot - 36, kTableEnd + data.size());
    put16(table, slot - 36 + 2, bytes.size() / 2);
    data.insert(data.end(), bytes.begin(), bytes.end());
  };
  field(36, f.host, false);
  field(40, f.user, false);
  field(44, f.password, true);
  field(48, f.app, false);
  field(52, f.server, false);
  size_t extension_pointer = 0;
  if (!feature_ext.empty()) {
    put16(table, 56 - 36, kTableEnd + data.size());
    put16(table, 56 - 36 + 2, 4);
    extension_pointer = data.size();
    data.insert(data.end(), 4, 0);
  }
  field(60, f.library, false);
  field(64, f.language, false);
  field(68, f.database, false);
  if (!feature_ext.empty()) {
    uint32_t at = static_cast<uint32_t>(kTableEnd + data.size());
    for (int k = 0; k < 4; ++k) data[extension_pointer + k] = static_cast<uint8_t>(at >> (8 * k));
    data.insert(data.end(), feature_ext.begin(), feature_ext.end());
  }
  ByteWriter w;
  w.u32le(static_cast<uint32_t>(kTableEnd + data.size()));
  w.u32le(version);
  w.u32le(4096);
  w.u32le(0x07000000);
  w.u32le(31337);
  w.u32le(0);
  w.u8(0xE0);
  w.u8(0x03);
  w.u8(0x00);
  w.u8(feature_ext.empty() ? 0x00 : 0x10);
  w.u32le(0);
  w.u32le(0x0409);
  w.bytes(table);
  w.bytes(data);
  return w.take();
}

// --- RPC -------------------------------------------------------------------------------------------------

const Bytes kCollation = {0x09, 0x04, 0xD0, 0x00, 0x34};

Bytes le(uint64_t v, size_t width) {
  Bytes b;
  for (size_t i = 0; i < width; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}

Bytes by_name(std::string_view name) { return concat({le(name.size(), 2), utf16(name), le(0, 2)}); }
Bytes by_id(uint16_t id) { return concat({le(0xFFFF, 2), le(id, 2), le(0, 2)}); }
Bytes param(std::string_view name, const Bytes& typed_value, bool output = false) {
  return concat({{static_cast<uint8_t>(server::utf8_to_utf16(name).size())},
                 utf16(name),
                 {static_cast<uint8_t>(output)},
                 typed_value});
}
Bytes nvarchar(std::string_view text) {
  Bytes data = utf16(text);
  return concat({{0xE7}, le(8000, 2), kCollation, le(data.size(), 2), data});
}
Bytes nvarchar_max(std::string_view text) {
  Bytes data = utf16(text);
  return concat({{0xE7}, le(0xFFFF, 2), kCollation, le(data.size(), 8), le(data.size(), 4), data, le(0, 4)});
}
Bytes intn(int64_t v, uint8_t size) {
  return concat({{0x26, size, size}, le(static_cast<uint64_t>(v), size)});
}

// One value of each type family the reader decodes.
std::vector<std::pair<std::string, Bytes>> typed_values() {
  return {
      {"null", {0x1F}},
      {"int4", concat({{0x38}, le(123456, 4)})},
      {"intn8", intn(-5, 8)},
      {"intn1", intn(200, 1)},
      {"bitn", {0x68, 0x01, 0x01, 0x01}},
      {"flt8", concat({{0x6D, 0x08, 0x08}, le(0x400921FB54442D18, 8)})},
      {"money", concat({{0x6E, 0x08, 0x08}, le(0, 4), le(123450000, 4)})},
      {"datetime", concat({{0x6F, 0x08, 0x08}, le(45000, 4), le(300 * 3600, 4)})},
      {"smalldatetime", concat({{0x6F, 0x04, 0x04}, le(45000, 2), le(600, 2)})},
      {"decimal", concat({{0x6A, 0x11, 0x12, 0x02, 0x09, 0x01}, le(1234567, 8)})},
      {"numeric", concat({{0x6C, 0x11, 0x26, 0x00, 0x11, 0x00}, le(~uint64_t{0}, 8), le(~uint64_t{0}, 8)})},
      {"guid", concat({{0x24, 0x10, 0x10},
                       {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
                        0xEE, 0xFF}})},
      {"date", concat({{0x28, 0x03}, le(738000, 3)})},
      {"time7", concat({{0x29, 0x07, 0x05}, le(123456789012, 5)})},
      {"datetime2", concat({{0x2A, 0x03, 0x07}, le(45296123, 4), le(738000, 3)})},
      {"datetimeoffset", concat({{0x2B, 0x07, 0x0A}, le(45296123456, 5), le(738000, 3), le(60, 2)})},
      {"varchar", concat({{0xA7}, le(100, 2), kCollation, le(5, 2), {'h', 'e', 'l', 'l', 0xE9}})},
      {"varchar_utf8", concat({{0xA7}, le(100, 2), kUtf8Collation, le(3, 2), {0xE2, 0x82, 0xAC}})},
      {"nvarchar", nvarchar("backup.bak")},
      {"nvarchar_max", nvarchar_max("a longer text sent as PLP")},
      {"varbinary", concat({{0xA5}, le(16, 2), le(4, 2), {0xDE, 0xAD, 0xBE, 0xEF}})},
      {"varbinary_max_null", concat({{0xA5}, le(0xFFFF, 2), le(~uint64_t{0}, 8)})},
      {"legacy_varchar", {0x27, 0x10, 0x03, 'a', 'b', 'c'}},
      {"legacy_binary", {0x2D, 0x10, 0x02, 0x01, 0x02}},
      {"text", concat({{0x23}, le(0x7FFFFFFF, 4), kCollation, le(4, 4), {'t', 'e', 'x', 't'}})},
      {"ntext", concat({{0x63}, le(0x7FFFFFFF, 4), kCollation, le(4, 4), utf16("nt")})},
      {"image", concat({{0x22}, le(0x7FFFFFFF, 4), le(2, 4), {0x00, 0xFF}})},
      {"xml", concat({{0xF1, 0x00}, le(10, 8), le(10, 4), utf16("<a/>x"), le(0, 4)})},
  };
}

Bytes rpc_tail(uint32_t version) { return Tail().add(version, 4).append({}); }

// --- backups, logs, changed pages
// ---------------------------------------------------------------------------

class VectorSink : public format::ByteSink {
 public:
  void write(std::span<const uint8_t> bytes) override { data.insert(data.end(), bytes.begin(), bytes.end()); }
  Bytes data;
};

// Page images that compress somewhat, like real database pages: a pattern and some noise.
Bytes pages_body(uint32_t page_size, uint32_t pages, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes body(size_t{page_size} * pages);
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = i % 64 < 48 ? static_cast<uint8_t>(i / 512) : static_cast<uint8_t>(rng());
  return body;
}

// A log backup's body: log records as the engine streams them.
Bytes log_records(uint64_t first_lsn, uint32_t count, uint32_t pages_each, uint32_t page_size) {
  Bytes out;
  for (uint32_t r = 0; r < count; ++r) {
    engine::LogRecordHeader h;
    h.lsn = first_lsn + r;
    h.commit_time_us = 1'700'000'000'000'000 + r * 1000;
    h.database_pages = 8;
    h.page_size = page_size;
    h.page_count = pages_each;
    h.wal_salt[0] = 0x1234;
    h.wal_salt[1] = 0x5678;
    h.wal_commit_frame = 3 + r;
    engine::LogRecordEncoder encoder(
        h, [&](std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); });
    Bytes image = pages_body(page_size, 1, h.lsn);
    for (uint32_t p = 0; p < pages_each; ++p) encoder.add_page(p + 1, image);
    encoder.finish();
  }
  return out;
}

void backup_seeds() {
  const format::BackupType types[] = {format::BackupType::kFull, format::BackupType::kDifferential,
                                      format::BackupType::kLog};
  const char* type_names[] = {"full", "diff", "log"};
  for (int t = 0; t < 3; ++t) {
    for (auto compression : {format::Compression::kNone, format::Compression::kZstd}) {
      format::BackupHeader h;
      h.database_name = "salesdb";
      h.database_guid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
      h.type = types[t];
      h.first_lsn = types[t] == format::BackupType::kLog ? 10 : 42;
      h.last_lsn = 42;
      h.begin_time_us = 1'700'000'000'000'000;
      h.page_size = 512;
      h.compression = compression;
      h.backup_id = {0xB0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
      h.fork_guid = {0xF0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
      if (types[t] == format::BackupType::kDifferential)
        h.base_backup_id = {0xBA, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
      Bytes body;
      if (types[t] == format::BackupType::kLog) {
        body = log_records(10, 3, 1, 512);
      } else {
        h.page_count = types[t] == format::BackupType::kFull ? 6 : 3;
        body = pages_body(512, static_cast<uint32_t>(h.page_count), 7);
      }
      VectorSink sink;
      format::BackupWriter writer(sink, h, {.chunk_size = 1024, .zstd_level = 3});
      writer.write(body);
      writer.finish(h.begin_time_us + 5'000'000);
      std::string name =
          std::string(type_names[t]) + (compression == format::Compression::kZstd ? "-zstd" : "-plain");
      save("backup_reader", name, sink.data);
    }
  }
  // Stripe 2 of 3 of a simple-recovery full backup of three pages (a page a stripe: format::stripe_pages)
  // with one chunk, and an empty log backup.
  format::BackupHeader h;
  h.database_name = "db";
  h.type = format::BackupType::kFull;
  h.first_lsn = 3;
  h.last_lsn = 3;
  h.page_size = 512;
  h.page_count = 3;
  h.recovery_model = format::RecoveryModel::kSimple;
  h.stripe_index = 1;
  h.stripe_count = 3;
  h.compression = format::Compression::kZstd;
  VectorSink striped;
  format::BackupWriter writer(striped, h);
  writer.write(Bytes(512, 0));
  writer.finish(1);
  save("backup_reader", "full-stripe-2-of-3", striped.data);
  h = {};
  h.database_name = "db";
  h.type = format::BackupType::kLog;
  h.first_lsn = 7;
  h.last_lsn = 7;
  h.page_size = 4096;
  VectorSink empty;
  format::BackupWriter empty_writer(empty, h);
  empty_writer.finish(0);
  save("backup_reader", "log-empty", empty.data);
  // Encrypted (format version 3) with fuzz_key.h's data key: a compressed differential in several chunks.
  h = {};
  h.database_name = "secret";
  h.type = format::BackupType::kDifferential;
  h.first_lsn = h.last_lsn = 9;
  h.page_size = 512;
  h.page_count = 4;
  h.base_backup_id = {0xBA, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  h.compression = format::Compression::kZstd;
  h.encryption = format::Encryption::kAes256Gcm;
  h.kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  h.wrapped_data_key = "BKMS wrapped";
  VectorSink sealed;
  format::BackupWriter sealed_writer(sealed, h, {.chunk_size = 600, .data_key = &fuzz::kDataKey});
  sealed_writer.write(pages_body(512, 3, 7));
  sealed_writer.finish(2);
  save("backup_reader", "diff-zstd-encrypted", sealed.data);
}

void log_seeds() {
  save("log_record", "one-record-one-page", log_records(1, 1, 1, 512));
  save("log_record", "three-records", log_records(7, 3, 2, 512));
  save("log_record", "no-pages", log_records(99, 1, 0, 1024));

  // Segments as the log store writes them: one segment, and two (a small segment size forces the second).
  fs::path dir = scratch() / "log";
  fs::remove_all(dir);
  auto append = [](engine::LogStore& store, uint32_t pages) {
    engine::LogRecordHeader h;
    h.lsn = store.next_lsn();
    h.commit_time_us = 1'700'000'000'000'000 + static_cast<int64_t>(h.lsn) * 1000;
    h.database_pages = 4;
    h.page_size = 512;
    h.page_count = pages;
    h.wal_commit_frame = static_cast<uint32_t>(h.lsn);
    Bytes image = pages_body(512, 1, h.lsn);
    store.append(h, [&](engine::LogRecordEncoder& e) {
      for (uint32_t p = 0; p < pages; ++p) e.add_page(p + 1, image);
    });
  };
  auto read_file = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  {
    engine::LogStore store(dir / "one", 1);
    for (int i = 0; i < 3; ++i) append(store, 1 + i % 2);
    store.sync();
  }
  // flags 0: one segment, resealed; the split is unused.
  Bytes one = read_file(dir / "one" / engine::log_segment_name(1));
  save("log_store", "one-segment", Tail().add(0, 1).add(0, 2).append(one));
  {
    engine::LogStore store(dir / "two", 5, {.segment_bytes = 1200});
    for (int i = 0; i < 4; ++i) append(store, 1);
    store.sync();
  }
  std::vector<fs::path> segments;
  for (const auto& entry : fs::directory_iterator(dir / "two")) segments.push_back(entry.path());
  std::sort(segments.begin(), segments.end());
  if (segments.size() >= 2) {
    Bytes first = read_file(segments[0]);
    Bytes second = read_file(segments[1]);
    save("log_store", "two-segments", Tail().add(1, 1).add(first.size(), 2).append(concat({first, second})));
  }
  // An empty log: a segment with its header only.
  { engine::LogStore store(dir / "empty", 1); }
  save("log_store", "header-only",
       Tail().add(0, 1).add(0, 2).append(read_file(dir / "empty" / engine::log_segment_name(1))));
  fs::remove_all(dir);
}

void changed_pages_seeds() {
  fs::path dir = scratch() / "pages";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto read_file = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  {
    engine::ChangedPages pages(dir / "no-base");
    const uint32_t changed[] = {1, 2, 3, 70};
    pages.mark(5, changed);
    pages.persist();
  }
  // Tail: no pages to mark after loading.
  save("changed_pages", "no-base", Tail().add(0, 1).append(read_file(dir / "no-base")));
  {
    engine::ChangedPages pages(dir / "base");
    uint64_t handle = pages.begin_generation(10);
    const uint32_t changed[] = {4, 200, 1000};
    pages.mark(11, changed);
    pages.finish_generation(handle, Guid{0xB0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  }
  // Tail: two pages to mark, 9 and 129 (minus the range's minimum 1).
  save("changed_pages", "with-base", Tail().add(2, 1).add(8, 2).add(128, 2).append(read_file(dir / "base")));
  fs::remove_all(dir);
}

void config_seeds() {
  fs::path dir = scratch() / "config";
  fs::create_directories(dir);
  instance::Config config;
  config.instance_id = "db-4f1c2a";
  config.option_group_seed = instance::OptionGroupSeed{
      "rds-backup", {"SQLSERVER_BACKUP_RESTORE"}, "arn:aws:iam::123456789012:role/rds-backup"};
  config.buckets.push_back({"my-backups", "eu-west-1", std::nullopt});
  config.max_transfer_mb_per_sec = 12.5;
  instance::save_config(config, dir / "instance.toml");
  std::ifstream in(dir / "instance.toml", std::ios::binary);
  save("config", "saved", Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  fs::remove_all(dir);
  save_text("config", "minimal", "instance_id = \"i-1\"\n");
  save_text(
      "config", "hand-written",
      "# written by an operator\n"
      "instance_id = 'i-2'\nregion = \"us-west-2\"\naccount = \"210987654321\"\nedition = \"enterprise\"\n"
      "time_zone = \"UTC\"\n\n[server]\nhost = \"0.0.0.0\"\nport = 11433\n\n[option_group]\n"
      "name = \"my-group\"\noptions = [\"SQLSERVER_BACKUP_RESTORE\", \"TDE\"]\n\n[storage]\n"
      "max_transfer_mb_per_sec = 100\n\n[[buckets]]\nname = \"a_bucket\"\n\n[[buckets]]\nname = "
      "\"b.bucket\"\n"
      "region = \"ap-south-1\"\n");
}

// --- the text targets ------------------------------------------------------------------------------------

void tsql_seeds() {
  const std::pair<const char*, const char*> batches[] = {
      {"backup",
       "exec msdb.dbo.rds_backup_database @source_db_name='salesdb', "
       "@s3_arn_to_backup_to=N'arn:aws:s3:::bucket/sales.bak', @overwrite_s3_backup_file=1, "
       "@type='DIFFERENTIAL', @number_of_files=4;"},
      {"restore",
       "EXECUTE msdb..rds_restore_database @restore_db_name = [sales copy], @s3_arn_to_restore_from = "
       "'arn:aws:s3:::bucket/sales*', @with_norecovery = 1\nGO\nexec msdb.dbo.rds_task_status "
       "@db_name='sales copy'"},
      {"ddl",
       "CREATE TABLE dbo.t (id INT IDENTITY(1,1) PRIMARY KEY CLUSTERED, name NVARCHAR(MAX) NOT NULL, "
       "data VARBINARY(max), price DECIMAL(10,2) DEFAULT 0)\nCREATE NONCLUSTERED INDEX ix ON t (name)\n"
       "ALTER TABLE t ADD c INT\nDROP TABLE IF EXISTS old_t"},
      {"select",
       "SELECT TOP (10) a.id, ISNULL(b.name, N'none') AS [the name], LEN(b.name), 0x0aFF, @@SPID, "
       "@@TRANCOUNT, @@VERSION, DB_NAME() FROM sales.dbo.orders a JOIN master..b b ON a.id = b.id "
       "WHERE a.x <> 1 AND a.y >= 2.5e3 ORDER BY 1 DESC; SELECT TOP 5 * FROM sys.databases"},
      {"dml",
       "INSERT INTO t (a, b) VALUES (1, 'it''s'), (2, N'x')\nUPDATE t SET a = a + 1 WHERE b LIKE '%x%'\n"
       "DELETE FROM t WHERE a IN (SELECT a FROM u UNION SELECT a FROM v)\n"
       "WITH c AS (SELECT 1 AS n) SELECT * FROM c"},
      {"session",
       "USE [salesdb]; SET NOCOUNT ON; SET TEXTSIZE 2147483647; PRINT 'hello ' + N'world'\n"
       "BEGIN TRAN; COMMIT TRANSACTION; BEGIN TRANSACTION t1; ROLLBACK\n"
       "ALTER DATABASE salesdb SET RECOVERY SIMPLE WITH NO_WAIT; ALTER DATABASE CURRENT SET "
       "RECOVERY FULL"},
      {"logins",
       "CREATE LOGIN backup_operator WITH PASSWORD = 'S3cret!'; GRANT EXECUTE ON "
       "OBJECT::msdb.dbo.rds_backup_database TO backup_operator, other; REVOKE EXECUTE ON "
       "msdb.dbo.rds_restore_database FROM backup_operator; DROP LOGIN other"},
      {"databases", "CREATE DATABASE [new db]\ndrop database olddb\ncreate database \"quoted\""},
      {"bodies",
       "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET b = 1; SELECT CASE WHEN a = 1 THEN 2 "
       "ELSE 3 END FROM t; END\nCREATE PROCEDURE p AS SELECT 1; SELECT 2"},
      {"comments", "/* a /* nested */ comment */ SELECT 1 -- trailing\n-- whole line\nSELECT 'a;b' ; ; GO\n"},
      {"errors", "SELECT 'unclosed"},
  };
  for (const auto& [name, text] : batches) save_text("tsql", name, text);
}

void arn_seeds() {
  save_text("arn", "plain", "arn:aws:s3:::aws_example_bucket/backups/sales.bak");
  save_text("arn", "wildcard", "arn:aws:s3:::my.bucket-1/path/to/sales*");
  save_text("arn", "utf8-key", "arn:aws:s3:::bucket/caf\xC3\xA9/\xE2\x82\xAC.bak");
  save_text("arn", "bad-region", "arn:aws:s3:us-east-1::bucket/key");
  save_text("arn", "dot-segment", "arn:aws:s3:::bucket/a/../b");
}

void iam_policy_seeds() {
  // Action and resource (each ended by "\\n"), the document, then the Tail: the kind (0 permissions, 1 trust,
  // 2 key policy).
  auto seed = [](const std::string& name, const std::string& action, const std::string& resource,
                 const std::string& document, uint64_t kind) {
    std::string text = action + "\\n" + resource + "\\n" + document;
    save("iam_policy", name, Tail().add(kind, 1).append(Bytes(text.begin(), text.end())));
  };
  seed("permissions", "s3:GetObject", "arn:aws:s3:::bucket_name/backup.bak",
       R"({"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::bucket_name"},
  {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bucket_name/*"},
  {"Effect": "Deny", "NotAction": "kms:*", "NotResource": "arn:aws:kms:us-east-1:123456789012:key/*"}]})",
       0);
  seed("trust", "sts:AssumeRole", "",
       R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole",
  "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                "ArnLike": {"aws:SourceArn": "arn:aws:rds:us-east-1:123456789012:db:*"}}}]})",
       1);
  seed(
      "key", "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/k",
      R"({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [{"Sid": "Enable IAM User Permissions",
  "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "111122223333"]},
  "Action": "kms:*", "Resource": "*", "Condition": {"StringNotLike": {"aws:SourceArn": "arn:*"}}}]})",
      2);
}

void tds_seeds() {
  // tds_packet: Tail = read size (minus 1), payload cap, writer packet size (minus 512).
  std::string text = "SELECT name FROM sys.databases WHERE database_id > 4";
  while (text.size() < 700) text += " OR name = N'database " + std::to_string(text.size()) + "'";
  Bytes batch = concat({all_headers(), utf16(text)});
  Tail cap = Tail().add(4095, 2).add(65536, 3).add(0, 2);
  save("tds_packet", "sql-batch-3-packets", cap.append(message(server::PacketType::kSqlBatch, batch, 512)));
  save("tds_packet", "prelogin-read-by-3",
       Tail().add(2, 2).add(4096, 3).add(3584, 2).append(
           message(server::PacketType::kPrelogin, prelogin_request(false, "MSSQLServer"), 4096)));
  save("tds_packet", "login7",
       cap.append(message(server::PacketType::kLogin7, login7(server::kTds74, {}, {}), 4096)));
  Bytes attention = message(server::PacketType::kAttention, {}, 4096);
  Bytes partial = message(server::PacketType::kRpc, concat({all_headers(), by_id(10)}), 512);
  partial[1] = 0;  // no EOM: the attention that follows abandons it
  save("tds_packet", "rpc-then-attention", cap.append(concat({partial, attention})));
  Bytes ignored = message(server::PacketType::kSqlBatch, utf16("SELECT 1"), 4096);
  ignored[1] |= server::packet_status::kIgnore;
  Bytes reset = message(server::PacketType::kSqlBatch, concat({all_headers(), utf16("SELECT 2")}), 4096);
  reset[1] |= server::packet_status::kResetConnection;
  Bytes tm =
      message(server::PacketType::kTransactionManager, concat({all_headers(), le(7, 2), {0x00, 0x00}}), 4096);
  save("tds_packet", "ignore-reset-tm", cap.append(concat({ignored, reset, tm})));

  save("prelogin", "client", prelogin_request(true, "MSSQLServer"));
  save("prelogin", "client-no-instance", prelogin_request(false, ""));
  save("prelogin", "server-reply", server::build_prelogin_reply());

  save("login7", "tds74", login7(server::kTds74, {}, {}));
  save("login7", "tds71-empty-fields", login7(server::kTds71, {"", "user", "", "", "", "", "", ""}, {}));
  const Bytes utf8_feature = {0x04, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0A, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFF};
  save("login7", "feature-ext-utf8",
       login7(server::kTds74, {.user = "\xC3\xA9l\xC3\xA8ve", .password = "p\xC3\xA4ss"}, utf8_feature));

  // rpc: the payload, then the TDS version the target negotiates.
  Bytes executesql =
      concat({all_headers(), by_id(10), param("", nvarchar("SELECT @a + @b")),
              param("", nvarchar("@a int, @b bigint")), param("@a", intn(1, 4)), param("@b", intn(2, 8))});
  save("rpc", "executesql-74", concat({executesql, rpc_tail(server::kTds74)}));
  Bytes prepared = concat({all_headers(),
                           by_id(11),
                           param("@handle", intn(0, 4), true),
                           param("", nvarchar("@P1 nvarchar(4000)")),
                           param("", nvarchar("SELECT @P1")),
                           {0xFF},
                           by_id(12),
                           param("", intn(1, 4)),
                           param("", nvarchar("x")),
                           {0xFE},
                           by_id(15),
                           param("", intn(1, 4))});
  save("rpc", "prepare-execute-unprepare", concat({prepared, rpc_tail(server::kTds74)}));
  save("rpc", "prepexec-73",
       concat({all_headers(), by_id(13), param("@h", intn(0, 4), true), param("", nvarchar("@x int")),
               param("", nvarchar("SELECT @x")), param("@x", intn(7, 4)), rpc_tail(server::kTds73B)}));
  Bytes named = concat({all_headers(), by_name("msdb.dbo.rds_backup_database"),
                        param("@source_db_name", nvarchar("salesdb")),
                        param("@s3_arn_to_backup_to", nvarchar_max("arn:aws:s3:::bucket/sales.bak")),
                        param("@overwrite_s3_backup_file", intn(1, 1))});
  save("rpc", "named-procedure", concat({named, rpc_tail(server::kTds74)}));
  Bytes every_type = concat({all_headers(), by_name("p")});
  for (const auto& [type, value] : typed_values())
    every_type = concat({every_type, param("@" + type, value)});
  save("rpc", "every-type", concat({every_type, rpc_tail(server::kTds74)}));
  Bytes v71 = concat({by_name("sp_who"), param("@x", intn(3, 4)), {0x80}, by_id(1)});
  save("rpc", "tds71-separator-cursor", concat({v71, rpc_tail(server::kTds71)}));

  // sql_batch: the payload, then the TDS version.
  save("sql_batch", "batch-74",
       concat({all_headers(), utf16("SELECT N'\xC3\xA9t\xC3\xA9' -- \xF0\x9F\x98\x80"),
               rpc_tail(server::kTds74)}));
  save("sql_batch", "batch-71", concat({utf16("select 1"), rpc_tail(server::kTds71)}));
  save("sql_batch", "tm-begin",
       concat({all_headers(), le(5, 2), {0x00, 0x02}, utf16("t1"), rpc_tail(server::kTds74)}));
  save("sql_batch", "tm-commit-begin-after",
       concat({all_headers(), le(7, 2), {0x00, 0x01}, rpc_tail(server::kTds72)}));
  save("sql_batch", "tm-rollback",
       concat({all_headers(), le(8, 2), {0x01}, utf16("x"), {0x00}, rpc_tail(server::kTds74)}));
}

// --- BULK_LOAD ---------------------------------------------------------------------------------------------

// A COLMETADATA column as TDS 7.2+ clients send it: UserType, Flags (nullable), TYPE_INFO, name.
Bytes bulk_column(const Bytes& type_info, std::string_view name) {
  return concat({le(0, 4),
                 le(0x0009, 2),
                 type_info,
                 {static_cast<uint8_t>(server::utf8_to_utf16(name).size())},
                 utf16(name)});
}
Bytes bulk_metadata(std::initializer_list<Bytes> columns) {
  Bytes out = concat({{0x81}, le(columns.size(), 2)});
  for (const Bytes& c : columns) out = concat({out, c});
  return out;
}
Bytes bulk_row(std::initializer_list<Bytes> values) {
  Bytes out = {0xD1};
  for (const Bytes& v : values) out = concat({out, v});
  return out;
}
Bytes bulk_done(uint64_t rows) { return concat({{0xFD}, le(0x10, 2), le(0, 2), le(rows, 8)}); }
Bytes with_length(const Bytes& data, size_t width) { return concat({le(data.size(), width), data}); }

// bulk_load: the payload, then the TDS version the target negotiates.
void bulk_load_seeds() {
  // What node mssql's request.bulk() sends for the integration test's table (tedious 18): three rows, NULLs.
  Bytes node = concat(
      {bulk_metadata({bulk_column({0x26, 4}, "id"),
                      bulk_column(concat({{0xE7}, le(100, 2), kCollation}), "name"),
                      bulk_column({0x6A, 9, 10, 2}, "amount"), bulk_column({0x6F, 8}, "at"),
                      bulk_column({0x68, 1}, "flag"), bulk_column(concat({{0xA5}, le(16, 2)}), "data")}),
       bulk_row({with_length(le(1, 4), 1), with_length(utf16("row 1 \xE2\x9C\x93 \xC3\xA9"), 2),
                 with_length(concat({{1}, le(1234567, 8)}), 1),
                 with_length(concat({le(45290, 4), le(18303, 4)}), 1), with_length({1}, 1),
                 with_length({0, 0, 1}, 2)}),
       bulk_row({with_length(le(2, 4), 1), le(0xFFFF, 2), {0}, {0}, {0}, le(0xFFFF, 2)}),
       bulk_row({with_length(le(3, 4), 1), with_length(utf16(""), 2), with_length(concat({{0}, le(5, 8)}), 1),
                 with_length(concat({le(45290, 4), le(0, 4)}), 1), with_length({0}, 1), with_length({}, 2)}),
       bulk_done(0)});
  save("bulk_load", "node-mssql-74", concat({node, rpc_tail(server::kTds74)}));

  // Every type the reader takes: fixed, nullable, dates and times, GUID, character data in both collations,
  // binary, PLP in chunks, TEXT / NTEXT / IMAGE with text pointers; then a row of NULLs.
  Bytes pointer = concat({{16}, Bytes(16, 0xFF), Bytes(8, 0xFF)});
  Bytes every = concat(
      {bulk_metadata(
           {bulk_column({0x30}, "i1"),
            bulk_column({0x32}, "b"),
            bulk_column({0x34}, "i2"),
            bulk_column({0x38}, "i4"),
            bulk_column({0x7F}, "i8"),
            bulk_column({0x3B}, "f4"),
            bulk_column({0x3E}, "f8"),
            bulk_column({0x7A}, "m4"),
            bulk_column({0x3C}, "m8"),
            bulk_column({0x3A}, "dt4"),
            bulk_column({0x3D}, "dt8"),
            bulk_column({0x26, 8}, "intn"),
            bulk_column({0x6D, 4}, "fltn"),
            bulk_column({0x6E, 8}, "moneyn"),
            bulk_column({0x6C, 17, 38, 0}, "numeric"),
            bulk_column({0x28}, "date"),
            bulk_column({0x29, 7}, "time"),
            bulk_column({0x2A, 3}, "dt2"),
            bulk_column({0x2B, 7}, "dto"),
            bulk_column({0x24, 16}, "guid"),
            bulk_column(concat({{0xEF}, le(8, 2), kCollation}), "nchar"),
            bulk_column(concat({{0xA7}, le(20, 2), kCollation}), "varchar"),
            bulk_column(concat({{0xAF}, le(3, 2), kUtf8Collation}), "char_utf8"),
            bulk_column(concat({{0xAD}, le(2, 2)}), "binary"),
            bulk_column(concat({{0xE7}, le(0xFFFF, 2), kCollation}), "nvarchar_max"),
            bulk_column(concat({{0xA5}, le(0xFFFF, 2)}), "varbinary_max"),
            bulk_column(concat({{0x23}, le(0x7FFFFFFF, 4), kCollation, le(1, 2), utf16("t")}), "text"),
            bulk_column(concat({{0x63}, le(0x7FFFFFFE, 4), kCollation, le(1, 2), utf16("t")}), "ntext"),
            bulk_column(concat({{0x22}, le(0x7FFFFFFF, 4), le(1, 2), utf16("t")}), "image")}),
       bulk_row({{200},
                 {1},
                 le(65535, 2),
                 le(123456, 4),
                 le(~uint64_t{0}, 8),
                 le(0x3FC00000, 4),
                 le(0x400921FB54442D18, 8),
                 le(15000, 4),
                 concat({le(0, 4), le(123400, 4)}),
                 concat({le(45290, 2), le(61, 2)}),
                 concat({le(45290, 4), le(150, 4)}),
                 with_length(le(5000000000, 8), 1),
                 with_length(le(0x3FC00000, 4), 1),
                 with_length(concat({le(0x7FFFFFFF, 4), le(0xFFFFFFFF, 4)}), 1),
                 with_length(concat({{1}, le(~uint64_t{0}, 8), le(0xFFFF, 8)}), 1),
                 with_length(le(738885, 3), 1),
                 with_length(le(452961234567, 5), 1),
                 with_length(concat({le(43200500, 4), le(738885, 3)}), 1),
                 with_length(concat({le(18000000000, 5), le(738885, 3), le(0xFFC4, 2)}), 1),
                 with_length({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC,
                              0xDD, 0xEE, 0xFF},
                             1),
                 with_length(utf16("abcd"), 2),
                 with_length({'c', 'a', 'f', 0xE9}, 2),
                 with_length({0xE2, 0x82, 0xAC}, 2),
                 with_length({0xCA, 0xFE}, 2),
                 concat({le(8, 8), le(2, 4), utf16("a"), le(6, 4), utf16("bc\xE2\x9C\x93"), le(0, 4)}),
                 concat({le(~uint64_t{0} - 1, 8), le(3, 4), {1, 2, 3}, le(0, 4)}),
                 concat({pointer, le(3, 4), {'a', 'b', 'c'}}),
                 concat({pointer, le(2, 4), utf16("n")}),
                 concat({pointer, le(1, 4), {0x7F}})}),
       bulk_row({{0},
                 {0},
                 le(0, 2),
                 le(0, 4),
                 le(0, 8),
                 le(0, 4),
                 le(0, 8),
                 le(0, 4),
                 le(0, 8),
                 le(0, 4),
                 le(0, 8),
                 {0},
                 {0},
                 {0},
                 {0},
                 {0},
                 {0},
                 {0},
                 {0},
                 {0},
                 le(0xFFFF, 2),
                 le(0xFFFF, 2),
                 le(0xFFFF, 2),
                 le(0xFFFF, 2),
                 le(~uint64_t{0}, 8),
                 le(~uint64_t{0}, 8),
                 {0},
                 {0},
                 {0}}),
       bulk_done(2)});
  save("bulk_load", "every-type-74", concat({every, rpc_tail(server::kTds74)}));

  // TDS 7.1: two-byte UserType and a four-byte DONE row count.
  Bytes v71 = concat({{0x81},
                      le(1, 2),
                      le(0, 2),
                      le(1, 2),
                      {0x26, 4},
                      {2},
                      utf16("id"),
                      bulk_row({with_length(le(7, 4), 1)}),
                      {0xFD},
                      le(0, 2),
                      le(0, 2),
                      le(0, 4)});
  save("bulk_load", "tds71", concat({v71, rpc_tail(server::kTds71)}));
  // tedious's load of no rows is a DONE alone; FreeTDS sends no DONE after the last row.
  save("bulk_load", "done-only", concat({bulk_done(0), rpc_tail(server::kTds74)}));
  save("bulk_load", "no-done",
       concat({bulk_metadata(
                   {bulk_column({0x26, 4}, "id"), bulk_column(concat({{0xA7}, le(10, 2), kCollation}), "s")}),
               bulk_row({with_length(le(1, 4), 1), with_length({'x'}, 2)}), rpc_tail(server::kTds74)}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_fuzz_seeds CORPUS_ROOT\n";
    return 2;
  }
  g_root = argv[1];
  try {
    tds_seeds();
    tsql_seeds();
    arn_seeds();
    iam_policy_seeds();
    backup_seeds();
    log_seeds();
    changed_pages_seeds();
    config_seeds();
    bulk_load_seeds();
  } catch (const std::exception& e) {
    std::cerr << "make_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  fs::remove_all(scratch());
  return 0;
}
