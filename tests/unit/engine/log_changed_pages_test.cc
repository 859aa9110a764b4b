// ChangedPages: the bitmap of pages changed since the differential base, its generations and its file.
#include "engine/changed_pages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <vector>

#include "temp_dir.h"

namespace bakrest::engine {
namespace {

namespace fs = std::filesystem;

Guid guid_of(uint8_t b) {
  Guid g{};
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<uint8_t>(b + i);
  return g;
}

std::set<uint32_t> pages_in(const PageBitmap& bitmap) {
  std::set<uint32_t> pages;
  for (uint32_t pgno = 1; pgno <= bitmap.size(); ++pgno)
    if (bitmap.test(pgno)) pages.insert(pgno);
  EXPECT_EQ(bitmap.count(), pages.size());
  return pages;
}

void mark(ChangedPages& changed, uint64_t lsn, std::vector<uint32_t> pages) { changed.mark(lsn, pages); }

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

TEST(PageBitmap, SetsTestsAndGrows) {
  PageBitmap b;
  EXPECT_FALSE(b.test(1));
  EXPECT_FALSE(b.test(100000));
  for (uint32_t p : {1u, 64u, 65u, 1000u, 70000u}) b.set(p);
  EXPECT_EQ(pages_in(b), (std::set<uint32_t>{1, 64, 65, 1000, 70000}));
  EXPECT_GE(b.size(), 70000u);
}

TEST(ChangedPages, PersistRoundTrip) {
  testing::TempDir dir;
  fs::path file = dir.path() / "changed-pages";
  {
    ChangedPages changed(file);
    EXPECT_FALSE(changed.base());
    EXPECT_EQ(changed.covered_lsn(), 0u);
    mark(changed, 1, {1, 2, 3});
    mark(changed, 2, {200, 3});
    changed.persist();
    mark(changed, 3, {5000});  // not persisted
  }
  {
    ChangedPages changed(file);
    EXPECT_FALSE(changed.base());
    EXPECT_EQ(changed.covered_lsn(), 2u);
    EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{1, 2, 3, 200}));
    // Records the file already covers are not marked twice; a restart marks the rest again.
    mark(changed, 2, {77});
    mark(changed, 3, {5000});
    EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{1, 2, 3, 200, 5000}));
    auto handle = changed.begin_generation(3);
    mark(changed, 4, {9, 10});
    changed.finish_generation(handle, guid_of(40));  // persists
  }
  ChangedPages changed(file);
  ASSERT_TRUE(changed.base());
  EXPECT_EQ(changed.base()->lsn, 3u);
  EXPECT_EQ(changed.base()->backup_id, guid_of(40));
  EXPECT_EQ(changed.covered_lsn(), 4u);
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{9, 10}));
}

TEST(ChangedPages, FailedFullBackupLeavesTheBase) {
  testing::TempDir dir;
  ChangedPages changed(dir.path() / "changed-pages");
  mark(changed, 1, {1});
  auto first = changed.begin_generation(1);
  mark(changed, 2, {2});
  changed.finish_generation(first, guid_of(1));
  ASSERT_TRUE(changed.base());

  auto failed = changed.begin_generation(2);
  mark(changed, 3, {3});
  mark(changed, 4, {4});
  changed.finish_generation(failed, std::nullopt);
  EXPECT_EQ(changed.base()->lsn, 1u);
  EXPECT_EQ(changed.base()->backup_id, guid_of(1));
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{2, 3, 4}));
  changed.finish_generation(failed, guid_of(9));  // a finished handle means nothing any more
  EXPECT_EQ(changed.base()->lsn, 1u);

  // Without any base a failure leaves none.
  testing::TempDir other;
  ChangedPages fresh(other.path() / "changed-pages");
  mark(fresh, 1, {1});
  auto handle = fresh.begin_generation(1);
  mark(fresh, 2, {2});
  fresh.finish_generation(handle, std::nullopt);
  EXPECT_FALSE(fresh.base());
  EXPECT_EQ(pages_in(fresh.since_base()), (std::set<uint32_t>{1, 2}));
}

TEST(ChangedPages, SuccessAdoptsTheGenerationsPages) {
  testing::TempDir dir;
  fs::path file = dir.path() / "changed-pages";
  ChangedPages changed(file);
  mark(changed, 1, {1, 2});
  auto handle = changed.begin_generation(1);
  mark(changed, 2, {7});
  mark(changed, 3, {8, 1});
  changed.finish_generation(handle, guid_of(5));
  ASSERT_TRUE(changed.base());
  EXPECT_EQ(changed.base()->lsn, 1u);
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{1, 7, 8}));
  mark(changed, 4, {12});
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{1, 7, 8, 12}));
  // The base was made durable when it was adopted.
  ChangedPages reloaded(file);
  ASSERT_TRUE(reloaded.base());
  EXPECT_EQ(reloaded.base()->backup_id, guid_of(5));
  EXPECT_EQ(pages_in(reloaded.since_base()), (std::set<uint32_t>{1, 7, 8}));
}

