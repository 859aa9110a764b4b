// Files that must survive a crash: replaced whole or not at all, with their directory entries made durable.
// Every call goes through common/file_io.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace bakrest {

// Throws std::runtime_error "<what>: <strerror(errno)>".
[[noreturn]] void throw_errno(const std::string& what);

// A create, rename or unlink is durable only once the directory holding the entry is fsynced.
void fsync_directory(const std::filesystem::path& dir);

// Replaces file with bytes: a temporary file beside it, fsync, rename, fsync of the directory. A crash leaves
// either the old file or the new one (and perhaps "<file>.tmp").
void replace_file_durably(const std::filesystem::path& file, std::span<const uint8_t> bytes);

// Removes a file through file_io.h. Returns false if there was none; throws std::runtime_error otherwise.
bool remove_file(const std::filesystem::path& file);

}  // namespace bakrest
