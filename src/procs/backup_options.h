// The options of rds_backup_database and rds_restore_database beyond the database and the ARN: the files of
// a multi-file backup (@number_of_files) and the tuning parameters (@block_size, @max_transfer_size,
// @buffer_count), checked as docs/PROCEDURES.md says, and kept with the task as JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backup/jobs.h"
#include "procs/arguments.h"

namespace bakrest::procs {

// The object keys of a backup to `key` in `files` (1..10) files, RDS's way: with one file, the key as it is
// ('*' kept literally); with more, the key's one '*' replaced by "1-of-N" ... "N-of-N". Throws SqlError
// (50000) for files outside 1..10, and for files > 1 with no '*' or with more than one ("Multifile backups
// can only have one asterisk.").
std::vector<std::string> stripe_keys(const std::string& key, int64_t files);

// @block_size (512, 1024, ... 65536), @max_transfer_size (a multiple of 65536 up to 4194304) and
// @buffer_count (1..256, with at most 512 MiB of buffers: @buffer_count * @max_transfer_size), or their
// defaults. Throws SqlError (50000) naming the parameter and its valid values.
backup::Tuning tuning_from(const Arguments& args);

// The tuning as task parameters, and back (values a task was submitted with; absent ones take defaults).
void add_tuning(const backup::Tuning& tuning, nlohmann::json& parameters);
backup::Tuning tuning_of(const nlohmann::json& parameters);

}  // namespace bakrest::procs
