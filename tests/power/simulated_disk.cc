#include "power/simulated_disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

namespace bakrest::power {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSector = 512;

std::atomic<SimulatedDisk*> g_active{nullptr};
std::atomic<uint64_t> g_serial{0};

std::vector<uint8_t> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("simulated disk: cannot read " + path.string());
  std::vector<uint8_t> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error("simulated disk: cannot read " + path.string());
  return bytes;
}

void write_whole(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("simulated disk: cannot write " + path.string());
}

fs::path normal(const char* path) { return fs::absolute(path).lexically_normal(); }

size_t pick(std::mt19937_64& rng, std::initializer_list<double> weights) {
  return std::discrete_distribution<size_t>(weights)(rng);
}

}  // namespace

SimulatedDisk::SimulatedDisk(fs::path root)
    : root_(fs::weakly_canonical(fs::absolute(root))), serial_(++g_serial) {
  struct stat st {};
  if (::lstat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::invalid_argument("simulated disk: " + root_.string() + " is not a directory");
  {
    std::lock_guard lock(mutex_);
    root_node_ = new_node(true, root_);
    by_inode_[{st.st_dev, st.st_ino}] = root_node_;
    scan(root_, root_node_);
  }
  SimulatedDisk* none = nullptr;
  if (!g_active.compare_exchange_strong(none, this))
    throw std::logic_error("simulated disk: only one may exist at a time");
  installed_.emplace(*this);
}

SimulatedDisk::~SimulatedDisk() {
  installed_.reset();
  g_active.store(nullptr);
}

SimulatedDisk* SimulatedDisk::active() { return g_active.load(); }

void SimulatedDisk::scan(const fs::path& dir, uint64_t id) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (ignored_name(name)) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) continue;
    InodeKey key{st.st_dev, st.st_ino};
    if (S_ISDIR(st.st_mode)) {
      uint64_t child = new_node(true, entry.path());
      by_inode_[key] = child;
      nodes_.at(id).entries[name] = child;
      scan(entry.path(), child);
    } else if (S_ISREG(st.st_mode)) {
      auto it = by_inode_.find(key);  // another name of a file seen already (a hard link)
      uint64_t child = it != by_inode_.end() ? it->second : new_node(false, entry.path());
      if (it == by_inode_.end()) {
        by_inode_[key] = child;
        nodes_.at(child).durable = read_whole(entry.path());
      }
      nodes_.at(id).entries[name] = child;
    }
  }
}

bool SimulatedDisk::under_root(const fs::path& path) const {
  fs::path relative = path.lexically_relative(root_);
  return !relative.empty() && *relative.begin() != "..";
}

// SQLite rebuilds a -shm file whenever it finds it unusable; it is shared memory, not data.
bool SimulatedDisk::ignored_name(const std::string& name) { return name.ends_with("-shm"); }

bool SimulatedDisk::begin_mutation() {
  if (!cut_) {
    ++operations_;
    if (!cut_at_ || operations_ < *cut_at_) return true;
    cut_ = true;
  }
  errno = EIO;
  return false;
}

void SimulatedDisk::cut_before(uint64_t n) {
  std::lock_guard lock(mutex_);
  cut_at_ = operations_ + std::max<uint64_t>(n, 1);
}

void SimulatedDisk::cut_now() {
  std::lock_guard lock(mutex_);
  cut_ = true;
}

bool SimulatedDisk::is_cut() const {
  std::lock_guard lock(mutex_);
  return cut_;
}

uint64_t SimulatedDisk::operations() const {
  std::lock_guard lock(mutex_);
  return operations_;
}

std::vector<std::string> SimulatedDisk::untracked() const {
  std::lock_guard lock(mutex_);
  return untracked_;
}

uint64_t SimulatedDisk::new_node(bool directory, const std::string& path) {
  uint64_t id = next_node_++;
  Node& node = nodes_[id];
  node.directory = directory;
  node.path = path;
  return id;
}

