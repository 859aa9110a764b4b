// A disk that loses power, for the power-loss tests (DESIGN.md §2, tests/power/).
//
// SIGKILL keeps the kernel's page cache, so a test that kills a process cannot tell a missing fsync from a
// present one. This disk can: it sits under everything bakrest writes below one directory (the durable
// paths through common/file_io.h, SQLite's files through the simulated VFS, simulated_vfs.h) and keeps,
// besides the real files the code under test reads and writes as usual, the state a real disk would have
// after losing power:
//   - per file, its durable image and the writes (and truncations) made since its last fsync/fdatasync;
//   - per directory, its durable entries and the creations, renames, links and removals made in it since
//     its last fsync. A new name is durable only once its directory is fsynced, as POSIX has it; a rename
//     within one directory is one change, a rename between two directories one change in each.
// At a power cut — just before the n-th mutating operation, chosen by the test — that state is frozen: the
// operation and every later one fail with EIO. materialize() then writes what survived into a fresh
// directory the way disks fail. Writeback goes sector by sector in no particular order, and a sector
// written back holds every earlier write to it, so per file its unsynced writes are: all dropped, all kept,
// a prefix kept whose last write is torn at 512-byte sectors, or (writes reordered) each sector with a
// prefix of the writes made to it. An extension whose data was lost may read as zeros (the size reached the
// disk first). Per directory, its unsynced changes are all dropped, all kept, or a prefix kept. Synced data
// and synced entries always survive.
//
// Real syncs are not made while a disk lives (the disk itself decides what is durable), so tests run at
// memory speed. SQLite's -shm files are not tracked and do not survive: SQLite rebuilds them.
//
// Thread safety: every method may be called from any thread; the disk serializes them. Operation numbers
// are deterministic only for single-threaded code under test.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/file_io.h"

namespace bakrest::power {

class SimulatedDisk final : public fileio::FileSystem {
 public:
  // Tracks root (an existing directory) and everything under it; what is there now counts as durable. While
  // the disk lives it is installed as the file_io.h FileSystem and as the simulated VFS's disk. One disk at a
  // time; destroy it only after the code under test closed its files.
  explicit SimulatedDisk(std::filesystem::path root);
  ~SimulatedDisk() override;
  SimulatedDisk(const SimulatedDisk&) = delete;
  SimulatedDisk& operator=(const SimulatedDisk&) = delete;

  const std::filesystem::path& root() const { return root_; }

  // The power fails just before the n-th mutating operation (write, truncate, sync, create, rename, link,
  // remove) from now; n >= 1.
  void cut_before(uint64_t n);
  void cut_now();
  bool is_cut() const;
  // Mutating operations under root so far.
  uint64_t operations() const;

  // What materialize() did with the unsynced changes.
  struct Outcome {
    int files_with_unsynced_writes = 0;
    int writes_dropped = 0;
    int writes_torn = 0;
    int directories_with_unsynced_entries = 0;
    int entry_changes_dropped = 0;
  };
  // Writes what survived the cut (the disk's state at the cut, or now if there was none) into dir, which must
  // not exist, choosing with rng. Files keep their names relative to root; names that are hard links to one
  // file stay hard links.
  Outcome materialize(const std::filesystem::path& dir, std::mt19937_64& rng) const;

  // Files and directories under root that appeared or changed behind the disk's back (not through
  // file_io.h or the simulated VFS): the disk cannot know what of them would survive. Tests expect none.
  // Removals behind its back are fine: they are durable once their directory is fsynced, like any other.
  std::vector<std::string> untracked() const;

  // --- fileio::FileSystem -----------------------------------------------------------------------------
  int open(const char* path, int flags, mode_t mode) override;
  int close(int fd) override;
  ssize_t read(int fd, void* buffer, size_t size) override;
  ssize_t pread(int fd, void* buffer, size_t size, off_t offset) override;
  ssize_t write(int fd, const void* data, size_t size) override;
  ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) override;
  int fsync(int fd) override;
  int fdatasync(int fd) override;
  int ftruncate(int fd, off_t size) override;
  int rename(const char* from, const char* to) override;
  int link(const char* from, const char* to) override;
  int unlink(const char* path) override;
  int mkdir(const char* path, mode_t mode) override;
  int rmdir(const char* path) override;

