// What the power-loss tests and the transaction log's unit tests share: seeds, files, database images, and a
// replica that rebuilds a database from its transaction log alone (the oracle of docs/LOG.md: replaying the
// log equals the database).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "engine/database_log.h"

namespace bakrest::power {

// A random seed per run, or BAKREST_TEST_SEED's to repeat one.
uint64_t test_seed();
// "seed N (repeat with BAKREST_TEST_SEED=N)".
std::string seed_note(uint64_t seed);
// How many rounds a test runs: its default times BAKREST_POWER_SCALE (default 1; more for a long soak).
int scaled(int rounds);

// Where the power-loss tests make their temporary directories: $TMPDIR if set, else /dev/shm when it has
// room (they create and remove many small files, which tmpfs does far faster), else the system's.
std::filesystem::path scratch_base();

std::vector<uint8_t> read_file(const std::filesystem::path& path);
// Copies a directory tree (files and subdirectories) to a new place.
void copy_tree(const std::filesystem::path& from, const std::filesystem::path& to);

// The database as SQLite sees it (sqlite3_serialize).
std::vector<uint8_t> serialize(sqlite::Database& db);
// Empty if the images are equal, otherwise where they first differ.
std::string compare_images(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Creates file with the page size, runs setup in rollback-journal mode (so the file holds the result) and
// switches it to WAL. Returns the file's bytes: the image the whole log replays over.
std::vector<uint8_t> create_database_image(const std::filesystem::path& file, uint32_t page_size,
                                           const std::string& setup);

// A connection the way the engine opens database files: through the capture VFS, with the engine's settings.
sqlite::Database open_database(const std::filesystem::path& file, int cache_pages = 0);

// A database image rebuilt from log records alone, record by record: each one's page images written, then
// the image cut or grown to its database size. Checks that LSNs run on by one and commit times never go back.
class Replica {
 public:
  explicit Replica(std::vector<uint8_t> base);
  // Applies every record of log from next_lsn() on. Throws if the log no longer holds next_lsn(), skips an
  // LSN, or a record fails its checksum.
  void catch_up(engine::DatabaseLog& log);
  uint64_t next_lsn() const { return next_lsn_; }
  const std::vector<uint8_t>& image() const { return image_; }
  // Every page any applied record wrote.
  const std::set<uint32_t>& changed() const { return changed_; }
  // What the records covered: the most pages one held, how many shrank the database, and how many WAL
  // generations (restarts + 1) they came from.
  uint32_t largest() const { return largest_; }
  int shrinks() const { return shrinks_; }
  size_t generations() const { return generations_.size(); }

 private:
  std::vector<uint8_t> image_;
  uint32_t page_size_;
  uint64_t next_lsn_ = 1;
  int64_t last_commit_time_ = 0;
  std::set<uint32_t> changed_;
  uint32_t largest_ = 0;
  int shrinks_ = 0;
  std::set<uint64_t> generations_;
};

std::set<uint32_t> pages_in(const engine::PageBitmap& bitmap);

}  // namespace bakrest::power