uint64_t SimulatedDisk::node_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  auto it = by_inode_.find({st.st_dev, st.st_ino});
  if (it == by_inode_.end()) return register_untracked(path, st);
  nodes_.at(it->second).path = path;
  return it->second;
}

uint64_t SimulatedDisk::register_untracked(const fs::path& path, const struct stat& st) {
  untracked_.push_back(path.string() + " appeared without the disk seeing it being made");
  uint64_t id = new_node(S_ISDIR(st.st_mode), path);
  by_inode_[{st.st_dev, st.st_ino}] = id;
  // Whatever it holds is not known to be durable.
  if (S_ISREG(st.st_mode)) nodes_.at(id).pending.push_back({false, 0, read_whole(path)});
  return id;
}

void SimulatedDisk::add_entry_change(const fs::path& dir, EntryChange change) {
  if (uint64_t id = node_of(dir)) nodes_.at(id).pending_entries.push_back(std::move(change));
}

void SimulatedDisk::apply(std::vector<uint8_t>& image, const FileChange& change) {
  if (change.truncate) {
    image.resize(change.offset);
    return;
  }
  uint64_t end = change.offset + change.bytes.size();
  if (image.size() < end) image.resize(end);
  std::copy(change.bytes.begin(), change.bytes.end(), image.begin() + static_cast<ptrdiff_t>(change.offset));
}

void SimulatedDisk::sync_file(uint64_t id, const std::string& path) {
  Node& node = nodes_.at(id);
  for (const auto& change : node.pending) apply(node.durable, change);
  node.pending.clear();
  // A size that differs from what the disk saw written means a write behind its back.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) != node.durable.size()) {
    untracked_.push_back(path + " is " + std::to_string(st.st_size) + " bytes; the disk saw " +
                         std::to_string(node.durable.size()) + " written");
  }
}

void SimulatedDisk::sync_directory(uint64_t id, const fs::path& path) {
  // A directory's fsync makes its entries as they are now durable.
  std::map<std::string, uint64_t> now;
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (ignored_name(name)) continue;
    if (uint64_t child = node_of(it->path())) now[name] = child;
  }
  Node& node = nodes_.at(id);
  // What the disk expected from the changes it saw; a name it did not expect was made behind its back.
  std::map<std::string, uint64_t> expected = node.entries;
  for (const auto& change : node.pending_entries) {
    for (const auto& [name, child] : change) {
      if (child) {
        expected[name] = child;
      } else {
        expected.erase(name);
      }
    }
  }
  for (const auto& [name, child] : now) {
    auto it = expected.find(name);
    if (it == expected.end() || it->second != child)
      untracked_.push_back((path / name).string() + " was named behind the disk's back");
  }
  node.entries = std::move(now);
  node.pending_entries.clear();
}

// --- fileio::FileSystem ---------------------------------------------------------------------------------

int SimulatedDisk::open(const char* path, int flags, mode_t mode) {
  fs::path p = normal(path);
  if (!under_root(p)) return ::open(path, flags, mode);
  std::lock_guard lock(mutex_);
  struct stat before {};
  bool existed = ::lstat(p.c_str(), &before) == 0;
  bool creating = (flags & O_CREAT) && !existed;
  bool truncating =
      existed && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && S_ISREG(before.st_mode);
  if ((creating || truncating) && !begin_mutation()) return -1;
  int fd = ::open(path, flags, mode);
  if (fd < 0) return fd;
  uint64_t id = 0;
  if (creating) {
    struct stat st {};
    ::fstat(fd, &st);
    id = new_node(S_ISDIR(st.st_mode), p);
    by_inode_[{st.st_dev, st.st_ino}] = id;
    add_entry_change(p.parent_path(), {{p.filename().string(), id}});
  } else {
    id = node_of(p);
  }
  if (truncating && before.st_size > 0) nodes_.at(id).pending.push_back({true, 0, {}});
  open_files_[fd] = {id, p.string()};
  return fd;
}

