// The simulated disk itself: what is synced always survives a power cut, what is not survives in the ways a
// real disk allows (and, over many cuts, in each of them), and nothing after the cut survives at all.
#include "power/simulated_disk.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/durable_file.h"
#include "common/file_io.h"
#include "common/sqlite.h"
#include "power/power_support.h"
#include "temp_dir.h"

namespace bakrest::power {
namespace {

namespace fs = std::filesystem;

// Enough cuts that every outcome the tests expect turns up whatever the seed: the rarest (one sector
// going back while the other keeps its writes) has a chance of about 1/32 per cut, so it is missed in 1000
// cuts with a chance of about 1e-14. (With 100 cuts it was missed in about 3% of runs.)
constexpr int kCuts = 1000;

std::string text(const fs::path& file) {
  auto bytes = read_file(file);
  return {bytes.begin(), bytes.end()};
}

void write_text(int fd, const std::string& s, off_t offset) {
  ASSERT_EQ(fileio::pwrite(fd, s.data(), s.size(), offset), static_cast<ssize_t>(s.size()));
}

// Materializes the disk kCuts times, each with its own random choices, and returns what fn saw each time.
std::multiset<std::string> outcomes(const SimulatedDisk& disk, const fs::path& scratch,
                                    const std::function<std::string(const fs::path&)>& fn) {
  std::multiset<std::string> seen;
  std::mt19937_64 rng(test_seed());
  fs::create_directories(scratch);
  for (int i = 0; i < kCuts; ++i) {
    fs::path dir = scratch / std::to_string(i);
    disk.materialize(dir, rng);
    seen.insert(fn(dir));
    fs::remove_all(dir);
  }
  return seen;
}

TEST(SimulatedDisk, SyncedWritesSurviveAndUnsyncedOnesMayNot) {
  testing::TempDir dir(scratch_base());
  fs::create_directory(dir.path() / "root");
  {
    int fd = ::open((dir.path() / "root" / "f").c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_EQ(::write(fd, "old", 3), 3);  // there before the disk: durable
    ::close(fd);
  }
  SimulatedDisk disk(dir.path() / "root");
  int fd = fileio::open((dir.path() / "root" / "f").c_str(), O_WRONLY, 0);
  write_text(fd, "synced", 0);
  ASSERT_EQ(fileio::fsync(fd), 0);
  write_text(fd, "SYNC", 0);  // overwrites in the first sector, not synced
  disk.cut_now();
  EXPECT_EQ(fileio::pwrite(fd, "late", 4, 0), -1) << "the power is off";
  EXPECT_EQ(errno, EIO);
  fileio::close(fd);
  auto seen = outcomes(disk, dir.path() / "cuts", [](const fs::path& d) { return text(d / "f"); });
  std::set<std::string> distinct(seen.begin(), seen.end());
  // Within one sector a write survives whole or not at all here; "late" never.
  EXPECT_EQ(distinct, (std::set<std::string>{"synced", "SYNCed"}));
}

TEST(SimulatedDisk, ASectorKeepsAPrefixOfItsWrites) {
  testing::TempDir dir(scratch_base());
  fs::create_directory(dir.path() / "root");
  SimulatedDisk disk(dir.path() / "root");
  int fd = fileio::open((dir.path() / "root" / "f").c_str(), O_CREAT | O_RDWR, 0600);
  write_text(fd, std::string(1024, '.'), 0);
  ASSERT_EQ(fileio::fsync(fd), 0);
  fsync_directory(dir.path() / "root");
  write_text(fd, std::string(100, 'A'), 0);    // sector 0
  write_text(fd, std::string(100, 'B'), 50);   // sector 0 again, over half of A
  write_text(fd, std::string(600, 'C'), 400);  // sectors 0 and 1
  fileio::close(fd);
  disk.cut_now();
  auto seen = outcomes(disk, dir.path() / "cuts", [](const fs::path& d) { return text(d / "f"); });
  std::string durable(1024, '.');
  std::string a = durable, ab, abc;
  a.replace(0, 100, 100, 'A');
  ab = a;
  ab.replace(50, 100, 100, 'B');
  abc = ab;
  abc.replace(400, 600, 600, 'C');
  std::set<std::string> sector0{durable.substr(0, 512), a.substr(0, 512), ab.substr(0, 512),
                                abc.substr(0, 512)};
  std::set<std::string> sector1{durable.substr(512), abc.substr(512)};
  std::set<std::string> seen0, seen1;
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), 1024u);
    EXPECT_TRUE(sector0.count(s.substr(0, 512))) << "sector 0 lost an earlier write but kept a later one";
    EXPECT_TRUE(sector1.count(s.substr(512)));
    seen0.insert(s.substr(0, 512));
    seen1.insert(s.substr(512));
  }
  EXPECT_EQ(seen0, sector0) << "every prefix of sector 0's writes should turn up";
  EXPECT_EQ(seen1, sector1);
  // Sectors go back independently: sector 1 with C while sector 0 lacks it, too.
  EXPECT_TRUE(seen.count(durable.substr(0, 512) + abc.substr(512)) > 0);
}

