// The scan VFS (engine/scan_vfs.h): reads served from its windows are the file's bytes wherever they fall,
// past the end SQLite gets its short read, and the restore check still finds damage far into a file.
#include "engine/scan_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <vector>

#include "common/sqlite.h"
#include "engine/integrity.h"
#include "temp_dir.h"

namespace bakrest::engine {
namespace {

constexpr int kPage = 4096;

// A database of about 6 MiB (more windows than a file keeps) of incompressible rows.
std::filesystem::path make_database(const std::filesystem::path& dir) {
  auto file = dir / "scan.db";
  sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec("PRAGMA page_size = " + std::to_string(kPage) +
          "; CREATE TABLE t (id INTEGER PRIMARY KEY, "
          "b BLOB NOT NULL); CREATE INDEX t_b ON t (b)");
  db.exec("BEGIN");
  std::mt19937 random(7);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> blob(1000 + random() % 1000);
    for (auto& byte : blob) byte = static_cast<uint8_t>(random());
    db.prepare("INSERT INTO t (b) VALUES (?)").bind(1, std::span<const uint8_t>(blob)).run();
  }
  db.exec("COMMIT");
  return file;
}

std::vector<uint8_t> file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file opened through the scan VFS as SQLite would open a main database read-only.
class ScanFile {
 public:
  explicit ScanFile(const std::filesystem::path& file)
      : vfs_(sqlite3_vfs_find(scan_vfs_name())), storage_(static_cast<size_t>(vfs_->szOsFile)) {
    int out = 0;
    path_ = file.string();
    rc_ = vfs_->xOpen(vfs_, path_.c_str(), f(), SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READONLY, &out);
  }
  ~ScanFile() {
    if (f()->pMethods) f()->pMethods->xClose(f());
  }
  int open_rc() const { return rc_; }
  sqlite3_file* f() { return reinterpret_cast<sqlite3_file*>(storage_.data()); }
  int read(std::vector<uint8_t>& out, int64_t offset) {
    return f()->pMethods->xRead(f(), out.data(), static_cast<int>(out.size()), offset);
  }

 private:
  sqlite3_vfs* vfs_;
  std::string path_;
  std::vector<uint64_t> storage_;  // 8-byte aligned, as SQLite allocates file objects
  int rc_ = SQLITE_ERROR;
};

TEST(ScanVfs, ReadsAreTheFilesBytesWhereverTheyFall) {
  testing::TempDir dir;
  auto file = make_database(dir.path());
  std::vector<uint8_t> bytes = file_bytes(file);
  const int64_t size = static_cast<int64_t>(bytes.size());
  ASSERT_GT(size, static_cast<int64_t>((kScanWindows + 1) * kScanWindowBytes));
  ScanFile scan(file);
  ASSERT_EQ(scan.open_rc(), SQLITE_OK);

  auto expect_read = [&](int64_t offset, int amount) {
    std::vector<uint8_t> got(static_cast<size_t>(amount), 0xAA);
    ASSERT_EQ(scan.read(got, offset), SQLITE_OK) << offset;
    ASSERT_TRUE(std::equal(got.begin(), got.end(), bytes.begin() + offset)) << "at " << offset;
  };
  expect_read(0, 100);  // SQLite's header
  for (int64_t offset = 0; offset < size; offset += kPage) expect_read(offset, kPage);
  // Pages in a random order: windows are refilled as others are evicted.
  std::vector<int64_t> pages;
  for (int64_t offset = 0; offset < size; offset += kPage) pages.push_back(offset);
  std::shuffle(pages.begin(), pages.end(), std::mt19937(3));
  for (int64_t offset : pages) expect_read(offset, kPage);
  // Across two windows, and the last bytes of the file.
  expect_read(static_cast<int64_t>(kScanWindowBytes) - 100, 200);
  expect_read(size - 7, 7);

  // Past the end: what is there, then zeros, and SQLite's short-read answer.
  std::vector<uint8_t> tail(kPage, 0xAA);
  EXPECT_EQ(scan.read(tail, size - 100), SQLITE_IOERR_SHORT_READ);
  EXPECT_TRUE(std::equal(tail.begin(), tail.begin() + 100, bytes.end() - 100));
  EXPECT_TRUE(std::all_of(tail.begin() + 100, tail.end(), [](uint8_t b) { return b == 0; }));

  // Windows cannot see writes.
  EXPECT_EQ(scan.f()->pMethods->xWrite(scan.f(), tail.data(), kPage, 0), SQLITE_READONLY);
  EXPECT_EQ(scan.f()->pMethods->xTruncate(scan.f(), kPage), SQLITE_READONLY);
}

TEST(ScanVfs, QueriesSeeTheSameRowsAsTheDefaultVfs) {
  testing::TempDir dir;
  auto file = make_database(dir.path());
  auto rows = [&](const char* vfs) {
    sqlite::Database db(sqlite::file_uri(file, "immutable=1"), SQLITE_OPEN_READONLY, vfs);
    auto q = db.prepare("SELECT count(*), sum(length(b)), sum(unicode(b)) FROM t");
    q.step();
    return std::vector<int64_t>{q.get_int(0), q.get_int(1), q.get_int(2)};
  };
  EXPECT_EQ(rows(scan_vfs_name()), rows(nullptr));
  EXPECT_EQ(rows(scan_vfs_name())[0], 3000);
}

TEST(ScanVfs, AFileOpenedForWritingGoesStraightToTheDefaultVfs) {
  testing::TempDir dir;
  auto file = make_database(dir.path());
  {
    sqlite::Database db(file, SQLITE_OPEN_READWRITE, scan_vfs_name());
    db.exec("DELETE FROM t WHERE id > 10");
  }
  sqlite::Database db(file, SQLITE_OPEN_READONLY);
  auto q = db.prepare("SELECT count(*) FROM t");
  q.step();
  EXPECT_EQ(q.get_int(0), 10);
}

TEST(ScanVfs, TheRestoreCheckFindsDamageFarIntoTheFile) {
  testing::TempDir dir;
  auto file = make_database(dir.path());
  EXPECT_TRUE(quick_check(file).empty());
  // Garbage over a page beyond the first windows.
  std::vector<uint8_t> bytes = file_bytes(file);
  const size_t page = bytes.size() / kPage - 3;
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(page * kPage), kPage, 0x5A);
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_FALSE(quick_check(file).empty());
}

}  // namespace
}  // namespace bakrest::engine