int SimulatedDisk::close(int fd) {
  {
    std::lock_guard lock(mutex_);
    open_files_.erase(fd);
  }
  return ::close(fd);
}

ssize_t SimulatedDisk::read(int fd, void* buffer, size_t size) { return ::read(fd, buffer, size); }

ssize_t SimulatedDisk::pread(int fd, void* buffer, size_t size, off_t offset) {
  return ::pread(fd, buffer, size, offset);
}

ssize_t SimulatedDisk::write(int fd, const void* data, size_t size) {
  std::lock_guard lock(mutex_);
  auto it = open_files_.find(fd);
  if (it == open_files_.end()) return ::write(fd, data, size);
  if (!begin_mutation()) return -1;
  off_t offset = ::lseek(fd, 0, SEEK_CUR);
  ssize_t n = ::write(fd, data, size);
  if (n > 0) {
    auto* bytes = static_cast<const uint8_t*>(data);
    nodes_.at(it->second.node).pending.push_back({false, static_cast<uint64_t>(offset), {bytes, bytes + n}});
  }
  return n;
}

ssize_t SimulatedDisk::pwrite(int fd, const void* data, size_t size, off_t offset) {
  std::lock_guard lock(mutex_);
  auto it = open_files_.find(fd);
  if (it == open_files_.end()) return ::pwrite(fd, data, size, offset);
  if (!begin_mutation()) return -1;
  ssize_t n = ::pwrite(fd, data, size, offset);
  if (n > 0) {
    auto* bytes = static_cast<const uint8_t*>(data);
    nodes_.at(it->second.node).pending.push_back({false, static_cast<uint64_t>(offset), {bytes, bytes + n}});
  }
  return n;
}

int SimulatedDisk::fsync(int fd) {
  std::lock_guard lock(mutex_);
  auto it = open_files_.find(fd);
  if (it == open_files_.end()) return ::fsync(fd);
  if (!begin_mutation()) return -1;
  if (nodes_.at(it->second.node).directory) {
    sync_directory(it->second.node, it->second.path);
  } else {
    sync_file(it->second.node, it->second.path);
  }
  return 0;
}

int SimulatedDisk::fdatasync(int fd) { return fsync(fd); }

int SimulatedDisk::ftruncate(int fd, off_t size) {
  std::lock_guard lock(mutex_);
  auto it = open_files_.find(fd);
  if (it == open_files_.end()) return ::ftruncate(fd, size);
  if (!begin_mutation()) return -1;
  int rc = ::ftruncate(fd, size);
  if (rc == 0) nodes_.at(it->second.node).pending.push_back({true, static_cast<uint64_t>(size), {}});
  return rc;
}

int SimulatedDisk::rename(const char* from, const char* to) {
  fs::path a = normal(from), b = normal(to);
  if (!under_root(a) && !under_root(b)) return ::rename(from, to);
  std::lock_guard lock(mutex_);
  if (!under_root(a) || !under_root(b)) {
    untracked_.push_back("rename " + a.string() + " to " + b.string() + " crosses the disk's edge");
    return ::rename(from, to);
  }
  if (!begin_mutation()) return -1;
  uint64_t moved = node_of(a);
  int rc = ::rename(from, to);
  if (rc != 0) return rc;
  // Within one directory a rename is one change; between two, one change in each (either may survive).
  if (a.parent_path() == b.parent_path()) {
    add_entry_change(a.parent_path(), {{a.filename().string(), 0}, {b.filename().string(), moved}});
  } else {
    add_entry_change(a.parent_path(), {{a.filename().string(), 0}});
    add_entry_change(b.parent_path(), {{b.filename().string(), moved}});
  }
  return 0;
}

