// The data directory is private to the server's user: it holds password hashes, databases and backups.
// Every directory bakrest creates there is 0700 and every file 0600, whatever the process umask (the
// server also sets its umask to 077 at start, for files SQLite creates beside a database).
#pragma once

#include <cstddef>
#include <filesystem>

namespace bakrest {

// Creates dir and any missing parents with mode 0700. Existing directories are left as they are.
// Throws std::filesystem::filesystem_error.
void create_private_directories(const std::filesystem::path& dir);

// Creates an empty file with mode 0600 if there is none, so that SQLite, which gives a new database file
// mode 0644 and its -wal and -shm files the database file's mode, keeps all of them private.
// Throws std::runtime_error naming the file.
void create_private_file(const std::filesystem::path& file);

// Removes the group and other permission bits of root and of everything under it (symbolic links are not
// followed). Returns how many entries it changed. Throws std::filesystem::filesystem_error.
size_t make_tree_private(const std::filesystem::path& root);

}  // namespace bakrest
