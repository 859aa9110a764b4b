#include "common/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/durable_file.h"
#include "common/file_io.h"

namespace bakrest {

namespace fs = std::filesystem;

void create_private_directories(const fs::path& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  create_private_directories(dir.parent_path());
  if (fileio::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw fs::filesystem_error("mkdir", dir, std::error_code(errno, std::generic_category()));
}

void create_private_file(const fs::path& file) {
  int fd = fileio::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_errno("create " + file.string());
  fileio::close(fd);
}

namespace {

// Returns whether it changed p's mode.
bool make_private(const fs::path& p, fs::file_status status) {
  if (fs::is_symlink(status)) return false;
  constexpr auto kOthers = fs::perms::group_all | fs::perms::others_all;
  if ((status.permissions() & kOthers) == fs::perms::none) return false;
  fs::permissions(p, kOthers, fs::perm_options::remove);
  return true;
}

}  // namespace

size_t make_tree_private(const fs::path& root) {
  size_t changed = make_private(root, fs::symlink_status(root)) ? 1 : 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (make_private(entry.path(), entry.symlink_status())) ++changed;
  }
  return changed;
}

}  // namespace bakrest