int SimulatedDisk::link(const char* from, const char* to) {
  fs::path a = normal(from), b = normal(to);
  if (!under_root(b)) return ::link(from, to);
  std::lock_guard lock(mutex_);
  if (!begin_mutation()) return -1;
  uint64_t target = node_of(a);
  int rc = ::link(from, to);
  if (rc == 0) add_entry_change(b.parent_path(), {{b.filename().string(), target}});
  return rc;
}

int SimulatedDisk::unlink(const char* path) {
  fs::path p = normal(path);
  if (!under_root(p)) return ::unlink(path);
  std::lock_guard lock(mutex_);
  if (!begin_mutation()) return -1;
  int rc = ::unlink(path);
  if (rc == 0) add_entry_change(p.parent_path(), {{p.filename().string(), 0}});
  return rc;
}

int SimulatedDisk::mkdir(const char* path, mode_t mode) {
  fs::path p = normal(path);
  if (!under_root(p)) return ::mkdir(path, mode);
  std::lock_guard lock(mutex_);
  if (!begin_mutation()) return -1;
  int rc = ::mkdir(path, mode);
  if (rc != 0) return rc;
  struct stat st {};
  ::lstat(p.c_str(), &st);
  uint64_t id = new_node(true, p);
  by_inode_[{st.st_dev, st.st_ino}] = id;
  add_entry_change(p.parent_path(), {{p.filename().string(), id}});
  return 0;
}

int SimulatedDisk::rmdir(const char* path) {
  fs::path p = normal(path);
  if (!under_root(p)) return ::rmdir(path);
  std::lock_guard lock(mutex_);
  if (!begin_mutation()) return -1;
  int rc = ::rmdir(path);
  if (rc == 0) add_entry_change(p.parent_path(), {{p.filename().string(), 0}});
  return rc;
}

// --- SQLite's files -------------------------------------------------------------------------------------

SimulatedDisk::Opened SimulatedDisk::sqlite_open(const char* path, bool may_create,
                                                 const std::function<bool()>& real) {
  if (!path) return {real(), 0, false};
  fs::path p = normal(path);
  if (!under_root(p) || ignored_name(p.filename().string())) return {real(), 0, false};
  std::lock_guard lock(mutex_);
  struct stat st {};
  bool creating = may_create && ::lstat(p.c_str(), &st) != 0;
  if (creating && !begin_mutation()) return {};
  if (!real()) return {};
  if (::lstat(p.c_str(), &st) != 0) return {true, 0, false};
  if (!creating) return {true, node_of(p), false};
  uint64_t id = new_node(false, p);
  by_inode_[{st.st_dev, st.st_ino}] = id;
  add_entry_change(p.parent_path(), {{p.filename().string(), id}});
  return {true, id, true};
}

uint64_t SimulatedDisk::sqlite_resolve(const std::string& path) {
  fs::path p = normal(path.c_str());
  if (!under_root(p) || ignored_name(p.filename().string())) return 0;
  std::lock_guard lock(mutex_);
  return node_of(p);
}

bool SimulatedDisk::sqlite_write(uint64_t id, const void* data, int amount, int64_t offset,
                                 const std::function<bool()>& real) {
  std::lock_guard lock(mutex_);
  if (!begin_mutation() || !real()) return false;
  auto* bytes = static_cast<const uint8_t*>(data);
  nodes_.at(id).pending.push_back({false, static_cast<uint64_t>(offset), {bytes, bytes + amount}});
  return true;
}

bool SimulatedDisk::sqlite_truncate(uint64_t id, int64_t size, const std::function<bool()>& real) {
  std::lock_guard lock(mutex_);
  if (!begin_mutation() || !real()) return false;
  nodes_.at(id).pending.push_back({true, static_cast<uint64_t>(size), {}});
  return true;
}

bool SimulatedDisk::sqlite_sync(uint64_t id, const std::string& path, bool sync_directory_too) {
  std::lock_guard lock(mutex_);
  if (!begin_mutation()) return false;
  sync_file(id, path);
  if (sync_directory_too) {
    fs::path dir = normal(path.c_str()).parent_path();
    if (uint64_t dir_id = node_of(dir)) sync_directory(dir_id, dir);
  }
  return true;
}

