// What the fuzz targets share: in-memory streams, a scratch directory for targets whose decoder reads
// files, and the check that turns a broken invariant into a finding.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "format/backup_file.h"
#include "server/stream.h"

namespace bakrest::fuzz {

// A broken invariant is a finding like a crash: libFuzzer saves the input and the run fails.
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// Reads a fixed byte string at most `chunk` bytes per call, so framing is tested across partial reads, and
// keeps what is written.
class MemoryStream : public server::Stream {
 public:
  MemoryStream(std::span<const uint8_t> input, size_t chunk)
      : input_(input), chunk_(std::max<size_t>(chunk, 1)) {}
  size_t read_some(std::span<uint8_t> buf) override {
    size_t n = std::min({buf.size(), input_.size() - pos_, chunk_});
    std::copy_n(input_.begin() + static_cast<ptrdiff_t>(pos_), n, buf.begin());
    pos_ += n;
    return n;
  }
  void write_all(std::span<const uint8_t> data) override {
    written.insert(written.end(), data.begin(), data.end());
  }
  std::vector<uint8_t> written;

 private:
  std::span<const uint8_t> input_;
  size_t pos_ = 0;
  size_t chunk_;
};

// A backup source over memory, at most `chunk` bytes per read.
class MemorySource : public format::ByteSource {
 public:
  MemorySource(std::span<const uint8_t> bytes, size_t chunk)
      : bytes_(bytes), chunk_(std::max<size_t>(chunk, 1)) {}
  size_t read(std::span<uint8_t> out) override {
    size_t n = std::min({out.size(), bytes_.size() - pos_, chunk_});
    std::copy_n(bytes_.begin() + static_cast<ptrdiff_t>(pos_), n, out.begin());
    pos_ += n;
    return n;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  size_t chunk_;
};

// One directory per fuzzing process, made at the first use and removed at exit.
class ScratchDir {
 public:
  static const std::filesystem::path& path() {
    static ScratchDir dir;
    return dir.path_;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

 private:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bakrest-fuzz-XXXXXX").string();
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
    path_ = pattern;
  }
  std::filesystem::path path_;
};

// Empties dir (creating it if need be).
inline void reset_dir(const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
}

inline void write_file(const std::filesystem::path& file, std::span<const uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  check(out.good(), "writing a scratch file failed");
}

}  // namespace bakrest::fuzz