TEST(ChangedPages, OlderFullBackupFinishingLaterKeepsTheNewerBase) {
  testing::TempDir dir;
  ChangedPages changed(dir.path() / "changed-pages");
  mark(changed, 10, {1});
  auto older = changed.begin_generation(10);
  mark(changed, 11, {2});
  mark(changed, 20, {3});
  auto newer = changed.begin_generation(20);
  mark(changed, 21, {4});
  changed.finish_generation(newer, guid_of(2));
  EXPECT_EQ(changed.base()->lsn, 20u);
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{4}));
  changed.finish_generation(older, guid_of(1));
  EXPECT_EQ(changed.base()->lsn, 20u);
  EXPECT_EQ(changed.base()->backup_id, guid_of(2));
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{4}));

  // The other order: each success moves the base forward.
  testing::TempDir other;
  ChangedPages in_order(other.path() / "changed-pages");
  mark(in_order, 1, {1});
  auto a = in_order.begin_generation(1);
  mark(in_order, 2, {2});
  auto b = in_order.begin_generation(2);
  mark(in_order, 3, {3});
  in_order.finish_generation(a, guid_of(1));
  EXPECT_EQ(in_order.base()->lsn, 1u);
  EXPECT_EQ(pages_in(in_order.since_base()), (std::set<uint32_t>{2, 3}));
  in_order.finish_generation(b, guid_of(2));
  EXPECT_EQ(in_order.base()->lsn, 2u);
  EXPECT_EQ(pages_in(in_order.since_base()), (std::set<uint32_t>{3}));
}

TEST(ChangedPages, DamagedFileIsTreatedAsMissing) {
  testing::TempDir dir;
  fs::path file = dir.path() / "changed-pages";
  {
    ChangedPages changed(file);
    mark(changed, 1, {1, 300});
    auto handle = changed.begin_generation(1);
    mark(changed, 2, {2, 4000});
    changed.finish_generation(handle, guid_of(3));
  }
  const std::vector<uint8_t> intact = read_file(file);
  ASSERT_GT(intact.size(), 64u);
  auto expect_missing = [&](const std::vector<uint8_t>& bytes, const std::string& what) {
    SCOPED_TRACE(what);
    write_file(file, bytes);
    ChangedPages changed(file);
    EXPECT_FALSE(changed.base());
    EXPECT_EQ(changed.covered_lsn(), 0u);
    EXPECT_EQ(changed.since_base().count(), 0u);
  };
  for (size_t at = 0; at < intact.size(); ++at) {
    auto bytes = intact;
    bytes[at] ^= 0x04;
    expect_missing(bytes, "byte flipped at " + std::to_string(at));
  }
  for (size_t size : {size_t{0}, size_t{7}, size_t{63}, intact.size() - 8, intact.size() - 1}) {
    expect_missing(std::vector<uint8_t>(intact.begin(), intact.begin() + static_cast<ptrdiff_t>(size)),
                   "cut to " + std::to_string(size));
  }
  auto longer = intact;
  longer.push_back(0);
  expect_missing(longer, "a byte too many");

  // The next persist writes a good file again.
  write_file(file, {1, 2, 3});
  {
    ChangedPages changed(file);
    mark(changed, 5, {6});
    changed.persist();
  }
  ChangedPages changed(file);
  EXPECT_EQ(changed.covered_lsn(), 5u);
  EXPECT_EQ(pages_in(changed.since_base()), (std::set<uint32_t>{6}));
}

// A full backup that succeeded is the base even when the changed-page file cannot be written at that moment
// (by then the backup is safe and recorded): the next persist writes it.
TEST(ChangedPages, SucceededBackupIsTheBaseEvenIfTheFileCannotBeWrittenYet) {
  testing::TempDir dir;
  fs::path file = dir.path() / "log" / "changed-pages";  // its directory is missing: writing fails
  ChangedPages changed(file);
  mark(changed, 1, {1});
  auto handle = changed.begin_generation(1);
  mark(changed, 2, {2});
  EXPECT_NO_THROW(changed.finish_generation(handle, guid_of(7)));
  ASSERT_TRUE(changed.base());
  EXPECT_EQ(changed.base()->backup_id, guid_of(7));
  fs::create_directory(dir.path() / "log");
  changed.persist();
  ChangedPages reloaded(file);
  ASSERT_TRUE(reloaded.base());
  EXPECT_EQ(reloaded.base()->backup_id, guid_of(7));
  EXPECT_EQ(pages_in(reloaded.since_base()), (std::set<uint32_t>{2}));
}

}  // namespace
}  // namespace bakrest::engine