TEST(SimulatedDisk, NamesAreDurableOnlyOnceTheirDirectoryIsSynced) {
  testing::TempDir dir(scratch_base());
  fs::create_directory(dir.path() / "root");
  SimulatedDisk disk(dir.path() / "root");
  fs::path root = dir.path() / "root";
  auto make = [&](const std::string& name, bool sync_data) {
    int fd = fileio::open((root / name).c_str(), O_CREAT | O_WRONLY, 0600);
    write_text(fd, name, 0);
    if (sync_data) {
      ASSERT_EQ(fileio::fsync(fd), 0);
    }
    fileio::close(fd);
  };
  make("kept", true);
  fsync_directory(root);
  make("maybe", true);
  make("replacement", true);
  ASSERT_EQ(fileio::rename((root / "replacement").c_str(), (root / "kept").c_str()), 0);
  disk.cut_now();
  auto seen = outcomes(disk, dir.path() / "cuts", [](const fs::path& d) {
    std::string names;
    for (const char* n : {"kept", "maybe", "replacement"})
      if (fs::exists(d / n)) names += std::string(n) + "=" + text(d / n) + " ";
    return names;
  });
  std::set<std::string> distinct(seen.begin(), seen.end());
  // The rename within one directory is atomic, and changes survive in order.
  EXPECT_EQ(distinct, (std::set<std::string>{"kept=kept ", "kept=kept maybe=maybe ",
                                             "kept=kept maybe=maybe replacement=replacement ",
                                             "kept=replacement maybe=maybe "}));
  EXPECT_TRUE(disk.untracked().empty());
}

// Through the simulated VFS: with synchronous=FULL SQLite's commits survive every cut; with synchronous=OFF
// (no syncs) some cuts lose them — so the disk does see SQLite's syncs.
TEST(SimulatedDisk, SqliteCommitsSurviveOnlyWhenSynced) {
  for (const char* synchronous : {"FULL", "OFF"}) {
    SCOPED_TRACE(synchronous);
    testing::TempDir dir(scratch_base());
    fs::create_directory(dir.path() / "root");
    fs::path file = dir.path() / "root" / "d.db";
    {
      sqlite::Database db(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      db.exec("PRAGMA journal_mode=WAL; CREATE TABLE t (x)");
    }
    SimulatedDisk disk(dir.path() / "root");
    {
      sqlite::Database db(file, SQLITE_OPEN_READWRITE);
      db.exec(std::string("PRAGMA synchronous=") + synchronous);
      for (int i = 1; i <= 5; ++i) db.prepare("INSERT INTO t VALUES (?)").bind(1, i).run();
      disk.cut_now();
    }
    auto seen = outcomes(disk, dir.path() / "cuts", [](const fs::path& d) {
      sqlite::Database db(d / "d.db", SQLITE_OPEN_READWRITE);
      sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);  // no real fsyncs
      auto s = db.prepare("SELECT count(*) FROM t");
      s.step();
      return std::to_string(s.get_int(0));
    });
    if (std::string(synchronous) == "FULL") {
      EXPECT_EQ(seen.count("5"), seen.size());
    } else {
      EXPECT_LT(seen.count("5"), seen.size());
    }
  }
}

}  // namespace
}  // namespace bakrest::power