bool SimulatedDisk::sqlite_delete(const char* path, bool sync_directory_too,
                                  const std::function<bool()>& real) {
  fs::path p = normal(path);
  if (!under_root(p) || ignored_name(p.filename().string())) return real();
  std::lock_guard lock(mutex_);
  if (!begin_mutation() || !real()) return false;
  add_entry_change(p.parent_path(), {{p.filename().string(), 0}});
  if (sync_directory_too) {
    if (uint64_t dir_id = node_of(p.parent_path())) sync_directory(dir_id, p.parent_path());
  }
  return true;
}

// --- after the cut ----------------------------------------------------------------------------------------

SimulatedDisk::Outcome SimulatedDisk::materialize(const fs::path& dir, std::mt19937_64& rng) const {
  std::lock_guard lock(mutex_);
  if (fs::exists(dir)) throw std::invalid_argument("simulated disk: " + dir.string() + " exists");
  Outcome outcome;

  // A torn write: some of its sectors reached the disk, the rest did not. A write that extended the file may
  // leave the file extended over the sectors that did not (zeros), as when the size is journaled first.
  auto apply_torn = [&](std::vector<uint8_t>& image, const FileChange& w, bool prefix) {
    uint64_t first = w.offset / kSector, last = (w.offset + w.bytes.size() - 1) / kSector;
    uint64_t sectors = last - first + 1;
    std::vector<bool> kept(sectors, false);
    if (prefix) {
      uint64_t n = std::uniform_int_distribution<uint64_t>(0, sectors - 1)(rng);
      std::fill(kept.begin(), kept.begin() + static_cast<ptrdiff_t>(n), true);
    } else {
      for (size_t i = 0; i < sectors; ++i) kept[i] = std::bernoulli_distribution(0.5)(rng);
      kept[std::uniform_int_distribution<size_t>(0, sectors - 1)(rng)] = false;  // at least one lost
    }
    uint64_t end = w.offset + w.bytes.size();
    if (end > image.size() && std::bernoulli_distribution(0.5)(rng)) image.resize(end);
    for (uint64_t s = 0; s < sectors; ++s) {
      if (!kept[s]) continue;
      uint64_t lo = std::max(w.offset, (first + s) * kSector), hi = std::min(end, (first + s + 1) * kSector);
      if (image.size() < hi) image.resize(hi);
      std::copy(w.bytes.begin() + static_cast<ptrdiff_t>(lo - w.offset),
                w.bytes.begin() + static_cast<ptrdiff_t>(hi - w.offset),
                image.begin() + static_cast<ptrdiff_t>(lo));
    }
    ++outcome.writes_torn;
  };

  // Writeback goes sector by sector (page by page) in no particular order, and a sector written back holds
  // every earlier write to it: so what survives of one sector is its durable content plus some prefix of the
  // writes made to it since. Per file: nothing, everything, a prefix of the writes with the last one torn,
  // or a prefix of its own for every sector (writes reordered); a truncation keeps writes in order.
  auto surviving_content = [&](const Node& node) {
    std::vector<uint8_t> image = node.durable;
    size_t n = node.pending.size();
    if (n == 0) return image;
    ++outcome.files_with_unsynced_writes;
    bool truncated =
        std::any_of(node.pending.begin(), node.pending.end(), [](const auto& c) { return c.truncate; });
    size_t mode = pick(rng, {25, 20, 30, 25});
    if (mode == 3 && truncated) mode = 2;
    if (mode == 0) {
      outcome.writes_dropped += static_cast<int>(n);
    } else if (mode == 1) {
      for (const auto& change : node.pending) apply(image, change);
    } else if (mode == 2) {
      size_t kept = std::uniform_int_distribution<size_t>(0, n)(rng);
      outcome.writes_dropped += static_cast<int>(n - kept);
      for (size_t i = 0; i < kept; ++i) {
        const FileChange& change = node.pending[i];
        if (i + 1 == kept && !change.truncate && !change.bytes.empty()) {
          apply_torn(image, change, /*prefix=*/std::bernoulli_distribution(0.5)(rng));
        } else {
          apply(image, change);
        }
      }
    } else {
      std::map<uint64_t, std::vector<size_t>> writes_of_sector;
      uint64_t end = 0;
      for (size_t i = 0; i < n; ++i) {
        const FileChange& w = node.pending[i];
        if (w.bytes.empty()) continue;
        end = std::max<uint64_t>(end, w.offset + w.bytes.size());
        for (uint64_t s = w.offset / kSector; s <= (w.offset + w.bytes.size() - 1) / kSector; ++s)
          writes_of_sector[s].push_back(i);
      }
      // The size may have been journaled before the data: the extension then reads as zeros.
      if (end > image.size() && std::bernoulli_distribution(0.3)(rng)) image.resize(end);
      std::vector<int> parts_kept(n, 0), parts(n, 0);
      for (const auto& [sector, writes] : writes_of_sector) {
        size_t kept = std::uniform_int_distribution<size_t>(0, writes.size())(rng);
        for (size_t k = 0; k < writes.size(); ++k) {
          const FileChange& w = node.pending[writes[k]];
          ++parts[writes[k]];
          if (k >= kept) continue;
          ++parts_kept[writes[k]];
          uint64_t lo = std::max(w.offset, sector * kSector);
          uint64_t hi = std::min<uint64_t>(w.offset + w.bytes.size(), (sector + 1) * kSector);
          if (image.size() < hi) image.resize(hi);
          std::copy(w.bytes.begin() + static_cast<ptrdiff_t>(lo - w.offset),
                    w.bytes.begin() + static_cast<ptrdiff_t>(hi - w.offset),
                    image.begin() + static_cast<ptrdiff_t>(lo));
        }
      }
      for (size_t i = 0; i < n; ++i) {
        if (parts_kept[i] == 0)
          ++outcome.writes_dropped;
        else if (parts_kept[i] < parts[i])
          ++outcome.writes_torn;
      }
    }
    return image;
  };

  auto surviving_entries = [&](const Node& node) {
    std::map<std::string, uint64_t> entries = node.entries;
    size_t n = node.pending_entries.size();
    if (n == 0) return entries;
    ++outcome.directories_with_unsynced_entries;
    size_t kept = 0;
    switch (pick(rng, {30, 30, 40})) {
      case 0:
        break;
      case 1:
        kept = n;
        break;
      default:
        kept = std::uniform_int_distribution<size_t>(0, n)(rng);
        break;
    }
    outcome.entry_changes_dropped += static_cast<int>(n - kept);
    for (size_t i = 0; i < kept; ++i) {
      for (const auto& [name, child] : node.pending_entries[i]) {
        if (child) {
          entries[name] = child;
        } else {
          entries.erase(name);
        }
      }
    }
    return entries;
  };

  std::map<uint64_t, fs::path> written;  // files written so far: further names become hard links
  std::set<uint64_t> visited;            // directories (a directory is never reached twice)
  std::function<void(uint64_t, const fs::path&)> write_directory = [&](uint64_t id, const fs::path& path) {
    if (!visited.insert(id).second) return;
    fs::create_directory(path);
    for (const auto& [name, child] : surviving_entries(nodes_.at(id))) {
      const Node& node = nodes_.at(child);
      fs::path target = path / name;
      if (node.directory) {
        write_directory(child, target);
      } else if (auto it = written.find(child); it != written.end()) {
        fs::create_hard_link(it->second, target);
      } else {
        write_whole(target, surviving_content(node));
        written[child] = target;
      }
    }
  };
  write_directory(root_node_, dir);
  return outcome;
}

}  // namespace bakrest::power
