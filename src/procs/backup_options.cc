#include "procs/backup_options.h"

#include <algorithm>

#include "common/error.h"

namespace bakrest::procs {

namespace {

constexpr int64_t kMaxFiles = 10;
constexpr int64_t kTransferUnit = 65536;
constexpr int64_t kMaxTransferSize = 4194304;
constexpr int64_t kMaxBufferCount = 256;
// Chunks in flight hold their body and their sealed bytes: about twice this much memory at most.
constexpr int64_t kMaxBufferBytes = int64_t{512} << 20;

}  // namespace

std::vector<std::string> stripe_keys(const std::string& key, int64_t files) {
  if (files < 1 || files > kMaxFiles) throw procedure_error("@number_of_files must be between 1 and 10.");
  if (files == 1) return {key};
  const size_t star = key.find('*');
  if (star == std::string::npos) {
    throw procedure_error(
        "@number_of_files=" + std::to_string(files) +
        " needs a '*' in the file name of @s3_arn_to_backup_to, where each file's number goes: "
        "backup*.bak gives backup1-of-" +
        std::to_string(files) + ".bak ... backup" + std::to_string(files) + "-of-" + std::to_string(files) +
        ".bak.");
  }
  if (key.find('*', star + 1) != std::string::npos)
    throw procedure_error("Multifile backups can only have one asterisk.");
  std::vector<std::string> keys;
  for (int64_t i = 1; i <= files; ++i) {
    keys.push_back(key.substr(0, star) + std::to_string(i) + "-of-" + std::to_string(files) +
                   key.substr(star + 1));
  }
  return keys;
}

backup::Tuning tuning_from(const Arguments& args) {
  backup::Tuning tuning;
  if (auto size = args.integer("@block_size")) {
    if (*size < 512 || *size > 65536 || (*size & (*size - 1)) != 0) {
      throw procedure_error("Invalid @block_size " + std::to_string(*size) +
                            ": use 512, 1024, 2048, 4096, 8192, 16384, 32768 or 65536.");
    }
    tuning.block_size = static_cast<uint32_t>(*size);
  }
  if (auto size = args.integer("@max_transfer_size")) {
    if (*size < kTransferUnit || *size > kMaxTransferSize || *size % kTransferUnit != 0) {
      throw procedure_error("Invalid @max_transfer_size " + std::to_string(*size) +
                            ": use a multiple of 65536 from 65536 to 4194304 (bytes).");
    }
    tuning.max_transfer_size = static_cast<uint32_t>(*size);
  }
  if (auto count = args.integer("@buffer_count")) {
    if (*count < 1 || *count > kMaxBufferCount) {
      throw procedure_error("Invalid @buffer_count " + std::to_string(*count) + ": use 1 to " +
                            std::to_string(kMaxBufferCount) + ".");
    }
    if (*count * tuning.max_transfer_size > kMaxBufferBytes) {
      throw procedure_error("Invalid @buffer_count " + std::to_string(*count) + ": @buffer_count * " +
                            "@max_transfer_size may be at most 536870912 bytes (512 MiB of buffers); with " +
                            "@max_transfer_size " + std::to_string(tuning.max_transfer_size) +
                            " use at most " + std::to_string(kMaxBufferBytes / tuning.max_transfer_size) +
                            ".");
    }
    tuning.buffer_count = static_cast<unsigned>(*count);
  }
  return tuning;
}

void add_tuning(const backup::Tuning& tuning, nlohmann::json& parameters) {
  parameters["block_size"] = tuning.block_size;
  parameters["max_transfer_size"] = tuning.max_transfer_size;
  parameters["buffer_count"] = tuning.buffer_count;
}

backup::Tuning tuning_of(const nlohmann::json& parameters) {
  // Values come from msdb, written by add_tuning after tuning_from checked them; anything else (a task
  // from before these parameters existed) takes the defaults.
  backup::Tuning tuning;
  auto read = [&](const char* name, auto& field, int64_t low, int64_t high) {
    auto it = parameters.find(name);
    if (it == parameters.end() || !it->is_number_integer()) return;
    int64_t v = it->get<int64_t>();
    if (v >= low && v <= high) field = static_cast<std::remove_reference_t<decltype(field)>>(v);
  };
  read("block_size", tuning.block_size, 512, 65536);
  read("max_transfer_size", tuning.max_transfer_size, kTransferUnit, kMaxTransferSize);
  read("buffer_count", tuning.buffer_count, 0, kMaxBufferCount);
  return tuning;
}

}  // namespace bakrest::procs