  // --- for simulated_vfs.cc -----------------------------------------------------------------------------
  // The disk SQLite's files report to, if any, and a number telling it from every other disk of the process.
  static SimulatedDisk* active();
  uint64_t serial() const { return serial_; }
  // SQLite's file operations. `real` runs the default VFS's call and returns whether it succeeded; each of
  // these runs it unless the power has failed (then they return false without running it) and records what
  // it did. A tracked file is known by the id opened() returned (0: not under root; SQLite's temporary files
  // and -shm files are not tracked).
  struct Opened {
    bool ok = false;
    uint64_t id = 0;
    bool created = false;
  };
  Opened sqlite_open(const char* path, bool may_create, const std::function<bool()>& real);
  // The id of a file SQLite opened before this disk existed.
  uint64_t sqlite_resolve(const std::string& path);
  bool sqlite_write(uint64_t id, const void* data, int amount, int64_t offset,
                    const std::function<bool()>& real);
  bool sqlite_truncate(uint64_t id, int64_t size, const std::function<bool()>& real);
  // No real sync is made. sync_directory: SQLite's unix VFS also fsyncs the directory at the first sync of a
  // journal or WAL it created (so that the new file's name is durable); the VFS asks for that here.
  bool sqlite_sync(uint64_t id, const std::string& path, bool sync_directory);
  bool sqlite_delete(const char* path, bool sync_directory, const std::function<bool()>& real);

 private:
  struct FileChange {
    bool truncate = false;
    uint64_t offset = 0;  // the new size for a truncation
    std::vector<uint8_t> bytes;
  };
  // One atomic change of a directory: names set to a node (or removed: node 0).
  using EntryChange = std::vector<std::pair<std::string, uint64_t>>;
  struct Node {
    bool directory = false;
    std::string path;                          // where it was last seen, for messages
    std::vector<uint8_t> durable;              // a file's durable image
    std::vector<FileChange> pending;           // a file's changes since its last sync
    std::map<std::string, uint64_t> entries;   // a directory's durable entries
    std::vector<EntryChange> pending_entries;  // a directory's changes since its last fsync
  };
  struct OpenFile {
    uint64_t node;
    std::string path;
  };
  using InodeKey = std::pair<dev_t, ino_t>;

  bool under_root(const std::filesystem::path& path) const;
  static bool ignored_name(const std::string& name);
  // Counts a mutating operation; false if the power has failed (errno is then EIO).
  bool begin_mutation();
  uint64_t new_node(bool directory, const std::string& path);
  // The node of an existing path (registering it as untracked if the disk never saw it), 0 if there is none.
  uint64_t node_of(const std::filesystem::path& path);
  uint64_t register_untracked(const std::filesystem::path& path, const struct stat& st);
  void add_entry_change(const std::filesystem::path& dir, EntryChange change);
  void sync_file(uint64_t id, const std::string& path);
  void sync_directory(uint64_t id, const std::filesystem::path& path);
  void scan(const std::filesystem::path& dir, uint64_t id);
  static void apply(std::vector<uint8_t>& image, const FileChange& change);

  std::filesystem::path root_;
  uint64_t serial_;
  mutable std::mutex mutex_;
  std::map<uint64_t, Node> nodes_;
  std::map<InodeKey, uint64_t> by_inode_;
  std::map<int, OpenFile> open_files_;
  uint64_t root_node_ = 0;
  uint64_t next_node_ = 1;
  uint64_t operations_ = 0;
  std::optional<uint64_t> cut_at_;
  bool cut_ = false;
  std::vector<std::string> untracked_;
  std::optional<fileio::ScopedFileSystem> installed_;  // last: installed once everything else is ready
};

}  // namespace bakrest::power
