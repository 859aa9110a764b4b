// The backup format reads and writes byte streams; these adapt object store readers and writers to them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "format/backup_file.h"
#include "storage/object_store.h"

namespace bakrest::backup {

// Hands a backup's bytes to an object writer in whole blocks of block_size bytes (@block_size, the I/O unit
// of the backup media): every write but the last, which flush() makes, is a multiple of it. block_size 0
// passes writes through as they come. After each write to the object, on_written (when given) learns how
// many bytes it took (the transfer-rate limit paces the backup there).
class ObjectSink : public format::ByteSink {
 public:
  explicit ObjectSink(storage::ObjectWriter& writer, size_t block_size = 0,
                      std::function<void(size_t bytes)> on_written = {})
      : writer_(writer), block_size_(block_size), on_written_(std::move(on_written)) {}

  void write(std::span<const uint8_t> bytes) override {
    if (block_size_ == 0) return pass_on(bytes);
    if (!held_.empty()) {
      size_t take = std::min(bytes.size(), block_size_ - held_.size());
      held_.insert(held_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
      bytes = bytes.subspan(take);
      if (held_.size() < block_size_) return;
      pass_on(held_);
      held_.clear();
    }
    // Whole blocks go straight from the caller's buffer; only a tail shorter than a block is held.
    size_t whole = bytes.size() / block_size_ * block_size_;
    if (whole > 0) pass_on(bytes.first(whole));
    held_.assign(bytes.begin() + static_cast<ptrdiff_t>(whole), bytes.end());
  }

  // Writes what is held (less than a block). Call once, after the last write.
  void flush() {
    if (!held_.empty()) pass_on(held_);
    held_.clear();
  }

 private:
  void pass_on(std::span<const uint8_t> bytes) {
    writer_.write(bytes);
    if (on_written_) on_written_(bytes.size());
  }

  storage::ObjectWriter& writer_;
  size_t block_size_;
  std::function<void(size_t)> on_written_;
  std::vector<uint8_t> held_;
};

// Reads an object for the backup format, asking the store for at least `read_size` bytes at a time
// (@max_transfer_size on a restore) whatever the reader asks for.
class ObjectSource : public format::ByteSource {
 public:
  explicit ObjectSource(storage::ObjectReader& reader, size_t read_size = 0)
      : reader_(reader), read_size_(read_size) {}

  size_t read(std::span<uint8_t> out) override {
    if (out.empty()) return 0;
    if (read_size_ == 0 || out.size() >= read_size_) {
      if (next_ < held_.size()) return take(out);
      return reader_.read(out);
    }
    if (next_ == held_.size()) {
      held_.resize(read_size_);
      held_.resize(reader_.read(held_));
      next_ = 0;
      if (held_.empty()) return 0;
    }
    return take(out);
  }

 private:
  size_t take(std::span<uint8_t> out) {
    size_t n = std::min(out.size(), held_.size() - next_);
    std::copy_n(held_.begin() + static_cast<ptrdiff_t>(next_), n, out.begin());
    next_ += n;
    return n;
  }

  storage::ObjectReader& reader_;
  size_t read_size_;
  std::vector<uint8_t> held_;
  size_t next_ = 0;
};

}  // namespace bakrest::backup
