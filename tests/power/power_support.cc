#include "power/power_support.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "engine/capture_vfs.h"
#include "engine/engine.h"

namespace bakrest::power {

namespace fs = std::filesystem;

uint64_t test_seed() {
  if (const char* s = std::getenv("BAKREST_TEST_SEED")) return std::stoull(s);
  std::random_device device;
  return static_cast<uint64_t>(device()) << 32 | device();
}

std::string seed_note(uint64_t seed) {
  return "seed " + std::to_string(seed) + " (repeat with BAKREST_TEST_SEED=" + std::to_string(seed) + ")";
}

int scaled(int rounds) {
  const char* scale = std::getenv("BAKREST_POWER_SCALE");
  return scale ? rounds * std::max(1, std::atoi(scale)) : rounds;
}

fs::path scratch_base() {
  if (std::getenv("TMPDIR")) return fs::temp_directory_path();
  struct statvfs st {};
  if (::access("/dev/shm", W_OK) == 0 && ::statvfs("/dev/shm", &st) == 0 &&
      static_cast<uint64_t>(st.f_bavail) * st.f_frsize > (uint64_t{1} << 30))
    return "/dev/shm";
  return fs::temp_directory_path();
}

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
}

std::vector<uint8_t> serialize(sqlite::Database& db) {
  sqlite3_int64 size = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> bytes(sqlite3_serialize(db.handle(), "main", &size, 0),
                                                        sqlite3_free);
  if (!bytes) throw std::runtime_error(std::string("sqlite3_serialize: ") + sqlite3_errmsg(db.handle()));
  return {bytes.get(), bytes.get() + size};
}

namespace {

uint32_t page_size_of(std::span<const uint8_t> image) {
  if (image.size() < 18) return 4096;
  uint32_t size = static_cast<uint32_t>(image[16]) << 8 | image[17];
  return size == 1 ? 65536 : size;
}

}  // namespace

std::string compare_images(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  uint32_t page_size = page_size_of(b);
  size_t common = std::min(a.size(), b.size());
  for (size_t at = 0; at < common; at += page_size) {
    size_t n = std::min<size_t>(page_size, common - at);
    if (std::memcmp(a.data() + at, b.data() + at, n) != 0)
      return "page " + std::to_string(at / page_size + 1) + " differs";
  }
  if (a.size() != b.size()) return std::to_string(a.size()) + " bytes against " + std::to_string(b.size());
  return {};
}

std::vector<uint8_t> create_database_image(const fs::path& file, uint32_t page_size,
                                           const std::string& setup) {
  {
    sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
    db.exec("PRAGMA page_size=" + std::to_string(page_size) + ";" + setup + "PRAGMA journal_mode=WAL;");
  }
  return read_file(file);
}

sqlite::Database open_database(const fs::path& file, int cache_pages) {
  sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, engine::capture_vfs_name());
  engine::configure_connection(db, nullptr);
  if (cache_pages) db.exec("PRAGMA cache_size=" + std::to_string(cache_pages));
  return db;
}

Replica::Replica(std::vector<uint8_t> base) : image_(std::move(base)), page_size_(page_size_of(image_)) {}

void Replica::catch_up(engine::DatabaseLog& log) {
  uint64_t to = log.next_lsn();
  if (next_lsn_ < to && log.first_lsn() > next_lsn_)
    throw std::runtime_error("the log no longer holds LSN " + std::to_string(next_lsn_) + " (it starts at " +
                             std::to_string(log.first_lsn()) + ")");
  log.read(next_lsn_, to, [&](const engine::LogRecordHeader& h, const auto& read_pages) {
    if (h.lsn != next_lsn_)
      throw std::runtime_error("record LSN " + std::to_string(h.lsn) + " where " + std::to_string(next_lsn_) +
                               " belongs");
    if (h.page_size != page_size_)
      throw std::runtime_error("record page size " + std::to_string(h.page_size));
    if (h.commit_time_us < last_commit_time_) throw std::runtime_error("commit time went back");
    // The checksum is checked once every page is read: apply only then.
    std::vector<std::pair<uint32_t, std::vector<uint8_t>>> pages;
    read_pages([&](uint32_t pgno, std::span<const uint8_t> image) {
      pages.emplace_back(pgno, std::vector<uint8_t>(image.begin(), image.end()));
    });
    for (const auto& [pgno, image] : pages) {
      if (pgno > h.database_pages) throw std::runtime_error("record page beyond the database size");
      uint64_t at = static_cast<uint64_t>(pgno - 1) * page_size_;
      if (image_.size() < at + page_size_) image_.resize(at + page_size_);
      std::copy(image.begin(), image.end(), image_.begin() + static_cast<ptrdiff_t>(at));
      changed_.insert(pgno);
    }
    uint64_t size = static_cast<uint64_t>(h.database_pages) * page_size_;
    shrinks_ += size < image_.size();
    image_.resize(size);
    largest_ = std::max(largest_, h.page_count);
    generations_.insert(static_cast<uint64_t>(h.wal_salt[0]) << 32 | h.wal_salt[1]);
    last_commit_time_ = h.commit_time_us;
    ++next_lsn_;
  });
  if (next_lsn_ != to) throw std::runtime_error("the log ended at LSN " + std::to_string(next_lsn_ - 1));
}

std::set<uint32_t> pages_in(const engine::PageBitmap& bitmap) {
  std::set<uint32_t> pages;
  for (uint32_t pgno = 1; pgno <= bitmap.size(); ++pgno)
    if (bitmap.test(pgno)) pages.insert(pgno);
  return pages;
}

}  // namespace bakrest::power
